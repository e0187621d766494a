"""Overdue milestone: planned date passed and not done (yellow); over N days, a critical milestone,
or a forecast beyond the sub-project's end (red). One flag per sub-project and quarter, for its worst."""

from decimal import Decimal

from django.db.models import Q

from projects.selectors import milestones_open_for

from ..models import LagRule, Severity
from ..periods import Quarter
from . import Batch, Finding

RULE = LagRule.MILESTONE_OVERDUE


def evaluate(batch: Batch) -> list[Finding]:
    # Overdue, or forecast beyond the sub-project's end (checked below against the batch's end dates).
    late = milestones_open_for(batch.nodes).filter(Q(planned_date__lt=batch.as_of) | Q(forecast_date__isnull=False))
    subs = {sub.id: sub for sub in batch.subprojects}
    worst: dict[int, Finding] = {}
    period = Quarter.containing(batch.as_of)
    for milestone in late.values("id", "node_id", "title", "planned_date", "forecast_date", "is_critical"):
        sub = subs[milestone["node_id"]]
        settings = batch.settings_for(sub)
        days = max(0, (batch.as_of - milestone["planned_date"]).days)
        beyond_end = bool(sub.end_date and milestone["forecast_date"] and milestone["forecast_date"] > sub.end_date)
        if days == 0 and not beyond_end:
            continue
        reasons = []
        if days > settings.milestone_red_days:
            reasons.append("over_red_days")
        if milestone["is_critical"] and days > 0:
            reasons.append("critical")
        if beyond_end:
            reasons.append("forecast_beyond_end")
        severity = Severity.RED if reasons else Severity.YELLOW
        score = Decimal(days + (1000 if reasons else 0))
        evidence = {
            "rule": RULE,
            "period": str(period),
            "milestone": milestone["id"],
            "title": milestone["title"],
            "planned_date": milestone["planned_date"].isoformat(),
            "forecast_date": milestone["forecast_date"].isoformat() if milestone["forecast_date"] else None,
            "days_overdue": days,
            "is_critical": milestone["is_critical"],
            "red_over_days": settings.milestone_red_days,
            "red_because": reasons,
        }
        current = worst.get(sub.id)
        if current is None or score > current.score:
            worst[sub.id] = Finding(sub.id, RULE, period, severity, score, evidence)
        if current is not None:
            worst[sub.id].evidence["overdue_milestones"] = current.evidence.get("overdue_milestones", 1) + 1
    return list(worst.values())
