from django.urls import path
from rest_framework.routers import SimpleRouter

from .apis import LockExceptionViewSet, QuarterLockViewSet, ReportViewSet
from .flag_apis import FlagViewSet, LightsView
from .project_apis import ProjectViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("reports", ReportViewSet, basename="report")
router.register("flags", FlagViewSet, basename="flag")
router.register("locks", QuarterLockViewSet, basename="lock")
router.register("lock-exceptions", LockExceptionViewSet, basename="lock-exception")

urlpatterns = [path("lights/", LightsView.as_view(), name="lights"), *router.urls]
