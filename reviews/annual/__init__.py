"""The annual report (階段成果報告): a draft of the year's results report, as Markdown or a Word document.

The apps above ``reviews`` add chapters to it (``chapters.register``) built of the blocks exported here."""

from ..access import publication_reader
from . import chapters
from .document import (
    AnnualReport,
    Block,
    BulletList,
    Chart,
    Heading,
    Paragraph,
    Row,
    Series,
    Table,
    annual_report_build,
)
from .selectors import ReportPlanError, annual_report_plan
from .wording import capital_numeral, chinese_numeral, number_text, numbered

__all__ = [
    "AnnualReport",
    "Block",
    "BulletList",
    "Chart",
    "Heading",
    "Paragraph",
    "ReportPlanError",
    "Row",
    "Series",
    "Table",
    "annual_report_build",
    "annual_report_plan",
    "capital_numeral",
    "chapters",
    "chinese_numeral",
    "number_text",
    "numbered",
    "publication_reader",
]
