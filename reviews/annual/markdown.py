"""The annual report as Markdown: the title as the one ``#`` heading, the report's chapters as ``##``."""

from __future__ import annotations

from .document import AnnualReport, BulletList, Heading, Paragraph, Table

MEDIA_TYPE = "text/markdown; charset=utf-8"


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
