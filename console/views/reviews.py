"""The review chain on the pages: the ministry reviewer's queue and endorsement (初核), the secretariat's
acceptance (複核), a return with a reason by either, a lead's withdrawal and the secretariat's reopening of an
accepted report. Each step calls the service the API calls, after the same early check."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gstp.exceptions import ApplicationError
from reviews import access, services
from reviews.inputs import ReopenSerializer, ReturnSerializer, WithdrawSerializer
from reviews.periods import today

from ..forms import ReasonForm
from ..selectors import review_queue, with_agencies_of_subprojects
from .base import (
    SERVICE_ERRORS,
    console_page,
    dashboard_url,
    error_messages,
    error_status,
    next_url,
    posted_version,
    service_errors,
)

REPORTS_PER_PAGE = 20


def _report(request, pk):
    return get_object_or_404(access.reports_for(request.user).select_related("node", "node__plan"), pk=pk)


def _report_url(report) -> str:
    return reverse("console:report", kwargs={"pk": report.pk})


def return_form(report, data=None) -> ReasonForm:
    return ReasonForm(data, prefix=f"return-{report.pk}")


def reopen_form(report, data=None) -> ReasonForm:
    return ReasonForm(data, prefix=f"reopen-{report.pk}")


def withdraw_form(report, data=None) -> ReasonForm:
    return ReasonForm(data, prefix=f"withdraw-{report.pk}", optional=True)


def _named(report) -> dict:
    return {"period": report.period, "project": report.node}


# --- the reviewer's queue ------------------------------------------------------------------------------


@dataclass
class WaitingReport:
    report: object
    since: object  # the date it has waited since: endorsed, or else submitted
    days: int
    files: list


@console_page
def review_page(request):
    """What waits for the user's review, the longest waiting first: for a ministry reviewer the reports
    awaiting its endorsement (部會初核), each with its evidence files and a link to its history."""
    user = request.user
    page = with_agencies_of_subprojects(
        Paginator(review_queue(user=user, with_files=True), REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    )
    on = today()
    rows = []
    for report in page:
        since = timezone.localdate(report.endorsed_at or report.submitted_at)
        rows.append(WaitingReport(report=report, since=since, days=(on - since).days, files=report.visible_files))
    context = {"page": page, "rows": rows, "endorses": access.can_endorse_reports(user)}
    return render(request, "console/review_queue.html", context)


# --- steps on one report -------------------------------------------------------------------------------


def _step(request, report, service, done, **kwargs):
    """Call a step's service with the version the page was read at; back to where it was taken, saying
    what happened or why nothing did."""
    try:
        service(actor=request.user, report=report, expected_version=posted_version(request), **kwargs)
    except SERVICE_ERRORS as exc:
        for message in error_messages(service_errors(exc)):
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect(next_url(request, _report_url(report)))


@require_POST
@console_page
def report_endorse(request, pk):
    report = _report(request, pk)
    access.ensure_reviewer(access.may_endorse_report, request.user, report, access.NOT_REVIEWER_TO_ENDORSE)
    return _step(
        request,
        report,
        services.report_endorse,
        _("Endorsed the %(period)s report of %(project)s: it goes on to the Executive Secretariat.") % _named(report),
    )


@require_POST
@console_page
def report_accept(request, pk):
    report = _report(request, pk)
    access.ensure_reviewer(access.may_accept_report, request.user, report, access.NOT_SECRETARIAT_TO_ACCEPT)
    try:
        services.report_accept(actor=request.user, report=report, expected_version=posted_version(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("Accepted the %(period)s report of %(project)s.") % _named(report))
    return redirect(next_url(request, dashboard_url()))


@require_POST
@console_page
def report_withdraw(request, pk):
    """A lead takes back a submitted report nobody has reviewed yet; it is a draft again."""
    report = _report(request, pk)
    access.ensure(access.can_withdraw_report(request.user, report), access.NOT_LEAD_TO_WITHDRAW)
    form = withdraw_form(report, request.POST)
    serializer = WithdrawSerializer(data=form.payload())
    if not serializer.is_valid():
        for message in error_messages(serializer.errors):
            messages.error(request, message)
        return redirect(next_url(request, _report_url(report)))
    return _step(
        request,
        report,
        services.report_withdraw,
        _("Withdrew the %(period)s report: it is a draft again.") % _named(report),
        reason=serializer.validated_data["reason"],
    )


def _with_reason(request, report, *, form, serializer_class, service, done, page, default_next):
    """On POST, check the reason with the API's serializer and call the service; otherwise (or on an error,
    named next to its field, with the API's status) show the form (``page``: its heading, the step's name and
    the button's words)."""
    status = 200
    if request.method == "POST":
        serializer = serializer_class(data=form.payload())
        status = 400
        if not serializer.is_valid():
            form.errors_apply(serializer.errors)
        else:
            try:
                service(
                    actor=request.user,
                    report=report,
                    expected_version=posted_version(request),
                    reason=serializer.validated_data["reason"],
                )
            except SERVICE_ERRORS as exc:
                form.errors_apply(service_errors(exc))
                status = error_status(exc)
            else:
                messages.success(request, done)
                return redirect(next_url(request, default_next))
    return render(
        request,
        "console/report_reason.html",
        {"report": report, "form": form, "next": next_url(request, default_next), **page},
        status=status,
    )


@console_page
def report_return(request, pk):
    report = _report(request, pk)
    access.ensure(access.can_return_report(request.user, report), access.NOT_REVIEWER_TO_RETURN)
    return _with_reason(
        request,
        report,
        form=return_form(report, request.POST if request.method == "POST" else None),
        serializer_class=ReturnSerializer,
        service=services.report_return,
        done=_("Returned the %(period)s report of %(project)s to its agency.") % _named(report),
        page={"heading": _("Return the report"), "action": "return", "button": _("Return to the agency")},
        default_next=dashboard_url(),
    )


@console_page
def report_reopen(request, pk):
    """The secretariat sends an accepted report back to its agency for correction, saying why."""
    report = _report(request, pk)
    access.ensure(access.can_reopen_report(request.user, report), access.NOT_SECRETARIAT_TO_REOPEN)
    return _with_reason(
        request,
        report,
        form=reopen_form(report, request.POST if request.method == "POST" else None),
        serializer_class=ReopenSerializer,
        service=services.report_reopen,
        done=_("Reopened the %(period)s report of %(project)s: it is back with its agency for correction.")
        % _named(report),
        page={"heading": _("Reopen the report"), "action": "reopen", "button": _("Reopen")},
        default_next=_report_url(report),
    )
