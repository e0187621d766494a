"""A report's evidence files (佐證資料) on its page: a lead adds one (a multipart form) or removes one while the
report is editable, through the services the API calls. Downloads go to the API's own download, which a
signed-in session may use."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from reviews import access
from reviews.selectors import report_files
from reviews.services import files

from ..forms import EvidenceForm
from .base import SERVICE_ERRORS, console_page, error_messages, error_status, posted_version, service_errors
from .reports import report_response


def _report(request, pk):
    """The report, if the user sees it and its files; 404 otherwise, as the API's file endpoints answer."""
    report = get_object_or_404(access.reports_for(request.user).select_related("node", "node__plan"), pk=pk)
    if not access.can_see_report_files(request.user, report):
        raise Http404
    return report


def _files_url(report) -> str:
    return reverse("console:report", kwargs={"pk": report.pk}) + "#files"


@require_POST
@console_page
def report_file_add(request, pk):
    report = _report(request, pk)
    access.ensure(access.can_add_report_files(request.user, report), access.NOT_LEAD_TO_ADD_FILES)
    form = EvidenceForm(request.POST, request.FILES)
    upload = form.upload()
    status = 400
    if upload is None:
        form.errors_apply({"file": [_("Choose a file to add.")]})
    else:
        try:
            evidence = files.report_file_add(
                actor=request.user, report=report, upload=upload, expected_version=posted_version(request)
            )
        except SERVICE_ERRORS as exc:
            form.errors_apply(service_errors(exc))
            status = error_status(exc)
        else:
            messages.success(request, _("Added %(name)s to the report's evidence.") % {"name": evidence.name})
            return redirect(_files_url(report))
    report.refresh_from_db()
    return report_response(request, report, file_form=form, status=status)


@require_POST
@console_page
def report_file_remove(request, pk, file_pk):
    report = _report(request, pk)
    evidence = get_object_or_404(report_files(user=request.user, report=report), pk=file_pk)
    access.ensure(access.can_add_report_files(request.user, report), access.NOT_LEAD_TO_ADD_FILES)
    try:
        files.report_file_remove(actor=request.user, evidence=evidence, expected_version=posted_version(request))
    except SERVICE_ERRORS as exc:
        for message in error_messages(service_errors(exc)):
            messages.error(request, message)
    else:
        messages.success(request, _("Removed %(name)s from the report's evidence.") % {"name": evidence.name})
    return redirect(_files_url(report))
