from django.urls import path, re_path

from gstp.routers import ID_PATTERN, ApiRouter

from .apis import LockExceptionViewSet, QuarterLockViewSet, ReportViewSet
from .budget_apis import BudgetYearViewSet
from .file_apis import CommentFilesView, CommentFileView, ReportFilesView, ReportFileView
from .flag_apis import FlagViewSet, LightsView
from .project_apis import MilestoneViewSet, ProjectViewSet
from .revision_apis import RevisionViewSet

router = ApiRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("milestones", MilestoneViewSet, basename="milestone")
router.register("revisions", RevisionViewSet, basename="revision")
router.register("reports", ReportViewSet, basename="report")
router.register("flags", FlagViewSet, basename="flag")
router.register("locks", QuarterLockViewSet, basename="lock")
router.register("lock-exceptions", LockExceptionViewSet, basename="lock-exception")
router.register("budgets", BudgetYearViewSet, basename="budget")

urlpatterns = [
    path("lights/", LightsView.as_view(), name="lights"),
    re_path(rf"^reports/(?P<id>{ID_PATTERN})/files/$", ReportFilesView.as_view(), name="report-files"),
    re_path(
        rf"^reports/(?P<id>{ID_PATTERN})/files/(?P<file_id>{ID_PATTERN})/$",
        ReportFileView.as_view(),
        name="report-file",
    ),
    re_path(
        rf"^flags/(?P<id>{ID_PATTERN})/comments/(?P<comment_id>{ID_PATTERN})/files/$",
        CommentFilesView.as_view(),
        name="flag-comment-files",
    ),
    re_path(
        rf"^flags/(?P<id>{ID_PATTERN})/comments/(?P<comment_id>{ID_PATTERN})/files/(?P<file_id>{ID_PATTERN})/$",
        CommentFileView.as_view(),
        name="flag-comment-file",
    ),
    *router.urls,
]
