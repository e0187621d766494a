from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    # Django's default LOGIN_URL, so every sign-in-required page of the site comes here.
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("agency/", views.agency_page, name="agency"),
    path("review/", views.review_page, name="review-queue"),
    path("locks/", views.locks_page, name="locks"),
    path("locks/<int:pk>/unlock/", views.lock_delete, name="lock-delete"),
    path("locks/<int:pk>/exceptions/", views.lock_exception_grant, name="lock-exception-grant"),
    path(
        "locks/<int:pk>/exceptions/<int:exception_pk>/withdraw/",
        views.lock_exception_revoke,
        name="lock-exception-revoke",
    ),
    path("preferences/", views.preferences_page, name="preferences"),
    path("plan/", views.plan_default, name="plan-default"),
    path("plans/<int:pk>/", views.plan_page, name="plan"),
    path("projects/<int:pk>/", views.subproject_page, name="subproject"),
    path("projects/<int:pk>/reports/new/", views.report_new, name="report-new"),
    path("projects/<int:pk>/revisions/new/", views.revision_new, name="revision-new"),
    path("revisions/", views.revisions_page, name="revisions"),
    path("revisions/<int:pk>/", views.revision_page, name="revision"),
    path("revisions/<int:pk>/endorse/", views.revision_endorse, name="revision-endorse"),
    path("revisions/<int:pk>/approve/", views.revision_approve, name="revision-approve"),
    path("revisions/<int:pk>/reject/", views.revision_reject, name="revision-reject"),
    path("revisions/<int:pk>/withdraw/", views.revision_withdraw, name="revision-withdraw"),
    path("reports/<int:pk>/", views.report_page, name="report"),
    path("reports/<int:pk>/withdraw/", views.report_withdraw, name="report-withdraw"),
    path("reports/<int:pk>/endorse/", views.report_endorse, name="report-endorse"),
    path("reports/<int:pk>/accept/", views.report_accept, name="report-accept"),
    path("reports/<int:pk>/return/", views.report_return, name="report-return"),
    path("reports/<int:pk>/reopen/", views.report_reopen, name="report-reopen"),
    path("reports/<int:pk>/files/", views.report_file_add, name="report-file-add"),
    path("reports/<int:pk>/files/<int:file_pk>/remove/", views.report_file_remove, name="report-file-remove"),
    path("assessments/", views.assessments_page, name="assessments"),
    path("assessments/<int:pk>/", views.assessment_page, name="assessment"),
    path("assessments/<int:pk>/return/", views.assessment_return, name="assessment-return"),
    path("assessments/<int:pk>/files/", views.assessment_file_add, name="assessment-file-add"),
    path("assessments/<int:pk>/files/<int:file_pk>/", views.assessment_file, name="assessment-file"),
    path(
        "assessments/<int:pk>/files/<int:file_pk>/remove/",
        views.assessment_file_remove,
        name="assessment-file-remove",
    ),
    path("assessments/years/<int:pk>/", views.assessment_year_page, name="assessment-year"),
    path("assessments/years/<int:pk>/publish/", views.assessment_year_publish, name="assessment-year-publish"),
    path("flags/<int:pk>/acknowledge/", views.flag_acknowledge, name="flag-acknowledge"),
    path("flags/<int:pk>/resolve/", views.flag_resolve, name="flag-resolve"),
    path("flags/<int:pk>/comment/", views.flag_comment, name="flag-comment"),
]
