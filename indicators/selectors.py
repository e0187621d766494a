"""Reads of indicators, with what their numbers mean as of a date (``semantics``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from gstp.history import rows
from projects.models import AgencyRole, NodeAgency, Plan

from . import access, semantics
from .models import Direction, Indicator, IndicatorActual, IndicatorTarget, Measure


def indicator_list(*, user, as_of=None) -> QuerySet[Indicator]:
    """The indicators a user sees with their targets and actuals, now or as they were at ``as_of``."""
    return (
        access.indicators_for(user, as_of=as_of)
        .select_related("plan", "node")
        .prefetch_related(
            Prefetch("targets", queryset=rows(IndicatorTarget, as_of).order_by("year", "quarter")),
            Prefetch("actuals", queryset=rows(IndicatorActual, as_of).order_by("year", "quarter")),
        )
    )


def indicator_actual_list(*, user) -> QuerySet[IndicatorActual]:
    """Recorded actuals of the indicators a user sees (sub-project ones come only from accepted reports)."""
    return access.indicator_actuals_for(user).select_related("indicator").order_by("indicator_id", "year", "quarter")


def indicators_of_nodes(node_ids) -> QuerySet[Indicator]:
    """Numeric indicators of these plan-tree nodes, with targets and actuals prefetched (three queries)."""
    return (
        Indicator.objects.filter(node_id__in=node_ids)
        .exclude(measure=Measure.QUALITATIVE)
        .prefetch_related(
            Prefetch("targets", queryset=IndicatorTarget.objects.order_by("year", "quarter")),
            Prefetch("actuals", queryset=IndicatorActual.objects.order_by("year", "quarter")),
        )
    )


def indicators_to_evaluate(indicator_ids) -> QuerySet[Indicator]:
    """These indicators with their targets and actuals prefetched (three queries), for ``indicator_evaluate``."""
    return Indicator.objects.filter(pk__in=indicator_ids).prefetch_related(
        Prefetch("targets", queryset=IndicatorTarget.objects.order_by("year", "quarter")),
        Prefetch("actuals", queryset=IndicatorActual.objects.order_by("year", "quarter")),
    )


def indicators_of_agencies(queryset, agencies):
    nodes = NodeAgency.objects.filter(agency__in=agencies, role=AgencyRole.LEAD).values("node_id")
    return queryset.filter(node__in=nodes)


@dataclass(frozen=True)
class Evaluation:
    as_of: datetime.date
    actual: Decimal | None
    expected: Decimal | None
    target: Decimal | None
    target_year: int | None
    ratio: Decimal | None
    status: semantics.Status


def indicator_evaluate(indicator: Indicator, *, on: datetime.date | None = None) -> Evaluation:
    """Where the indicator stands on ``on`` (today by default), from its prefetched targets and actuals."""
    on = on or timezone.localdate()
    if indicator.measure == Measure.QUALITATIVE:
        return Evaluation(on, None, None, None, None, None, semantics.Status.QUALITATIVE)
    lower = indicator.direction == Direction.LOWER
    targets = [(t.year, t.quarter, t.value) for t in indicator.targets.all()]
    actuals = [(a.year, a.quarter, a.value) for a in indicator.actuals.all() if a.value is not None]
    baseline = (
        semantics.Point(semantics.period_end(indicator.baseline_year), indicator.baseline_value)
        if indicator.baseline_year is not None
        else None
    )
    ahead = sorted(
        [(semantics.period_end(year, quarter), year, value) for year, quarter, value in targets if quarter == 0],
    )
    upcoming = [row for row in ahead if row[0] >= on]
    target_row = upcoming[0] if upcoming else (ahead[-1] if ahead else None)
    target_end, target_year, target = target_row if target_row else (None, None, None)
    # A per-period indicator whose last target year is over is judged on that year's total.
    day = on if indicator.is_cumulative or target_end is None else min(on, target_end)
    actual = semantics.actual_at(actuals, day, cumulative=indicator.is_cumulative)
    expected = semantics.expected_at(targets, day, cumulative=indicator.is_cumulative, baseline=baseline)
    projected = None
    if indicator.is_cumulative and target_end is not None and target_end >= on:
        points = ([baseline] if baseline else []) + sorted(
            (semantics.Point(semantics.period_end(year, quarter), value) for year, quarter, value in actuals),
            key=lambda point: point.on,
        )
        projected = semantics.projected_at([point for point in points if point.on <= on], target_end)
    ratio = (
        semantics.progress_ratio(actual, expected, indicator.baseline_value, lower_is_better=lower)
        if actual is not None and expected is not None
        else None
    )
    status = semantics.status_of(
        actual=actual,
        expected=expected,
        target=target,
        baseline=indicator.baseline_value,
        lower_is_better=lower,
        projected=projected,
        deadline_passed=target_end is not None and target_end < on,
    )
    return Evaluation(on, actual, expected, target, target_year, ratio, status)


@dataclass(frozen=True)
class OverallRow:
    indicator: Indicator
    target_year: int | None
    target: Decimal | None
    result_year: int | None
    result: Decimal | None
    result_is_estimate: bool
    met: bool | None


def plan_indicator_summary(*, plan: Plan, user) -> list[OverallRow]:
    """The plan's overall indicators (總體指標): each final target, the latest result and whether it meets it."""
    rows = []
    for indicator in indicator_list(user=user).filter(plan=plan, node__isnull=True):
        targets = sorted(indicator.targets.all(), key=lambda t: (t.year, t.quarter))
        results = sorted((a for a in indicator.actuals.all() if a.value is not None), key=lambda a: (a.year, a.quarter))
        target = targets[-1] if targets else None
        result = results[-1] if results else None
        met = None
        if target and result:
            met = semantics.target_reached(
                result.value, target.value, lower_is_better=indicator.direction == Direction.LOWER
            )
        rows.append(
            OverallRow(
                indicator=indicator,
                target_year=target.year if target else None,
                target=target.value if target else None,
                result_year=result.year if result else None,
                result=result.value if result else None,
                result_is_estimate=result.is_estimate if result else False,
                met=met,
            )
        )
    return rows


def owner_kind(indicator: Indicator) -> str:
    return "plan" if indicator.node_id is None else indicator.node.kind
