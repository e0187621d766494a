"""Milestones (查核點) on a timeline."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from gstp.calendar import format_date

from .svg import coord, join_parts, legend, marker, shortened, svg


def milestone_timeline(
    milestones: Sequence,
    *,
    start: datetime.date,
    end: datetime.date,
    today: datetime.date,
    chart_id: str,
    title: str,
    originals: dict[int, datetime.date] | None = None,
) -> SafeString:
    """Each milestone on its own row: planned date (diamond), done (filled circle) or forecast (hollow
    circle), joined by a line when they differ; a vertical line marks today. ``originals`` (by milestone id):
    the planned dates of the original plan (原計畫), drawn as a grey diamond where a revision moved them."""
    planned_label, done_label, forecast_label = _("Planned"), _("Completed"), _("Forecast")
    original_label = _("Original plan")
    originals = {
        pk: day
        for pk, day in (originals or {}).items()
        if day and any(m.pk == pk and m.planned_date != day for m in milestones)
    }
    dates = [start, end, today, *originals.values()]
    for milestone in milestones:
        dates += [d for d in (milestone.planned_date, milestone.forecast_date, milestone.completed_on) if d]
    first, last = min(dates), max(dates)
    first, last = datetime.date(first.year, 1, 1), datetime.date(last.year, 12, 31)
    left, right, top, row_height = 200.0, 624.0, 46.0, 30.0
    span = (last - first).days or 1

    def x_of(day: datetime.date) -> float:
        return left + (right - left) * (day - first).days / span

    height = top + row_height * len(milestones) + 10
    keys = [
        ("mark--planned-date", planned_label, "diamond"),
        ("mark--done", done_label, "circle"),
        ("mark--forecast", forecast_label, "circle"),
    ]
    if originals:
        keys.append(("mark--original-date", original_label, "diamond"))
    parts = [legend(keys, y=14)]
    for year in range(first.year, last.year + 1):
        for quarter_month in (1, 4, 7, 10):
            day = datetime.date(year, quarter_month, 1)
            x = x_of(day)
            css = "grid grid--year" if quarter_month == 1 else "grid"
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" class="{3}"/>',
                    coord(x),
                    coord(top - 8),
                    coord(height - 6),
                    css,
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="tick">{}</text>', coord(x_of(datetime.date(year, 1, 1)) + 3), 34, year
            )
        )
    today_x = x_of(today)
    parts.append(
        format_html(
            '<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" class="today"/>'
            '<text x="{3}" y="{1}" class="tick today-label" text-anchor="end">{4}</text>',
            coord(today_x),
            coord(top - 8),
            coord(height - 6),
            coord(today_x - 3),
            _("Today"),
        )
    )
    descriptions = []
    for index, milestone in enumerate(milestones):
        y = top + index * row_height + row_height / 2
        name = milestone.title + (" ★" if milestone.is_critical else "")
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="label" text-anchor="end"><title>{}</title>{}</text>',
                coord(left - 10),
                coord(y + 4),
                name,
                shortened(name, 14),
            )
        )
        original = originals.get(milestone.pk)
        if original:
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" class="link--rebaselined"/>',
                    coord(x_of(original)),
                    coord(x_of(milestone.planned_date)),
                    coord(y),
                )
            )
            tip = f"{milestone.title}: {original_label} {format_date(original)}"
            parts.append(marker("diamond", x_of(original), y, "mark--original-date", tip))
        other = milestone.completed_on or milestone.forecast_date
        if other and other != milestone.planned_date:
            css = "link--done" if milestone.completed_on else "link--forecast"
            parts.append(
                format_html(
                    '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" class="{3}"/>',
                    coord(x_of(milestone.planned_date)),
                    coord(x_of(other)),
                    coord(y),
                    css,
                )
            )
        parts.append(
            marker(
                "diamond",
                x_of(milestone.planned_date),
                y,
                "mark--planned-date",
                f"{milestone.title}: {planned_label} {format_date(milestone.planned_date)}",
            )
        )
        text = f"{milestone.title}: {planned_label} {format_date(milestone.planned_date)}"
        if original:
            text += f" ({original_label} {format_date(original)})"
        if milestone.completed_on:
            tip = f"{milestone.title}: {done_label} {format_date(milestone.completed_on)}"
            parts.append(marker("circle", x_of(milestone.completed_on), y, "mark--done", tip))
            text += f", {done_label} {format_date(milestone.completed_on)}"
        elif milestone.forecast_date:
            tip = f"{milestone.title}: {forecast_label} {format_date(milestone.forecast_date)}"
            parts.append(marker("circle", x_of(milestone.forecast_date), y, "mark--forecast", tip))
            text += f", {forecast_label} {format_date(milestone.forecast_date)}"
        descriptions.append(text)
    return svg(chart_id, title, "; ".join(descriptions), height, join_parts(parts))
