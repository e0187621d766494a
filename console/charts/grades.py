"""Published grades (年度考評等第) as stacked bars: for each group or agency, its sub-projects by grade."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

from .svg import coord, join_parts, legend, shortened, svg

# Shades from the best grade to the lowest: told apart by lightness, readable in grey.
SHADES = 4


def grade_bars(rows: Sequence[dict], grades: Sequence[str], *, chart_id: str, title: str) -> SafeString:
    """One stacked bar per row (``{"label", "grades": {grade: count}, "total"}``), grades in ``grades``' order."""
    chart_width = 440
    label_width, bar_x, bar_width, row_height = 112.0, 120.0, 280.0, 26.0
    top = 26.0
    height = top + row_height * len(rows) + 8
    widest = max((row["total"] for row in rows), default=0) or 1
    css = {grade: f"seg grade--{min(index, SHADES - 1)}" for index, grade in enumerate(grades)}
    parts = [legend([(css[grade], grade, "box") for grade in grades], y=14)]
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="label" text-anchor="end"><title>{}</title>{}</text>',
                coord(label_width),
                coord(y + 14),
                row["label"],
                shortened(row["label"], 8),
            )
        )
        x = bar_x
        for grade in grades:
            count = row["grades"].get(grade, 0)
            if not count:
                continue
            width = bar_width * count / widest
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="18" class="{}"><title>{}</title></rect>',
                    coord(x),
                    coord(y + 2),
                    coord(width),
                    css[grade],
                    f"{row['label']}: {grade} {count}",
                )
            )
            if width >= 18:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" class="count" text-anchor="middle">{}</text>',
                        coord(x + width / 2),
                        coord(y + 15),
                        count,
                    )
                )
            x += width
        parts.append(
            format_html('<text x="{}" y="{}" class="total">{}</text>', coord(x + 6), coord(y + 15), row["total"])
        )
    desc = "; ".join(
        f"{row['label']}: " + ", ".join(f"{grade} {row['grades'].get(grade, 0)}" for grade in grades) for row in rows
    )
    return svg(chart_id, title, desc, height, join_parts(parts), width=chart_width)
