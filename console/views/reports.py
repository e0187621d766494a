"""A lead's work: what the agency owes and by when, filing a quarterly report, fixing a returned one.

A report is written through the API's serializers (``ReportCreateSerializer``, ``ReportUpdateSerializer``)
and the reviews services, so the page refuses what the API refuses, with the same words, next to the field."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from gstp.exceptions import StaleVersion
from indicators.selectors import indicator_list
from projects.models import AgencyRole
from projects.selectors import agency_subtree, milestone_list
from reviews import access, services
from reviews.inputs import ReportCreateSerializer, ReportUpdateSerializer
from reviews.models import ReportStatus
from reviews.selectors import periods_to_file, report_history, reports_owed

from ..forms import ReportForm
from ..selectors import agencies_leading, default_plan, subproject_scope
from .base import SERVICE_ERRORS, console_page, posted_version, service_errors, validation_errors
from .reviews import return_form

SUBMIT = "submit"  # the form's second button; the first saves the draft


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
            .filter(status=ReportStatus.SUBMITTED, node__in=subprojects.values("pk"))
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


def _form_parts(user, node):
    milestones = milestone_list(user=user).filter(node=node).order_by("planned_date", "id")
    indicators = indicator_list(user=user).filter(node=node)
    return {"milestones": list(milestones), "indicators": list(indicators)}


def _submit(request, form, report) -> bool:
    try:
        services.report_submit(actor=request.user, report=report, expected_version=report.version)
    except SERVICE_ERRORS as exc:
        form.errors_apply(service_errors(exc))
        return False
    messages.success(request, _("Submitted the %(period)s report for review.") % {"period": report.period})
    return True


@console_page
def report_new(request, pk):
    user = request.user
    node = get_object_or_404(subproject_scope(user).select_related("plan"), pk=pk)
    access.ensure(access.can_file_report(user, node), access.NOT_LEAD_TO_FILE)
    periods = periods_to_file(node=node)
    wanted = request.GET.get("period", "")
    initial = wanted if wanted in {str(p) for p in periods} else (str(periods[0]) if periods else None)
    form = ReportForm(
        request.POST if request.method == "POST" else None,
        periods=periods,
        initial_period=initial,
        **_form_parts(user, node),
    )
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
            except ValidationError as exc:
                form.errors_apply(validation_errors(exc))
            else:
                messages.success(request, _("Saved the %(period)s report as a draft.") % {"period": report.period})
                if request.POST.get("action") == SUBMIT:
                    form = ReportForm(
                        request.POST, report=report, milestones=form.milestones, indicators=form.indicators
                    )
                    form.full_clean()
                    if not _submit(request, form, report):
                        return _report_response(request, report, form, status=400)
                return redirect("console:report", pk=report.pk)
    return render(
        request,
        "console/report_new.html",
        {"node": node, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@console_page
def report_page(request, pk):
    """A report, its review and its history; a form to edit and submit it while it is the lead's to change."""
    user = request.user
    report = get_object_or_404(access.reports_for(user).select_related("node", "node__plan"), pk=pk)
    if request.method == "POST":
        access.ensure(access.can_edit_report(user, report), access.NOT_LEAD_TO_EDIT)
        form = ReportForm(request.POST, report=report, **_form_parts(user, report.node))
        form.full_clean()
        if _save(request, form, report):
            return redirect("console:report", pk=report.pk)
        return _report_response(request, report, form, status=400)
    form = None
    if "edit" in access.report_actions(user, report):
        form = ReportForm(report=report, **_form_parts(user, report.node))
    return _report_response(request, report, form)


def _report_response(request, report, form, status=200):
    user = request.user
    context = {
        "report": report,
        "node": report.node,
        "form": form,
        "history": report_history(report=report) if access.can_see_report_history(user, report) else None,
        "can_review": "accept" in access.report_actions(user, report),
        "return_form": return_form(report),
        "milestone_entries": report.milestone_entries.select_related("milestone"),
        "indicator_values": report.indicator_values.select_related("indicator"),
    }
    return render(request, "console/report.html", context, status=status)


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
            messages.success(request, _("Saved the %(period)s report.") % {"period": report.period})
        elif version != report.version:
            raise StaleVersion()
    except SERVICE_ERRORS as exc:
        form.errors_apply(service_errors(exc))
        return False
    if request.POST.get("action") == SUBMIT:
        return _submit(request, form, report)
    return True
