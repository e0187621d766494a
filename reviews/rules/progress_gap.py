"""Progress gap: actual minus planned cumulative progress in the latest accepted figures (a monthly update's,
where the sub-project reports monthly, or a quarterly report's), at or below -5 points (yellow) or -10 points
(red), or its control level's tighter thresholds. The flag is the quarter's; its evidence names the month."""

from decimal import Decimal

from ..models import LagRule, Severity
from ..selectors import latest_accepted_reports
from . import Batch, Finding, decimal_text

RULE = LagRule.PROGRESS_GAP


def evaluate(batch: Batch, reports=None) -> list[Finding]:
    reports = reports if reports is not None else latest_accepted_reports(batch.nodes)
    subs = {sub.id: sub for sub in batch.subprojects}
    findings = []
    for report in reports:
        if report.planned_progress is None or report.actual_progress is None:
            continue
        settings = batch.settings_for(subs[report.node_id])
        gap = report.actual_progress - report.planned_progress
        if gap <= settings.progress_gap_red:
            severity = Severity.RED
        elif gap <= settings.progress_gap_yellow:
            severity = Severity.YELLOW
        else:
            continue
        evidence = {
            "rule": RULE,
            "period": report.period,
            "report": report.pk,
            "planned_progress": decimal_text(report.planned_progress),
            "actual_progress": decimal_text(report.actual_progress),
            "gap": decimal_text(gap),
            "yellow_at_or_below": decimal_text(settings.progress_gap_yellow),
            "red_at_or_below": decimal_text(settings.progress_gap_red),
        }
        findings.append(Finding(report.node_id, RULE, report.quarter_obj, severity, Decimal(-gap), evidence))
    return findings
