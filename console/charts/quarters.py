"""A sub-project's quarters: cumulative progress as lines, budget execution as bars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from reviews.models import executed, execution_rate

from .svg import coord, join_parts, legend, marker, number_text, svg


@dataclass(frozen=True)
class QuarterFigures:
    period: str
    planned_progress: Decimal | None
    actual_progress: Decimal | None
    budget_allocated: Decimal | None
    budget_spent: Decimal | None
    budget_payables: Decimal | None = None
    budget_savings: Decimal | None = None

    @property
    def budget_executed(self) -> Decimal | None:
        """What the execution rate counts as executed: spent, payables and savings."""
        return executed(spent=self.budget_spent, payables=self.budget_payables, savings=self.budget_savings)

    @property
    def execution(self) -> Decimal | None:
        return execution_rate(
            spent=self.budget_spent,
            payables=self.budget_payables,
            savings=self.budget_savings,
            allocated=self.budget_allocated,
        )


PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 56.0, 624.0, 40.0, 250.0


def _x_positions(count: int) -> list[float]:
    step = (PLOT_RIGHT - PLOT_LEFT) / max(count, 1)
    return [PLOT_LEFT + step * (index + 0.5) for index in range(count)]


def _y(value, top_value) -> float:
    return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * float(value) / float(top_value)


def _axes(periods: Sequence[str], ticks: Sequence, top_value, tick_label) -> SafeString:
    parts = []
    for tick in ticks:
        y = _y(tick, top_value)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
                '<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>',
                coord(PLOT_LEFT),
                coord(PLOT_RIGHT),
                coord(y),
                coord(y),
                coord(PLOT_LEFT - 6),
                coord(y + 4),
                tick_label(tick),
            )
        )
    for x, period in zip(_x_positions(len(periods)), periods, strict=True):
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>',
                coord(x),
                coord(PLOT_BOTTOM + 18),
                period,
            )
        )
    parts.append(
        format_html(
            '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" class="axis"/>',
            coord(PLOT_LEFT),
            coord(PLOT_RIGHT),
            coord(PLOT_BOTTOM),
        )
    )
    return join_parts(parts)


def progress_lines(quarters: Sequence[QuarterFigures], *, chart_id: str, title: str) -> SafeString:
    """Planned (dashed, squares) and actual (solid, circles) cumulative progress, 0 to 100 %."""
    planned_label, actual_label = _("Planned cumulative progress"), _("Actual cumulative progress")
    xs = _x_positions(len(quarters))
    parts = [
        legend([("line--planned", planned_label, "dash"), ("line--actual", actual_label, "line")], y=16),
        _axes([q.period for q in quarters], (0, 25, 50, 75, 100), 100, lambda tick: f"{tick}%"),
    ]
    for attribute, css, shape in (("planned_progress", "planned", "square"), ("actual_progress", "actual", "circle")):
        points = [(x, getattr(q, attribute), q.period) for x, q in zip(xs, quarters, strict=True)]
        points = [(x, value, period) for x, value, period in points if value is not None]
        if len(points) > 1:
            line = " ".join(f"{coord(x)},{coord(_y(value, 100))}" for x, value, _period in points)
            parts.append(format_html('<polyline points="{}" class="line--{}"/>', line, css))
        label = planned_label if css == "planned" else actual_label
        for x, value, period in points:
            tip = f"{period} {label}: {number_text(value)}%"
            parts.append(marker(shape, x, _y(value, 100), f"mark--{css}", tip))
    for x, quarter in zip(xs, quarters, strict=True):
        if quarter.actual_progress is not None:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" class="value" text-anchor="middle">{}%</text>',
                    coord(x),
                    coord(_y(quarter.actual_progress, 100) - 9),
                    number_text(quarter.actual_progress, 1),
                )
            )
    desc = "; ".join(
        f"{q.period}: {planned_label} {number_text(q.planned_progress)}%, "
        f"{actual_label} {number_text(q.actual_progress)}%"
        for q in quarters
    )
    return svg(chart_id, title, desc, PLOT_BOTTOM + 28, join_parts(parts))


def _nice_top(value: Decimal) -> Decimal:
    """A round axis maximum at or above ``value``: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= magnitude * step:
            return magnitude * step
    return magnitude * 10


def budget_bars(quarters: Sequence[QuarterFigures], *, chart_id: str, title: str) -> SafeString:
    """Budget allocated (outlined) and executed (filled: spent, payables and savings) to date by quarter, in
    millions of TWD, with the execution rate over each pair."""
    allocated_label, spent_label = _("Allocated to date"), _("Executed to date (spent, payables, savings)")
    millions = Decimal(1_000_000)
    highest = max((q.budget_allocated or 0 for q in quarters), default=0)
    highest = max([highest, *(q.budget_executed or 0 for q in quarters)])
    top = _nice_top(Decimal(highest) / millions)
    ticks = [top * share / 5 for share in range(6)]
    xs = _x_positions(len(quarters))
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(quarters), 1)
    bar = min(26.0, slot * 0.36)
    parts = [
        legend([("bar--allocated", allocated_label, "box"), ("bar--spent", spent_label, "box")], y=16),
        _axes([q.period for q in quarters], ticks, top, lambda tick: number_text(tick, 1)),
        format_html('<text x="4" y="{}" class="tick">{}</text>', coord(PLOT_TOP - 8), _("TWD million")),
    ]
    for x, quarter in zip(xs, quarters, strict=True):
        for offset, value, css, label in (
            (-bar - 1, quarter.budget_allocated, "bar--allocated", allocated_label),
            (1, quarter.budget_executed, "bar--spent", spent_label),
        ):
            if value is None:
                continue
            y = _y(Decimal(value) / millions, top)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{} {}: {}</title></rect>',
                    coord(x + offset),
                    coord(y),
                    coord(bar),
                    coord(PLOT_BOTTOM - y),
                    css,
                    quarter.period,
                    label,
                    number_text(value),
                )
            )
        if quarter.execution is not None:
            y = _y(Decimal(max(quarter.budget_allocated or 0, quarter.budget_executed or 0)) / millions, top)
            parts.append(
                format_html(
                    '<text x="{}" y="{}" class="value" text-anchor="middle">{}%</text>',
                    coord(x),
                    coord(y - 5),
                    number_text(quarter.execution, 1),
                )
            )
    desc = "; ".join(
        f"{q.period}: {allocated_label} {number_text(q.budget_allocated)}, {spent_label} "
        f"{number_text(q.budget_executed)} ({number_text(q.execution, 1)}%)"
        for q in quarters
    )
    return svg(chart_id, title, desc, PLOT_BOTTOM + 28, join_parts(parts))
