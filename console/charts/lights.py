"""Traffic lights (紅黃綠燈) as stacked bars."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .svg import coord, join_parts, legend, patterns, shortened, svg


def light_bars(rows: Sequence, *, chart_id: str, title: str) -> SafeString:
    """One stacked bar per unit: red, yellow and green sub-projects, to one scale."""
    chart_width = 440
    label_width, bar_x, bar_width, row_height = 112.0, 120.0, 280.0, 26.0
    red, yellow, green = _("Red"), _("Yellow"), _("Green")
    top = 26.0
    height = top + row_height * len(rows) + 8
    widest = max((row.total for row in rows), default=0) or 1
    parts = [
        patterns(chart_id),
        legend(
            [("seg seg--red", red, "box"), ("seg seg--yellow", yellow, "box"), ("seg seg--green", green, "box")],
            y=14,
            patterns={"seg seg--red": f"{chart_id}-hatch", "seg seg--yellow": f"{chart_id}-dots"},
        ),
    ]
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="label" text-anchor="end"><title>{}</title>{}</text>',
                coord(label_width),
                coord(y + 14),
                row.name,
                shortened(row.name, 8),
            )
        )
        x = bar_x
        for css, pattern, label, count in (
            ("seg--red", "hatch", red, row.red),
            ("seg--yellow", "dots", yellow, row.yellow),
            ("seg--green", "", green, row.green),
        ):
            if not count:
                continue
            width = bar_width * count / widest
            tip = f"{row.name}: {label} {count}"
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="18" class="seg {}"><title>{}</title></rect>',
                    coord(x),
                    coord(y + 2),
                    coord(width),
                    css,
                    tip,
                )
            )
            if pattern:
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="18" fill="url(#{}-{})" aria-hidden="true"/>',
                        coord(x),
                        coord(y + 2),
                        coord(width),
                        chart_id,
                        pattern,
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
        parts.append(format_html('<text x="{}" y="{}" class="total">{}</text>', coord(x + 6), coord(y + 15), row.total))
    desc = "; ".join(f"{row.name}: {red} {row.red}, {yellow} {row.yellow}, {green} {row.green}" for row in rows)
    return svg(chart_id, title, desc, height, join_parts(parts), width=chart_width)
