"""Writes to indicators."""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp.exceptions import InvalidTransition
from projects.models import NodeKind, Plan
from projects.outline.document import OutlineDocument
from projects.services import ImportResult, plan_tree_import

from . import access, selectors
from .models import Indicator, IndicatorActual, IndicatorTarget, Measure


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _upsert(model, lookup: dict, values: dict, result: UpsertResult):
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
        instance.full_clean()
        instance.save()
        result.created += 1
        _touch_indicator(instance)
        return instance
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.full_clean()
        instance.save()
        result.updated += 1
        _touch_indicator(instance)
    else:
        result.unchanged += 1
    return instance


def _touch_indicator(instance) -> None:
    """A changed target or actual is a change of its indicator, for ``updated_since``."""
    if isinstance(instance, IndicatorTarget | IndicatorActual):
        indicators_touch(indicator_ids=[instance.indicator_id])


def indicators_touch(*, indicator_ids) -> None:
    """Mark indicators as changed (an input of their evaluation changed), so ``updated_since`` picks them up."""
    if indicator_ids:
        Indicator.objects.filter(pk__in=indicator_ids).update(updated_at=timezone.now())


STATUS_BATCH_SIZE = 500


def indicator_statuses_refresh(*, on: datetime.date | None = None) -> int:
    """Evaluate every numeric indicator on ``on`` (today) and mark those whose status changed since the last
    run as changed, for ``updated_since``; how many were. An indicator evaluated for the first time is recorded
    without being marked. Safe to run twice or to stop halfway: each batch is one transaction, and a second
    run finds nothing changed."""
    on = on or timezone.localdate()
    numeric = Indicator.objects.exclude(measure=Measure.QUALITATIVE).order_by("pk")
    changed = 0
    every_id = iter(numeric.values_list("pk", flat=True))
    while batch := list(itertools.islice(every_id, STATUS_BATCH_SIZE)):
        found: dict[tuple[str, bool], list[int]] = defaultdict(list)
        for indicator in selectors.indicators_to_evaluate(batch):
            status = selectors.indicator_evaluate(indicator, on=on).status
            if status != indicator.evaluated_status:
                found[status, bool(indicator.evaluated_status)].append(indicator.pk)
        now = timezone.now()
        with transaction.atomic():
            for (status, seen_before), ids in found.items():
                stamp = {"updated_at": now} if seen_before else {}
                Indicator.objects.filter(pk__in=ids).update(evaluated_status=status, **stamp)
                changed += len(ids) if seen_before else 0
    return changed


@transaction.atomic
def overall_indicators_upsert(*, plan: Plan, rows: Iterable) -> UpsertResult:
    """Record the plan's overall indicators (總體指標) with their target and the year's result.

    ``rows`` are :class:`projects.outline.document.OutlineIndicator`; the same rows
    again change nothing.
    """
    result = UpsertResult()
    for position, row in enumerate(rows):
        values = {
            "dimension": row.dimension,
            "name": row.name,
            "unit": row.unit,
            "measure": Measure.PERCENTAGE if row.unit == "%" else Measure.NUMBER,
            "is_cumulative": True,  # a level (規模, 普及率, 涵蓋率): the latest figure is the current value
            "position": position,
        }
        if row.note:
            values["note"] = row.note
        indicator = _upsert(Indicator, {"plan": plan, "node": None, "key": row.key}, values, result)
        _upsert(
            IndicatorTarget,
            {"indicator": indicator, "year": row.target_year, "quarter": 0},
            {"value": row.target_value},
            result,
        )
        _upsert(
            IndicatorActual,
            {"indicator": indicator, "year": row.result_year, "quarter": 0},
            {"value": row.result_value, "is_estimate": row.result_is_estimate},
            result,
        )
    return result


def indicator_actual_record(
    *, indicator: Indicator, year: int, quarter: int, value=None, text="", source="", as_of=None, recorded_by=None
) -> None:
    """Record an actual (達成值) for a period, replacing an earlier one for the same period."""
    actual, _created = IndicatorActual.objects.update_or_create(
        indicator=indicator,
        year=year,
        quarter=quarter,
        defaults={
            "value": value,
            "text": text,
            "source": source,
            "is_estimate": False,
            "as_of": as_of,
            "recorded_by": recorded_by,
        },
    )
    Indicator.objects.filter(pk=indicator.pk).update(updated_at=actual.recorded_at)


@transaction.atomic
def group_targets_upsert(*, plan: Plan, rows: Iterable, groups: dict) -> UpsertResult:
    """Record the groups' main performance targets (主要績效目標) as group-level indicators.

    ``rows`` are :class:`projects.outline.document.OutlineGroupTarget`; ``groups`` maps outline keys to
    group nodes. A target with a stated figure is numeric, with that target and result for the year;
    one without is qualitative, its result the report's statement (when the outline carries it).
    """
    result = UpsertResult()
    for row in rows:
        group = groups.get(row.group_key)
        if group is None:
            continue
        numeric = row.target_value is not None
        values = {
            "node": group,
            "name": row.name,
            "unit": row.unit,
            "measure": (Measure.PERCENTAGE if row.unit == "%" else Measure.NUMBER) if numeric else Measure.QUALITATIVE,
            "position": row.number,
        }
        indicator = _upsert(Indicator, {"plan": plan, "key": row.key}, values, result)
        if numeric:
            _upsert(
                IndicatorTarget,
                {"indicator": indicator, "year": row.year, "quarter": 0},
                {"value": row.target_value},
                result,
            )
        actual = {}
        if row.result_value is not None:
            actual["value"] = row.result_value
        if row.statement:
            actual["text"] = row.statement
        if actual:
            _upsert(IndicatorActual, {"indicator": indicator, "year": row.year, "quarter": 0}, actual, result)
    return result


@transaction.atomic
def plan_indicator_actual_record(*, indicator: Indicator, actor, data: dict) -> IndicatorActual:
    """The secretariat records a plan- or group-level actual with its date, source and estimate flag.

    Sub-project actuals come only from accepted quarterly reports.
    """
    if not access.can_record_actual(actor, indicator):
        raise PermissionDenied(access.NOT_SECRETARIAT_TO_RECORD_ACTUALS)
    if indicator.node_id and indicator.node.kind == NodeKind.SUBPROJECT:
        raise InvalidTransition(_("Sub-project actuals come only from accepted quarterly reports."))
    if indicator.measure == Measure.QUALITATIVE:
        if data.get("value") is not None:
            raise ValidationError({"value": [_("A qualitative indicator takes text, not a number.")]})
        if not data.get("text", "").strip():
            raise ValidationError({"text": [_("A qualitative indicator needs its result in words.")]})
    elif data.get("value") is None:
        raise ValidationError({"value": [_("This indicator needs a numeric value.")]})
    actual, _created = IndicatorActual.objects.update_or_create(
        indicator=indicator,
        year=data["year"],
        quarter=data.get("quarter", 0),
        defaults={
            "value": data.get("value"),
            "text": data.get("text", ""),
            "is_estimate": data.get("is_estimate", False),
            "as_of": data.get("as_of"),
            "source": data.get("source", ""),
            "recorded_by": actor,
        },
    )
    actual.full_clean()
    Indicator.objects.filter(pk=indicator.pk).update(updated_at=actual.recorded_at)
    return actual


@transaction.atomic
def outline_import(
    *,
    document: OutlineDocument,
    plan_code: str | None = None,
    prune: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Write a whole outline, in one transaction: its plan tree (``projects.services.plan_tree_import``),
    then the overall indicators (總體指標) and the groups' performance targets it states."""
    result = plan_tree_import(document=document, plan_code=plan_code, prune=prune, progress=progress)
    result.add(overall_indicators_upsert(plan=result.plan, rows=document.indicators))
    result.add(group_targets_upsert(plan=result.plan, rows=document.group_targets, groups=result.nodes))
    return result
