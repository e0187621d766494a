"""Ministry review overdue (部會初核逾期): a report waiting for its ministry's endorsement (submitted, in a
plan whose lag settings require endorsement) for more than twice the plan's ``endorsement_days`` (yellow),
or more than four times as long (red). The days run from the day it was submitted (``submitted_at`` in
Asia/Taipei) to the scan's day; the reviewer is reminded after ``endorsement_days`` alone
(``notifications.endorsement_reminders``).

The flag stands on the report's sub-project and quarter and names the ministries that review it. It clears
when the report is endorsed, returned or withdrawn, or when the plan stops requiring endorsement: the scan
then no longer finds it. The delay is the ministry's, not the sub-project's, so the flag goes to the
secretariat's queue but not into the sub-project's light (``reviews.selectors.LIGHT_EXCLUDED_RULES``), and
two quarters running do not turn it red (``consecutive``)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from projects.access import reviewing_ministries_of

from ..models import LagRule, QuarterlyReport, ReportKind, ReportStatus, Severity
from ..periods import Month, Quarter
from . import Batch, Finding

RULE = LagRule.REVIEW_OVERDUE
YELLOW_TIMES = 2  # flagged after twice the plan's endorsement_days
RED_TIMES = 4


def evaluate(batch: Batch) -> list[Finding]:
    plans = {sub.plan_id for sub in batch.subprojects}
    days = {
        plan_id: settings.endorsement_days
        for plan_id, settings in batch.settings.items()
        if plan_id in plans and settings.endorsement_required
    }
    if not days:
        return []
    # A report submitted within the shortest threshold of the batch's plans cannot be overdue: the database
    # sets it aside. Each plan's own threshold is applied below.
    shortest = min(days.values()) * YELLOW_TIMES
    waiting_since = timezone.make_aware(
        datetime.datetime.combine(batch.as_of - datetime.timedelta(days=shortest), datetime.time.min)
    )
    reports = (
        QuarterlyReport.objects.filter(
            batch.within(), status=ReportStatus.SUBMITTED, submitted_at__lt=waiting_since, node__plan_id__in=days
        )
        .order_by("node_id", "year", "quarter", "pk")
        .values_list("pk", "node_id", "node__plan_id", "year", "quarter", "month", "submitted_at")
    )
    overdue = []
    for pk, node_id, plan_id, year, quarter, month, submitted_at in reports:
        submitted_on = timezone.localdate(submitted_at)
        waited = (batch.as_of - submitted_on).days
        if waited > days[plan_id] * YELLOW_TIMES:
            overdue.append((pk, node_id, plan_id, Quarter(year, quarter), month, submitted_on, waited))
    if not overdue:
        return []
    ministries = reviewing_ministries_of({node_id for _, node_id, *_ in overdue})
    # One flag a quarter: of its reports waiting (the quarter's own, its monthly updates), the one waiting longest.
    longest = {}
    for row in overdue:
        key = (row[1], row[3])
        if key not in longest or row[-1] > longest[key][-1]:
            longest[key] = row
    findings = []
    for pk, node_id, plan_id, period, month, submitted_on, waited in longest.values():
        reminder_days = days[plan_id]
        severity = Severity.RED if waited > reminder_days * RED_TIMES else Severity.YELLOW
        evidence = {
            "rule": RULE,
            "period": str(Month(period.year, month) if month else period),
            **({"kind": ReportKind.MONTHLY} if month else {}),
            "report": pk,
            "submitted_on": submitted_on.isoformat(),
            "days_waiting": waited,
            "threshold_days": reminder_days * YELLOW_TIMES,
            "red_over_days": reminder_days * RED_TIMES,
            "reminder_days": reminder_days,
            "reviewing_ministries": [
                {"id": ministry.pk, "name": ministry.name} for ministry in ministries.get(node_id, [])
            ],
        }
        findings.append(Finding(node_id, RULE, period, severity, Decimal(waited), evidence))
    return findings
