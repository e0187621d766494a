import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gstp.calendar import Calendar, parse_year
from reviews.annual import ReportPlanError, annual_report_build, annual_report_plan, publication_reader
from reviews.annual.formats import FORMATS


def _year(text: str) -> int:
    try:
        return parse_year(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Command(BaseCommand):
    help = gettext_lazy(
        "Write a draft of the year's results report (階段成果報告) as a Word document or Markdown: "
        "the overall indicators, each group's targets, sub-projects' accepted progress and indicators, "
        "and the year's lag flags."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = str(self.help)  # argparse formats plain strings, not lazy translations
        return parser

    def add_arguments(self, parser):
        parser.add_argument(
            "--year", type=_year, required=True, help=_("The year to report on (2024, or 113 in the ROC calendar)")
        )
        parser.add_argument("--format", default="docx", help=_("docx (default) or md"))
        parser.add_argument("--plan", help=_("The plan's code (default: the plan covering the year)"))
        parser.add_argument(
            "--calendar",
            choices=Calendar.values,
            help=_("gregorian (2024, 2024Q3) or roc (113, 113年第3季); default: the plan's"),
        )
        parser.add_argument(
            "--output",
            help=_("File to write (default: Markdown to standard output, a .docx named after the report)"),
        )

    def handle(self, *args, year, plan, output, calendar, **options):
        chosen = FORMATS.get(options["format"])
        if chosen is None:
            raise CommandError(_("Unknown format %(format)s: use docx or md.") % {"format": options["format"]})
        reader = publication_reader()
        try:
            plan_obj = annual_report_plan(user=reader, year=year, code=plan)
        except ReportPlanError as exc:
            raise CommandError(str(exc)) from exc
        report = annual_report_build(plan=plan_obj, year=year, user=reader, calendar=calendar)
        content = chosen.render(report)
        if output is None and chosen.extension == "md":
            self.stdout.write(content.decode(), ending="")
            return
        path = Path(output or report.filename(chosen.extension))
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise CommandError(_("Cannot write %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) from exc
        written = _("Wrote %(path)s (%(size)s bytes).") % {"path": path, "size": len(content)}
        self.stdout.write(self.style.SUCCESS(written))
