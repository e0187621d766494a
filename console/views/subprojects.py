"""A sub-project's page: its place in the plan tree, agencies, milestones, progress and budget by quarter,
indicators against targets, flags with their evidence, reports with their history."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp import calendar
from indicators.selectors import indicator_evaluate, indicator_list
from projects.selectors import milestone_list
from reviews import access
from reviews.models import ACTIVE_STATUSES, ReportStatus, Rhythm
from reviews.periods import Month, today
from reviews.selectors import node_settings, periods_to_file, subproject_quarters

from .. import charts
from ..selectors import ancestors_of, flag_queue, reports_of_subproject, subproject_scope
from .base import console_page, page_as_of
from .flags import flag_actions
from .revisions import subproject_baseline


def quarter_figures(reports) -> list[charts.QuarterFigures]:
    """The accepted reports, monthly updates and quarterly reports in time order: the figures that count."""
    return [
        charts.QuarterFigures(
            period=calendar.format_period(report.period),
            planned_progress=report.planned_progress,
            actual_progress=report.actual_progress,
            budget_allocated=report.budget_allocated,
            budget_spent=report.budget_spent,
            budget_payables=report.budget_payables,
            budget_savings=report.budget_savings,
        )
        for report in reports
        if report.status == ReportStatus.ACCEPTED
    ]


@console_page
def subproject_page(request, pk):
    user = request.user
    as_of, as_of_error = page_as_of(request)
    node = get_object_or_404(subproject_scope(user, as_of=as_of).select_related("plan"), pk=pk)
    milestones = list(milestone_list(user=user, as_of=as_of).filter(node=node).order_by("planned_date", "id"))
    reports = list(reports_of_subproject(user=user, node=node, as_of=as_of))
    figures = quarter_figures(reports)
    flags = [flag_actions(flag, user, as_of=as_of) for flag in flag_queue(user=user, as_of=as_of).filter(node=node)]
    first, last = subproject_quarters(node)
    on = timezone.localdate(as_of) if as_of else today()
    baseline = subproject_baseline(user, node, milestones, as_of=as_of)
    indicators = [
        (indicator, indicator_evaluate(indicator, on=on))
        for indicator in indicator_list(user=user, as_of=as_of).filter(node=node)
    ]
    can_file = as_of is None and access.can_file_report(user, node)
    settings = node_settings(node)
    rhythm = Rhythm(settings.rhythm)
    context = {
        "as_of": as_of,
        "as_of_error": as_of_error,
        "as_of_value": request.GET.get("as_of", ""),
        "node": node,
        "ancestors": ancestors_of(node),
        "milestones": milestones,
        "timeline": charts.milestone_timeline(
            milestones,
            start=node.start_date or first.start,
            end=node.end_date or last.end,
            today=on,
            chart_id="milestone-timeline",
            title=_("Milestones on a timeline"),
            originals=baseline["original_dates"],
        )
        if milestones
        else None,
        "figures": figures,
        "progress_chart": charts.progress_lines(
            figures, chart_id="progress-chart", title=_("Planned and actual cumulative progress by quarter")
        )
        if figures
        else None,
        "budget_chart": charts.budget_bars(figures, chart_id="budget-chart", title=_("Budget execution by quarter"))
        if figures
        else None,
        "indicators": indicators,
        "active_flags": [row for row in flags if row.flag.status in ACTIVE_STATUSES],
        "closed_flags": [row for row in flags if row.flag.status not in ACTIVE_STATUSES],
        "reports": list(reversed(reports)),
        "can_file": can_file,
        "rhythm": rhythm,
        "month_to_file": next((p for p in periods_to_file(node=node, settings=settings) if isinstance(p, Month)), None)
        if can_file and rhythm == Rhythm.MONTHLY
        else None,
        "history_visible": access.can_see_history_of(user, node),
        **baseline,
    }
    return render(request, "console/subproject.html", context)
