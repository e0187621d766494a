from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .apis import AssessmentViewSet, SchemeViewSet
from .file_apis import AssessmentFilesView, AssessmentFileView

router = SimpleRouter()
router.register("assessment-schemes", SchemeViewSet, basename="assessment-scheme")
router.register("assessments", AssessmentViewSet, basename="assessment")

ID = "[0-9]{1,18}"
urlpatterns = [
    re_path(rf"^assessments/(?P<id>{ID})/files/$", AssessmentFilesView.as_view(), name="assessment-files"),
    re_path(
        rf"^assessments/(?P<id>{ID})/files/(?P<file_id>{ID})/$", AssessmentFileView.as_view(), name="assessment-file"
    ),
    *router.urls,
]
