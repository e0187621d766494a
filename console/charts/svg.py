"""What every chart shares: the <svg> with its accessible name and description, legends, markers,
patterns and number formatting."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640


def number_text(value, max_places: int = 2) -> str:
    """A number as people write it: thousands separated, no trailing zeros."""
    if value is None:
        return "—"
    value = Decimal(value)
    places = min(max(-value.normalize().as_tuple().exponent, 0), max_places)
    return f"{value:,.{places}f}"


def join_parts(parts) -> SafeString:
    return mark_safe("".join(str(part) for part in parts))  # every part was built by format_html


def coord(value: float) -> str:
    return f"{value:.1f}"


def shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def svg(chart_id: str, title: str, desc: str, height: float, body, *, width: int = WIDTH) -> SafeString:
    """A chart with its accessible name and description. A wide chart keeps a minimum width on a phone
    (the page scrolls it sideways) so its labels stay readable."""
    css = "chart chart--wide" if width == WIDTH else "chart chart--compact"
    return format_html(
        '<svg class="{6}" id="{0}" role="img" aria-labelledby="{0}-title {0}-desc" viewBox="0 0 {1} {2}" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{0}-title">{3}</title><desc id="{0}-desc">{4}</desc>{5}</svg>',
        chart_id,
        width,
        coord(height),
        title,
        desc,
        body,
        css,
    )


def patterns(chart_id: str) -> SafeString:
    """Hatching for red and dots for yellow, so the two differ in grey too."""
    return format_html(
        '<defs><pattern id="{0}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="2" height="6" class="pattern-ink"/></pattern>'
        '<pattern id="{0}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<circle cx="3" cy="3" r="1.2" class="pattern-ink"/></pattern></defs>',
        chart_id,
    )


def legend(items, *, y: float, patterns: dict | None = None) -> SafeString:
    """items: (class, label, shape) with shape "box", "line", "dash", "circle", "square" or "diamond";
    ``patterns`` maps a box's class to the pattern drawn over it in the chart."""
    parts, x = [], 0.0
    for css, label, shape in items:
        if shape == "box":
            mark = format_html('<rect x="{}" y="{}" width="14" height="10" class="{}"/>', coord(x), coord(y - 9), css)
            if patterns and css in patterns:
                mark += format_html(
                    '<rect x="{}" y="{}" width="14" height="10" fill="url(#{})"/>',
                    coord(x),
                    coord(y - 9),
                    patterns[css],
                )
        elif shape in ("line", "dash"):
            mark = format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="{}"/>',
                coord(x),
                coord(x + 16),
                coord(y - 4),
                coord(y - 4),
                css,
            )
        else:
            mark = marker(shape, x + 7, y - 4, css)
        parts.append(mark)
        parts.append(format_html('<text x="{}" y="{}" class="legend">{}</text>', coord(x + 20), coord(y), label))
        x += 28 + 13 * len(label) if any(ord(c) > 0x2E80 for c in label) else 28 + 7 * len(label)
    return join_parts(parts)


def marker(shape: str, x: float, y: float, css: str, title: str = "") -> SafeString:
    tip = format_html("<title>{}</title>", title) if title else ""
    if shape == "square":
        return format_html(
            '<rect x="{}" y="{}" width="8" height="8" class="{}">{}</rect>', coord(x - 4), coord(y - 4), css, tip
        )
    if shape == "diamond":
        points = (
            f"{coord(x)},{coord(y - 6)} {coord(x + 6)},{coord(y)} {coord(x)},{coord(y + 6)} {coord(x - 6)},{coord(y)}"
        )
        return format_html('<polygon points="{}" class="{}">{}</polygon>', points, css, tip)
    return format_html('<circle cx="{}" cy="{}" r="5" class="{}">{}</circle>', coord(x), coord(y), css, tip)
