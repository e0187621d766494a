"""Late or missing report: not submitted by its due date (yellow); still not submitted N days after the
quarter ended, or returned and not resubmitted within M days (red)."""

import datetime
from decimal import Decimal

from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from projects.models import PlanNode

from ..models import FILED_STATUSES, LagRule, QuarterlyReport, ReportStatus, Severity
from ..periods import Quarter
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


def evaluate(batch: Batch) -> list[Finding]:
    candidates: set[tuple[int, Quarter]] = set()
    due_quarter = {}  # sub-projects of one plan mostly share their dates: work each combination out once
    for sub in batch.subprojects:
        dates = (sub.plan_id, sub.control_level, sub.start_date, sub.end_date)
        if dates not in due_quarter:
            due_quarter[dates] = latest_due_quarter(batch, sub, batch.settings_for(sub).report_due_days)
        if due_quarter[dates]:
            candidates.add((sub.id, due_quarter[dates]))
    # Quarters flagged before stay under watch until their report comes in.
    for flag in batch.active_flags:
        if flag.rule == RULE:
            candidates.add((flag.node_id, Quarter(flag.year, flag.quarter)))
    if not candidates:
        return []
    subs = {sub.id: sub for sub in batch.subprojects}
    deadlines = {}  # (plan, level, quarter): due date and red-after date, worked out once per batch
    findings = []
    for node_id, quarter, status, returned_at in _outstanding(batch, {quarter for _, quarter in candidates}):
        if (node_id, quarter) not in candidates:
            continue
        sub = subs[node_id]
        settings = batch.settings_for(sub)
        key = (sub.plan_id, sub.control_level, quarter)
        if key not in deadlines:
            deadlines[key] = (
                quarter.due_date(settings.report_due_days),
                quarter.end + datetime.timedelta(days=settings.late_red_days_after_quarter_end),
            )
        due, red_after = deadlines[key]
        if due >= batch.as_of:
            continue
        days_late = (batch.as_of - due).days
        evidence = {
            "rule": RULE,
            "period": str(quarter),
            "report_status": status,
            "due_on": due.isoformat(),
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
        findings.append(Finding(node_id, RULE, quarter, severity, Decimal(days_late), evidence))
    findings.sort(key=lambda finding: (finding.node_id, finding.period.year, finding.period.quarter))
    return findings


# A report in one of these is filed; in any other, or with no report at all ("missing"), it is outstanding.
# A reopened report under correction still counts as accepted: its accepted figures stay in force.
FILED = FILED_STATUSES
REOPENED = "reopened"


def _outstanding(batch: Batch, periods: set[Quarter]):
    """(sub-project, quarter, status or "missing", returned at) for the batch's reports of ``periods`` that
    are neither submitted nor accepted, in one query: a column pair per quarter, and only the sub-projects
    with a quarter not filed come back, so the database sets aside the reports filed."""
    periods = sorted(periods)
    columns, outstanding = {}, Q(pk__in=[])
    for i, quarter in enumerate(periods):
        report = QuarterlyReport.objects.filter(
            node=OuterRef("pk"), year=quarter.year, quarter=quarter.quarter
        ).order_by()
        status = Case(When(accepted_content__isnull=False, then=Value(REOPENED)), default=F("status"))
        columns[f"status_{i}"] = Subquery(report.annotate(filed_status=status).values("filed_status")[:1])
        columns[f"returned_{i}"] = Subquery(report.values("returned_at")[:1])
        outstanding |= ~Q(Exists(report.filter(Q(status__in=FILED) | Q(accepted_content__isnull=False))))
    rows = (
        PlanNode.objects.filter(batch.within("pk"))
        .filter(outstanding)
        .annotate(**columns)
        .order_by()
        .values_list("pk", *columns)
    )
    for node_id, *values in rows:
        for i, quarter in enumerate(periods):
            status, returned_at = values[2 * i], values[2 * i + 1]
            if status not in FILED and status != REOPENED:
                yield node_id, quarter, status or "missing", returned_at
