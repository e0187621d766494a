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
    path("plan/", views.plan_default, name="plan-default"),
    path("plans/<int:pk>/", views.plan_page, name="plan"),
    path("projects/<int:pk>/", views.subproject_page, name="subproject"),
    path("projects/<int:pk>/reports/new/", views.report_new, name="report-new"),
    path("reports/<int:pk>/", views.report_page, name="report"),
    path("reports/<int:pk>/accept/", views.report_accept, name="report-accept"),
    path("reports/<int:pk>/return/", views.report_return, name="report-return"),
    path("flags/<int:pk>/acknowledge/", views.flag_acknowledge, name="flag-acknowledge"),
    path("flags/<int:pk>/resolve/", views.flag_resolve, name="flag-resolve"),
    path("flags/<int:pk>/comment/", views.flag_comment, name="flag-comment"),
]
