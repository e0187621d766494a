"""The secretariat's review of a submitted report: accept it, or return it with a reason."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gstp.exceptions import ApplicationError
from reviews import access, services
from reviews.inputs import ReturnSerializer

from ..forms import ReasonForm
from .base import SERVICE_ERRORS, console_page, dashboard_url, next_url, posted_version, service_errors


def _report(request, pk):
    return get_object_or_404(access.reports_for(request.user).select_related("node", "node__plan"), pk=pk)


def return_form(report, data=None) -> ReasonForm:
    return ReasonForm(data, prefix=f"return-{report.pk}")


@require_POST
@console_page
def report_accept(request, pk):
    report = _report(request, pk)
    access.ensure(access.can_accept_report(request.user, report), access.NOT_SECRETARIAT_TO_ACCEPT)
    try:
        services.report_accept(actor=request.user, report=report, expected_version=posted_version(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(
            request,
            _("Accepted the %(period)s report of %(project)s.") % {"period": report.period, "project": report.node},
        )
    return redirect(next_url(request, dashboard_url()))


@console_page
def report_return(request, pk):
    report = _report(request, pk)
    access.ensure(access.can_return_report(request.user, report), access.NOT_SECRETARIAT_TO_RETURN)
    form = return_form(report, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        serializer = ReturnSerializer(data=form.payload())
        if not serializer.is_valid():
            form.errors_apply(serializer.errors)
        else:
            try:
                services.report_return(
                    actor=request.user,
                    report=report,
                    expected_version=posted_version(request),
                    reason=serializer.validated_data["reason"],
                )
            except SERVICE_ERRORS as exc:
                form.errors_apply(service_errors(exc))
            else:
                messages.success(
                    request,
                    _("Returned the %(period)s report of %(project)s to its agency.")
                    % {"period": report.period, "project": report.node},
                )
                return redirect(next_url(request, dashboard_url()))
    return render(
        request,
        "console/report_return.html",
        {"report": report, "form": form, "next": next_url(request, dashboard_url())},
        status=400 if form.is_bound and form.errors else 200,
    )
