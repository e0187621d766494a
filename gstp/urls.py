from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from assessments.exports import ExportView
from reviews.annual.views import AnnualReportView

from .branding import SYSTEM_NAME
from .health import healthz, readyz

admin.site.site_header = admin.site.site_title = SYSTEM_NAME


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request):
    """A directory of the API's collections."""
    names = ["agencies", "plans", "projects", "milestones", "indicators", "reports", "revisions", "flags"]
    names += ["assessment-schemes", "assessments", "deletions"]
    links = {name: request.build_absolute_uri(f"/api/v1/{name}/") for name in names}
    links["schema"] = request.build_absolute_uri("/api/v1/schema/")
    links["docs"] = request.build_absolute_uri("/api/v1/docs/")
    return Response(links)


def favicon(request):
    """Browsers ask for /favicon.ico wherever a page names no icon of its own (the API's JSON, its docs)."""
    return redirect(static("console/favicon.svg"))


# The browsable API's "Log in" link (it reverses rest_framework:login) leads to the console's sign-in page,
# which comes back to ``next``; scripts sign in with JSON at auth/session/.
browsable_api_sign_in = (
    [path("login/", RedirectView.as_view(pattern_name="console:login", query_string=True), name="login")],
    "rest_framework",
)

api_v1 = [
    path("", api_root, name="api-root"),
    path("", include("accounts.urls")),
    path("", include("projects.urls")),
    path("", include("reviews.urls")),
    path("", include("indicators.urls")),
    path("", include("assessments.urls")),
    path("auth/", include(browsable_api_sign_in)),
    path("exports/<str:resource>/", ExportView.as_view(), name="export"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("readyz/", readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("reports/annual/<int:year>.<str:fmt>", AnnualReportView.as_view(), name="annual-report"),
    path("", include("console.urls")),
]

handler400 = "gstp.limits.bad_request"
handler404 = "gstp.errors.not_found"
handler500 = "gstp.errors.server_error"
