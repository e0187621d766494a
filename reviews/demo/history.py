"""The demo's recorded history (``gstp.history``): what GSTP said on each day of the demo's calendar.

The plan tree, milestones and indicators stand from the calendar's start; each report reads, at each step
of its story, with the status that step left it in; an accepted report's indicator actual from its
acceptance. A flag of the first scan began when its sub-project's lag did: the demo's sub-projects lag
for one to five quarters (by their place), so a flag opened yellow at the due date of the quarter its
lag began, turned red (if red now) a quarter later, and reads as the scan left it from then on. So the
dashboard as of the end of each past quarter shows what was lagging then, and differs quarter by quarter.
"""

from __future__ import annotations

import datetime

from django.db.models import Min
from django.utils import timezone

from indicators.models import Indicator, IndicatorActual, IndicatorTarget
from projects.models import BudgetYear, Milestone, PlanNode

from ..models import LagFlag, QuarterlyReport, Severity
from ..periods import Quarter
from .calendar import at, shifted

STANDING_FROM_START = (PlanNode, Milestone, BudgetYear, Indicator, IndicatorTarget)
LAG_QUARTERS = 5  # a sub-project's lag began up to four quarters before the quarter of its flag


def plan_history_backdate(*, since: datetime.datetime, start: datetime.date) -> None:
    """The plan tree, milestones, budget years, indicators and targets written while loading (from ``since``)
    stand from the calendar's ``start``."""
    for model in STANDING_FROM_START:
        model.history.filter(history_date__gte=since).update(history_date=at(start, 8))


def report_history_record(reports, events) -> None:
    """Each report as each step of its story left it, dated when the step was taken."""
    historical = QuarterlyReport.history.model
    fields = [field.attname for field in historical.tracked_fields]
    rows = []
    for report, report_events in zip(reports, events, strict=True):
        values = {name: getattr(report, name) for name in fields}
        for version, (_action, actor, _from, to_status, when, _reason, _changes) in enumerate(report_events, 1):
            rows.append(
                historical(
                    **{**values, "status": to_status, "version": version},
                    history_date=when,
                    history_type="+" if version == 1 else "~",
                    history_user=actor,
                )
            )
    historical.objects.bulk_create(rows, batch_size=2000)


def actual_history_record(actuals, accepted_at) -> None:
    for actual, when in zip(actuals, accepted_at, strict=True):
        actual._history_date = when
    IndicatorActual.history.bulk_history_create(actuals, batch_size=2000)


def flag_history_backdate(*, report_due_days: int, now: datetime.datetime | None = None) -> int:
    """Date the flags' history to when the demo's lags began (the module's docstring); the flags opened
    then. Returns how many flags were backdated."""
    now = now or timezone.now()
    historical = LagFlag.history.model
    fields = [field.attname for field in historical.tracked_fields]
    flags = list(LagFlag.objects.exclude(rule="review_overdue").order_by("pk"))
    if not flags:
        return 0
    historical.objects.filter(id__in=[flag.pk for flag in flags]).delete()
    rows = []
    for flag in flags:
        began = shifted(Quarter(flag.year, flag.quarter), -(flag.node_id % LAG_QUARTERS))
        opened = at(began.due_date(report_due_days) + datetime.timedelta(days=1), 9)
        if opened >= now:
            opened = now - datetime.timedelta(days=1)
        flag.opened_at = opened
        values = {name: getattr(flag, name) for name in fields}
        first = {**values, "severity": Severity.YELLOW, "status": "open", "resolved_at": None, "resolution": ""}
        rows.append(historical(**first, history_date=opened, history_type="+"))
        raised = min(opened + datetime.timedelta(days=91), now)
        if flag.severity == Severity.RED:
            rows.append(historical(**{**first, "severity": Severity.RED}, history_date=raised, history_type="~"))
        rows.append(historical(**values, history_date=max(raised, flag.updated_at), history_type="~"))
    LagFlag.objects.bulk_update(flags, ["opened_at"], batch_size=2000)
    historical.objects.bulk_create(rows, batch_size=2000)
    return len(flags)


def first_history_at(model) -> datetime.datetime | None:
    return model.history.aggregate(first=Min("history_date"))["first"]
