"""Late or missing report: not submitted by its due date (yellow); still not submitted N days after the
quarter ended, or returned and not resubmitted within M days (red).

A sub-project whose control level reports monthly is also late when a month's update is not submitted by
its due date, while its quarter's report is not filed (which covers the months before it); red N days after
the month ended. The flag is the quarter's, its evidence names the month (``kind``: ``monthly``); once the
quarter's own report is due and outstanding, its lateness is the flag's."""

import datetime
from decimal import Decimal

from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from projects.models import PlanNode

from ..models import (
    FILED_STATUSES,
    IS_FILED,
    LagRule,
    QuarterlyReport,
    ReportKind,
    ReportStatus,
    Rhythm,
    Severity,
    period_condition,
)
from ..periods import Month, Quarter, running_months
from . import Batch, Finding

RULE = LagRule.LATE_REPORT


def latest_due_quarter(batch: Batch, sub, due_days: int) -> Quarter | None:
    first, last = batch.quarters(sub)
    quarter = min(Quarter.containing(batch.as_of), last)
    while quarter >= first:
        if quarter.due_date(due_days) < batch.as_of:
            return quarter
        quarter = quarter.previous()
    return None


def latest_due_month(batch: Batch, sub, due_days: int) -> Month | None:
    """The latest month within the sub-project's dates whose monthly update was due before the scan's day."""
    start, end = running_months(sub.start_date, sub.end_date, *batch.quarters(sub))
    month = min(Month.containing(batch.as_of), end)
    while month >= start:
        if not month.closes_quarter and month.due_date(due_days) < batch.as_of:
            return month
        month = month.previous()
    return None


def _watched(flag) -> Quarter | Month:
    """The period a late-report flag is about: a monthly update's month, or the quarter."""
    if flag.evidence.get("kind") == ReportKind.MONTHLY:
        try:
            return Month.parse(flag.evidence.get("period", ""))
        except ValueError:
            pass
    return Quarter(flag.year, flag.quarter)


def evaluate(batch: Batch) -> list[Finding]:
    candidates: set[tuple[int, Quarter | Month]] = set()
    due = {}  # sub-projects of one plan and level mostly share their dates: work each combination out once
    for sub in batch.subprojects:
        dates = (sub.plan_id, sub.control_level, sub.start_date, sub.end_date)
        if dates not in due:
            settings = batch.settings_for(sub)
            due[dates] = [latest_due_quarter(batch, sub, settings.report_due_days)]
            if settings.rhythm == Rhythm.MONTHLY:
                due[dates].append(latest_due_month(batch, sub, settings.monthly_due_days))
        candidates.update((sub.id, period) for period in due[dates] if period)
    # Periods flagged before stay under watch until their report comes in.
    for flag in batch.active_flags:
        if flag.rule == RULE:
            candidates.add((flag.node_id, _watched(flag)))
    if not candidates:
        return []
    subs = {sub.id: sub for sub in batch.subprojects}
    deadlines = {}  # (plan, level, period): due date and red-after date, worked out once per batch
    findings = {}
    for node_id, period, status, returned_at in _outstanding(batch, {period for _, period in candidates}):
        if (node_id, period) not in candidates:
            continue
        sub = subs[node_id]
        settings = batch.settings_for(sub)
        monthly = isinstance(period, Month)
        quarter = period.quarter if monthly else period
        key = (sub.plan_id, sub.control_level, period)
        if key not in deadlines:
            deadlines[key] = (
                period.due_date(settings.monthly_due_days if monthly else settings.report_due_days),
                period.end + datetime.timedelta(days=settings.late_red_days_after_quarter_end),
            )
        due_on, red_after = deadlines[key]
        if due_on >= batch.as_of:
            continue
        days_late = (batch.as_of - due_on).days
        evidence = {
            "rule": RULE,
            "period": str(period),
            **({"kind": ReportKind.MONTHLY} if monthly else {}),
            "report_status": status,
            "due_on": due_on.isoformat(),
            "days_late": days_late,
            "red_after": red_after.isoformat(),
        }
        if status == ReportStatus.RETURNED:
            returned_on = timezone.localdate(returned_at)
            waited = (batch.as_of - returned_on).days
            evidence.update(
                returned_on=returned_on.isoformat(),
                days_since_returned=waited,
                threshold_days=settings.returned_red_days,
            )
            if waited <= settings.returned_red_days:
                continue
            severity = Severity.RED
        else:
            severity = Severity.RED if batch.as_of > red_after else Severity.YELLOW
        # One flag a quarter: the quarter's own report, once due, before any of its months' updates.
        finding = Finding(node_id, RULE, quarter, severity, Decimal(days_late), evidence)
        held = findings.get((node_id, quarter))
        held_monthly = held is not None and "kind" in held.evidence
        if held is None or (held_monthly and not monthly) or (held_monthly == monthly and finding.score > held.score):
            findings[node_id, quarter] = finding
    return sorted(findings.values(), key=lambda finding: (finding.node_id, finding.period.year, finding.period.quarter))


# A report in one of these is filed; in any other, or with no report at all ("missing"), it is outstanding.
# A reopened report under correction still counts as accepted: its accepted figures stay in force.
FILED = FILED_STATUSES
REOPENED = "reopened"


def _outstanding(batch: Batch, periods: set[Quarter | Month]):
    """(sub-project, period, status or "missing", returned at) for the batch's reports of ``periods`` that
    are neither submitted nor accepted, in one query: a column pair per period, and only the sub-projects
    with a period not filed come back, so the database sets aside the reports filed. A month's update is
    not outstanding once its quarter's report is filed."""
    periods = sorted(periods, key=lambda period: period.rank)
    columns, outstanding = {}, Q(pk__in=[])
    for i, period in enumerate(periods):
        report = QuarterlyReport.objects.filter(period_condition(period), node=OuterRef("pk"))
        not_filed = ~Q(Exists(report.filter(IS_FILED)))
        if isinstance(period, Month):
            quarterly = QuarterlyReport.objects.filter(IS_FILED, period_condition(period.quarter), node=OuterRef("pk"))
            columns[f"covered_{i}"] = Exists(quarterly)
            not_filed &= ~Q(Exists(quarterly))
        outstanding |= not_filed
        report = report.order_by()
        status = Case(When(accepted_content__isnull=False, then=Value(REOPENED)), default=F("status"))
        columns[f"status_{i}"] = Subquery(report.annotate(filed_status=status).values("filed_status")[:1])
        columns[f"returned_{i}"] = Subquery(report.values("returned_at")[:1])
    rows = (
        PlanNode.objects.filter(batch.within("pk"))
        .filter(outstanding)
        .annotate(**columns)
        .order_by()
        .values_list("pk", *columns)
    )
    names = list(columns)
    for node_id, *values in rows:
        row = dict(zip(names, values, strict=True))
        for i, period in enumerate(periods):
            status, returned_at = row[f"status_{i}"], row[f"returned_{i}"]
            if row.get(f"covered_{i}") or status in FILED or status == REOPENED:
                continue
            yield node_id, period, status or "missing", returned_at
