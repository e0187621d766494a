from django.urls import re_path

from gstp.routers import ID_PATTERN, ApiRouter

from .apis import AssessmentViewSet, SchemeViewSet
from .file_apis import AssessmentFilesView, AssessmentFileView

router = ApiRouter()
router.register("assessment-schemes", SchemeViewSet, basename="assessment-scheme")
router.register("assessments", AssessmentViewSet, basename="assessment")

urlpatterns = [
    re_path(rf"^assessments/(?P<id>{ID_PATTERN})/files/$", AssessmentFilesView.as_view(), name="assessment-files"),
    re_path(
        rf"^assessments/(?P<id>{ID_PATTERN})/files/(?P<file_id>{ID_PATTERN})/$",
        AssessmentFileView.as_view(),
        name="assessment-file",
    ),
    *router.urls,
]
