"""Indicator behind its trajectory: a sub-project indicator's progress ratio below 0.9 (yellow), below 0.7
or unable to reach its target at the current rate (red). One flag per sub-project, for its worst indicator."""

from decimal import Decimal

from indicators.selectors import indicator_evaluate, indicators_of_nodes
from indicators.semantics import Status

from ..models import LagRule, Severity
from ..periods import Quarter
from . import Batch, Finding, decimal_text

RULE = LagRule.INDICATOR_BEHIND


def evaluate(batch: Batch) -> list[Finding]:
    subs = {sub.id: sub for sub in batch.subprojects}
    worst: dict[int, Finding] = {}
    period = Quarter.containing(batch.as_of)
    for indicator in indicators_of_nodes(batch.nodes):
        evaluation = indicator_evaluate(indicator, on=batch.as_of)
        if evaluation.status in (Status.MET, Status.NO_DATA, Status.QUALITATIVE) or evaluation.ratio is None:
            continue
        settings = batch.settings_for(subs[indicator.node_id])
        if evaluation.status == Status.CANNOT_REACH or evaluation.ratio < settings.indicator_red_ratio:
            severity = Severity.RED
        elif evaluation.ratio < settings.indicator_yellow_ratio:
            severity = Severity.YELLOW
        else:
            continue
        score = (Decimal(1) - evaluation.ratio + (10 if evaluation.status == Status.CANNOT_REACH else 0)).quantize(
            Decimal("0.0001")
        )
        evidence = {
            "rule": RULE,
            "period": str(period),
            "indicator": indicator.pk,
            "name": indicator.name,
            "actual": decimal_text(evaluation.actual),
            "expected": decimal_text(evaluation.expected),
            "target": decimal_text(evaluation.target),
            "target_year": evaluation.target_year,
            "ratio": decimal_text(evaluation.ratio.quantize(Decimal("0.0001"))),
            "status": evaluation.status.value,
            "yellow_below": decimal_text(settings.indicator_yellow_ratio),
            "red_below": decimal_text(settings.indicator_red_ratio),
        }
        current = worst.get(indicator.node_id)
        if current is None or score > current.score:
            worst[indicator.node_id] = Finding(indicator.node_id, RULE, period, severity, score, evidence)
    return list(worst.values())
