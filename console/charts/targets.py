"""Indicators against their targets: a bar for the result, a marker for the target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .svg import coord, join_parts, legend, number_text, shortened, svg


@dataclass(frozen=True)
class TargetRow:
    name: str
    unit: str
    result: Decimal | None
    result_note: str  # the year of the result, and whether it is an estimate
    target: Decimal | None
    target_note: str


def target_bars(rows: Sequence[TargetRow], *, chart_id: str, title: str) -> SafeString:
    """One bar per indicator: the result, each on its own scale, with its target as a marker line; the
    result in words in a column of its own, clear of the marker."""
    left, right, top, row_height = 200.0, 470.0, 30.0, 46.0
    target_label, result_label = _("Target"), _("Result")
    height = top + row_height * len(rows) + 4
    parts = [
        legend([("bar--result", result_label, "box"), ("target", target_label, "line")], y=14),
    ]
    descriptions = []
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="label" text-anchor="end"><title>{}</title>{}</text>',
                coord(left - 10),
                coord(y + 18),
                row.name,
                shortened(row.name, 14),
            )
        )
        known = [value for value in (row.result, row.target) if value is not None]
        scale = max(known) * Decimal("1.15") if known and max(known) > 0 else Decimal(1)

        def x_of(value, scale=scale):
            return left + (right - left) * float(Decimal(value) / scale)

        unit = f" {row.unit}" if row.unit else ""
        if row.result is not None:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="16" class="bar--result"><title>{}: {}{}</title></rect>'
                    '<text x="{}" y="{}" class="value">{}{} {}</text>',
                    coord(left),
                    coord(y + 6),
                    coord(max(x_of(row.result) - left, 1)),
                    result_label,
                    number_text(row.result),
                    unit,
                    coord(right + 8),
                    coord(y + 18),
                    number_text(row.result),
                    unit,
                    row.result_note,
                )
            )
        if row.target is not None:
            x = x_of(row.target)
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" class="target"><title>{3}: {4}{5}</title></line>'
                    '<text x="{0}" y="{6}" class="tick" text-anchor="middle">{3} {4}{5}</text>',
                    coord(x),
                    coord(y + 1),
                    coord(y + 27),
                    target_label,
                    number_text(row.target),
                    unit,
                    coord(y + 40),
                )
            )
        descriptions.append(
            f"{row.name}: {result_label} {number_text(row.result)}{unit} {row.result_note}; "
            f"{target_label} {number_text(row.target)}{unit} {row.target_note}"
        )
    return svg(chart_id, title, "; ".join(descriptions), height, join_parts(parts))
