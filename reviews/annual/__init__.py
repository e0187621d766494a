"""The annual report (階段成果報告): a draft of the year's results report, as Markdown or a Word document."""

from ..access import publication_reader
from .document import AnnualReport, annual_report_build
from .selectors import ReportPlanError, annual_report_plan

__all__ = ["AnnualReport", "ReportPlanError", "annual_report_build", "annual_report_plan", "publication_reader"]
