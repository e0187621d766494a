"""Consecutive slippage: a yellow on the same rule as in the quarter before turns red."""

from ..models import LagFlag, LagRule, Severity
from ..periods import in_quarters
from . import Batch, Finding

# Rules whose severity is their own measure alone: a ministry's overdue review is yellow or red by the days
# the report has waited, whatever happened to the quarter before; a drift from the original plan by the days
# it moved and the revisions approved, which the plan's thresholds already grade.
NOT_ESCALATED = frozenset({LagRule.REVIEW_OVERDUE, LagRule.REBASELINED})


def escalate(batch: Batch, findings: list[Finding]) -> list[Finding]:
    yellow = [
        finding
        for finding in findings
        if finding.severity == Severity.YELLOW
        and finding.rule not in NOT_ESCALATED
        and batch.settings_for_id(finding.node_id).consecutive_yellow_turns_red
    ]
    if not yellow:
        return findings
    before = set(
        LagFlag.objects.filter(
            in_quarters({f.period.previous() for f in yellow}), batch.within(), rule__in={f.rule for f in yellow}
        )
        .order_by()
        .values_list("node_id", "rule", "year", "quarter")
    )
    for finding in yellow:
        previous = finding.period.previous()
        if (finding.node_id, finding.rule, previous.year, previous.quarter) in before:
            finding.severity = Severity.RED
            finding.evidence["escalated"] = {"reason": "consecutive_quarters", "previous_period": str(previous)}
    return findings
