"""A lead's work: what the agency owes and by when, filing a quarterly report, fixing a returned one.

A report is written through the API's serializers (``ReportCreateSerializer``, ``ReportUpdateSerializer``)
and the reviews services, so the page refuses what the API refuses, with the same words, next to the field."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from gstp import calendar
from gstp.exceptions import StaleVersion
from indicators.selectors import indicator_list
from projects.models import AgencyRole
from projects.selectors import agency_subtree, milestone_list
from reviews import access, services
from reviews.inputs import ReportCreateSerializer, ReportUpdateSerializer
from reviews.models import FILED_STATUSES, QuarterlyReport, ReportStatus
from reviews.periods import Month, parse_period
from reviews.selectors import periods_to_file, report_files, report_history, reports_owed

from ..forms import FIGURE_FIELDS, EvidenceForm, ReportForm
from ..selectors import agencies_leading, default_plan, subproject_scope
from .base import SERVICE_ERRORS, console_page, posted_version, service_errors
from .reviews import reopen_form, return_form, withdraw_form

SUBMIT = "submit"  # the form's second button; the first saves the draft
# Filed and not yet accepted: with the ministry's reviewer or with the secretariat.
WAITING_STATUSES = [status for status in FILED_STATUSES if status != ReportStatus.ACCEPTED]


def _agency_for(request):
    user = request.user
    if not access.can_choose_owed_agency(user):
        return access.owed_agency(user), None
    plan = default_plan(user)
    choices = list(agencies_leading(plan=plan)) if plan else []
    wanted = request.GET.get("agency", "")
    chosen = next((agency for agency in choices if str(agency.pk) == wanted), None)
    return access.owed_agency(user, requested=chosen), choices


@console_page
def agency_page(request):
    """What an agency (a lead's own; any, for the secretariat) still owes, and its sub-projects."""
    agency, choices = _agency_for(request)
    context = {"agency": agency, "agency_choices": choices}
    if agency is not None:
        subprojects = subproject_scope(request.user).of_agencies(agency_subtree(agency), role=AgencyRole.LEAD)
        waiting = (
            access.reports_for(request.user)
            .filter(status__in=WAITING_STATUSES, node__in=subprojects.values("pk"))
            .select_related("node")
            .order_by("submitted_at", "id")
        )
        context.update(
            owed=reports_owed(agency=agency),
            subprojects=subprojects,
            waiting=waiting,
            is_lead=not access.can_choose_owed_agency(request.user),
        )
    return render(request, "console/agency.html", context)


def _form_parts(user, node, *, monthly=False):
    """What a report's form asks besides its figures: each milestone and indicator; none in a monthly update."""
    if monthly:
        return {"monthly": True}
    milestones = milestone_list(user=user).filter(node=node).order_by("planned_date", "id")
    indicators = indicator_list(user=user).filter(node=node)
    return {"milestones": list(milestones), "indicators": list(indicators)}


def _submit(request, form, report) -> bool:
    try:
        services.report_submit(actor=request.user, report=report, expected_version=report.version)
    except SERVICE_ERRORS as exc:
        form.errors_apply(service_errors(exc))
        return False
    messages.success(
        request, _("Submitted the %(period)s report for review.") % {"period": calendar.format_period(report.period)}
    )
    return True


@console_page
def report_new(request, pk):
    user = request.user
    node = get_object_or_404(subproject_scope(user).select_related("plan"), pk=pk)
    access.ensure(access.can_file_report(user, node), access.NOT_LEAD_TO_FILE)
    # A quarterly report, or (a month asked for, where the control level reports monthly) a monthly update;
    # the period asked for in either calendar (2024Q3 or 113年第3季, 2024-08 or 113年8月).
    every_period = periods_to_file(node=node)
    try:
        asked = parse_period((request.POST if request.method == "POST" else request.GET).get("period", ""))
    except ValueError:
        asked = None
    monthly = isinstance(asked, Month)
    periods = [period for period in every_period if isinstance(period, Month) == monthly]
    wanted = str(asked) if asked else ""
    initial = wanted if wanted in {str(p) for p in periods} else (str(periods[0]) if periods else None)
    form = ReportForm(
        request.POST if request.method == "POST" else None,
        periods=periods,
        initial_period=initial,
        **_form_parts(user, node, monthly=monthly),
    )
    other_kind = next((period for period in every_period if isinstance(period, Month) != monthly), None)
    if request.method == "POST":
        form.full_clean()
        serializer = ReportCreateSerializer(data={**form.payload(), "project": node.pk})
        if not serializer.is_valid():
            form.errors_apply(serializer.errors)
        else:
            data = dict(serializer.validated_data)
            try:
                report = services.report_create(
                    actor=user, node=data.pop("project"), period=data.pop("period"), data=data
                )
            except SERVICE_ERRORS as exc:  # what was typed, or a quarter the secretariat locked
                form.errors_apply(service_errors(exc))
            else:
                messages.success(
                    request,
                    _("Saved the %(period)s report as a draft.") % {"period": calendar.format_period(report.period)},
                )
                if request.POST.get("action") == SUBMIT:
                    form = ReportForm(
                        request.POST,
                        report=report,
                        milestones=form.milestones,
                        indicators=form.indicators,
                        monthly=report.is_monthly,
                    )
                    form.full_clean()
                    if not _submit(request, form, report):
                        return report_response(request, report, form, status=400)
                return redirect("console:report", pk=report.pk)
    return render(
        request,
        "console/report_new.html",
        {"node": node, "form": form, "monthly": monthly, "other_kind": other_kind},
        status=400 if form.is_bound and form.errors else 200,
    )


@console_page
def report_page(request, pk):
    """A report, its review and its history; a form to edit and submit it while it is the lead's to change."""
    user = request.user
    report = get_object_or_404(access.reports_for(user).select_related("node", "node__plan"), pk=pk)
    if request.method == "POST":
        access.ensure(access.can_edit_report(user, report), access.NOT_LEAD_TO_EDIT)
        form = ReportForm(request.POST, report=report, **_form_parts(user, report.node, monthly=report.is_monthly))
        form.full_clean()
        if _save(request, form, report):
            return redirect("console:report", pk=report.pk)
        return report_response(request, report, form, status=400)
    return report_response(request, report)


def report_response(request, report, form=None, *, status=200, file_form=None):
    """The report's page: what it says (or, while the user may edit it, its form: ``form`` when bound), where
    it is in the review chain and what the user may do with it now (``access.report_actions``), its
    evidence files and its history."""
    user = request.user
    actions = access.report_actions(user, report)
    if form is None and "edit" in actions:
        form = ReportForm(report=report, **_form_parts(user, report.node, monthly=report.is_monthly))
    can_add_files = "edit" in actions and access.can_add_report_files(user, report)
    if can_add_files and file_form is None:
        file_form = EvidenceForm()
    context = {
        "report": report,
        "node": report.node,
        "form": form,
        "actions": actions,
        "history": report_history(report=report) if access.can_see_report_history(user, report) else None,
        "files": list(report_files(user=user, report=report)) if access.can_see_report_files(user, report) else None,
        "file_form": file_form if can_add_files else None,
        "return_form": return_form(report) if "return" in actions else None,
        "reopen_form": reopen_form(report) if "reopen" in actions else None,
        "withdraw_form": withdraw_form(report) if "withdraw" in actions else None,
        "accepted_figures": _accepted_figures(report),
        "milestone_entries": report.milestone_entries.select_related("milestone"),
        "indicator_values": report.indicator_values.select_related("indicator"),
    }
    return render(request, "console/report.html", context, status=status)


def _accepted_figures(report) -> list[tuple[str, object]]:
    """A reopened report's figures as accepted: those in force until the correction is accepted."""
    if not report.is_reopened or not report.accepted_content:
        return []
    return [
        (capfirst(QuarterlyReport._meta.get_field(name).verbose_name), report.accepted_content.get(name))
        for name in FIGURE_FIELDS
    ]


def _save(request, form, report) -> bool:
    """Save what changed, then submit if asked; False with the errors on the form."""
    serializer = ReportUpdateSerializer(data=form.payload(), partial=True)
    if not serializer.is_valid():
        form.errors_apply(serializer.errors)
        return False
    validated = dict(serializer.validated_data)
    try:
        version = posted_version(request)
        if form.has_changes(report, validated):
            services.report_update(actor=request.user, report=report, expected_version=version, data=validated)
            messages.success(
                request, _("Saved the %(period)s report.") % {"period": calendar.format_period(report.period)}
            )
        elif version != report.version:
            raise StaleVersion()
    except SERVICE_ERRORS as exc:
        form.errors_apply(service_errors(exc))
        return False
    if request.POST.get("action") == SUBMIT:
        return _submit(request, form, report)
    return True
