"""Writes to indicators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from projects.models import Plan

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
        return instance
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.full_clean()
        instance.save()
        result.updated += 1
    else:
        result.unchanged += 1
    return instance


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


def indicator_actual_record(*, indicator: Indicator, year: int, quarter: int, value=None, text="", source="") -> None:
    """Record an actual (達成值) for a period, replacing an earlier one for the same period."""
    IndicatorActual.objects.update_or_create(
        indicator=indicator,
        year=year,
        quarter=quarter,
        defaults={"value": value, "text": text, "source": source, "is_estimate": False},
    )
