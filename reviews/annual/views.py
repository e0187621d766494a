"""Download of the annual report draft: ``/reports/annual/2024.docx`` or ``.md`` (``?plan=CODE`` optional;
``?calendar=roc`` for years, dates and quarters written 113 年, 113/07/01, 113年第3季: by default the user's
calendar, else the plan's)."""

from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from gstp.calendar_fields import calendar_asked
from projects.selectors import reading_calendar

from .. import access
from .document import annual_report_build
from .formats import FORMATS
from .selectors import ReportPlanError, annual_report_plan


class CanDownloadAnnualReport(BasePermission):
    """``access.can_download_annual_report``: the secretariat, who edits the report, and readers, who see
    everything it holds; a lead sees only its own agency's flags and unaccepted reports, which is not the
    report's scope."""

    message = access.NOT_ALLOWED_TO_DOWNLOAD_ANNUAL_REPORT

    def has_permission(self, request, view):
        return access.can_download_annual_report(request.user)


def attachment(filename: str, fallback: str) -> str:
    """A Content-Disposition naming the file in UTF-8 (RFC 5987), with an ASCII name for older clients."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@extend_schema(exclude=True)  # a file for people to download, not part of the versioned JSON API
class AnnualReportView(APIView):
    permission_classes = [IsAuthenticated, CanDownloadAnnualReport]
    throttle_scope = "export"  # the whole year's figures in one document: counted with the exports

    def perform_content_negotiation(self, request, force=False):
        # The path names the file's format; whatever the client accepts, errors are JSON.
        return JSONRenderer(), JSONRenderer.media_type

    def get(self, request, year: int, fmt: str):
        output = FORMATS.get(fmt)
        if output is None:
            raise NotFound(_("The annual report is made as .docx or .md, not .%(format)s.") % {"format": fmt})
        try:
            plan = annual_report_plan(user=request.user, year=year, code=request.query_params.get("plan"))
        except ReportPlanError as exc:
            raise NotFound(str(exc)) from exc
        chosen = calendar_asked(request) or reading_calendar(user=request.user, plan=plan)
        report = annual_report_build(plan=plan, year=year, user=request.user, calendar=chosen)
        response = HttpResponse(output.render(report), content_type=output.media_type)
        response["Content-Disposition"] = attachment(
            report.filename(output.extension), report.ascii_filename(output.extension)
        )
        return response
