"""Budget execution: the execution rate (經費執行率, ``reviews.models.execution_rate``: spent, payables and
savings over the ledger's allocation to date) of the latest accepted quarterly report (a monthly update gives
spent alone), below 90 % (yellow) or 80 % (red)."""

from decimal import Decimal

from ..models import LagRule, Severity
from ..selectors import latest_accepted_reports
from . import Batch, Finding, decimal_text

RULE = LagRule.BUDGET_EXECUTION


def evaluate(batch: Batch, reports=None) -> list[Finding]:
    reports = reports if reports is not None else latest_accepted_reports(batch.nodes, quarterly_only=True)
    subs = {sub.id: sub for sub in batch.subprojects}
    findings = []
    for report in reports:
        rate = report.execution_rate(places=None)
        if rate is None:
            continue
        settings = batch.settings_for(subs[report.node_id])
        if rate < settings.budget_red_below:
            severity = Severity.RED
        elif rate < settings.budget_yellow_below:
            severity = Severity.YELLOW
        else:
            continue
        evidence = {
            "rule": RULE,
            "period": report.period,
            "report": report.pk,
            "budget_spent": decimal_text(report.budget_spent),
            "budget_payables": decimal_text(report.budget_payables or 0),
            "budget_savings": decimal_text(report.budget_savings or 0),
            "budget_allocated": decimal_text(report.budget_allocated),
            "execution_rate": decimal_text(rate.quantize(Decimal("0.01"))),
            "yellow_below": decimal_text(settings.budget_yellow_below),
            "red_below": decimal_text(settings.budget_red_below),
        }
        findings.append(
            Finding(
                report.node_id,
                RULE,
                report.quarter_obj,
                severity,
                (settings.budget_yellow_below - rate).quantize(Decimal("0.0001")),
                evidence,
            )
        )
    return findings
