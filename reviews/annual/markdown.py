"""The annual report as Markdown: the title as the one ``#`` heading, the report's chapters as ``##``."""

from __future__ import annotations

import re

from .document import AnnualReport, BulletList, Chart, Heading, Paragraph, Row, Table
from .wording import display_width, number_text

MEDIA_TYPE = "text/markdown; charset=utf-8"
BAR_WIDTH = 20  # characters for the largest figure
FULL_BLOCK = "█"
PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉"  # an eighth of a block more each


def render_markdown(report: AnnualReport) -> str:
    parts = [f"# {_inline(report.title)} {_inline(report.subtitle)}", *(_paragraph(line) for line in report.byline)]
    for block in report.blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * min(block.level + 1, 6)} {_inline(block.text)}")
        elif isinstance(block, Paragraph):
            parts.append(_paragraph(block.text))
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, BulletList):
            parts.append("\n".join(f"- {_inline(item)}" for item in block.items))
        elif isinstance(block, Chart):
            parts += [_table(_figures(block)), _bars(block)]
    return "\n\n".join(parts) + "\n"


def _table(table: Table) -> str:
    lines = []
    if table.caption:
        lines += [f"**{_inline(table.caption)}**", ""]
    lines.append(_row(_cell(column) for column in table.columns))
    lines.append(_row(["---"] * len(table.columns)))
    for row in table.rows:
        if row.is_section:
            cells = [f"**{_cell(row.cells[0])}**", *[""] * (len(table.columns) - 1)]
        else:
            cells = [_cell(cell) for cell in row.cells]
        lines.append(_row(cells))
    return "\n".join(lines)


def _figures(chart: Chart) -> Table:
    """A chart's figures as a table: a row a category, a column a series."""
    return Table(
        columns=(chart.category_label, *(series.name for series in chart.series)),
        rows=tuple(
            Row((category, *(number_text(series.values[index]) for series in chart.series)))
            for index, category in enumerate(chart.categories)
        ),
        caption=chart.caption or chart.title,
    )


def _bars(chart: Chart) -> str:
    """A chart drawn in text, a line a bar (優等 ████ 12; with several series, the series' name after the
    category's), in a code block so that the bars line up."""
    largest = max(max(series.values) for series in chart.series)
    lines = []
    for index, category in enumerate(chart.categories):
        for place, series in enumerate(chart.series):
            label = [" ".join(category.split()) if place == 0 else ""]
            if len(chart.series) > 1:
                label.append(" ".join(series.name.split()))
            lines.append((label, _bar(series.values[index], largest), number_text(series.values[index])))
    widths = [max(display_width(label[column]) for label, _, _ in lines) for column in range(len(lines[0][0]))]
    text = "\n".join(
        " ".join(
            part
            for part in (
                *(text + " " * (width - display_width(text)) for text, width in zip(label, widths, strict=True)),
                bar,
                figure,
            )
            if part
        )
        for label, bar, figure in lines
    )
    fence = "`" * max(3, max((len(run) + 1 for run in re.findall("`+", text)), default=0))
    return f"{fence}\n{text}\n{fence}"


def _bar(value, largest) -> str:
    if value <= 0 or largest <= 0:
        return ""
    eighths = round(value / largest * BAR_WIDTH * 8)
    full, rest = divmod(max(eighths, 1), 8)
    return (FULL_BLOCK * full + PARTIAL_BLOCKS[rest]).rstrip()


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    """Text on one line, its characters that Markdown reads as markup escaped."""
    text = " ".join(text.split())
    for character in ("\\", "*", "_", "`", "<", ">", "[", "]"):
        text = text.replace(character, "\\" + character)
    return text


def _paragraph(text: str) -> str:
    """A paragraph that Markdown will not read as a heading or a list item."""
    text = _inline(text)
    if text[:1] in ("#", "+", "-"):
        return "\\" + text
    number, dot, rest = text.partition(". ")
    if dot and number.isdigit():
        return f"{number}\\. {rest}"
    return text
