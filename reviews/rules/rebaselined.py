"""Rebaselined: a sub-project whose approved revisions moved it far from its original plan (原計畫). Its end
date moved more than the plan's yellow days from the original (yellow); more than the red days, or as many
approved revisions as the plan's red count (red). The other rules measure against the latest approved
baseline; this one keeps the original in sight."""

import datetime
from decimal import Decimal

from django.db.models import Count

from ..models import Baseline, LagRule, PlanRevision, RevisionStatus, Severity
from ..periods import Quarter
from . import Batch, Finding

RULE = LagRule.REBASELINED


def evaluate(batch: Batch) -> list[Finding]:
    # Only sub-projects with a recorded original can have drifted from it: two queries for the batch.
    originals = dict(
        Baseline.objects.filter(batch.within(), version=1).order_by().values_list("node_id", "content__end_date")
    )
    if not originals:
        return []
    approved = dict(
        PlanRevision.objects.filter(batch.within(), status=RevisionStatus.APPROVED)
        .order_by()
        .values("node_id")
        .annotate(count=Count("id"))
        .values_list("node_id", "count")
    )
    period = Quarter.containing(batch.as_of)
    findings = []
    for sub in batch.subprojects:
        if sub.id not in originals:
            continue
        original = originals[sub.id]
        original_end = _date(original)
        current_end = sub.end_date
        days = abs((current_end - original_end).days) if original_end and current_end else 0
        revisions = approved.get(sub.id, 0)
        settings = batch.settings_for(sub)
        reasons = []
        if days > settings.rebaselined_red_days:
            reasons.append("over_red_days")
        if revisions >= settings.rebaselined_red_revisions:
            reasons.append("revisions")
        if reasons:
            severity = Severity.RED
        elif days > settings.rebaselined_yellow_days:
            severity = Severity.YELLOW
        else:
            continue
        evidence = {
            "rule": RULE,
            "period": str(period),
            "original_end_date": original_end.isoformat() if original_end else None,
            "current_end_date": current_end.isoformat() if current_end else None,
            "days_moved": days,
            "revisions": revisions,
            "yellow_over_days": settings.rebaselined_yellow_days,
            "red_over_days": settings.rebaselined_red_days,
            "red_from_revisions": settings.rebaselined_red_revisions,
            "red_because": reasons,
        }
        score = Decimal(days + revisions * 100 + (1000 if reasons else 0))
        findings.append(Finding(sub.id, RULE, period, severity, score, evidence))
    return findings


def _date(value):
    if not value:
        return None
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)
