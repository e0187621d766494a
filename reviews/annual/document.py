"""The annual report (階段成果報告) as a renderer-independent outline: headings, paragraphs, tables and lists.

The structure follows the programme's published results report: a title page, the overall indicators
(總體指標), then each group (分組) in plan order with its performance targets and, section by section,
its measures and sub-projects with their lead agencies in 【】, the year's accepted progress and indicator
results; and last the year's lag flags. ``markdown`` and ``docx`` lay the same outline out.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from gstp.calendar import format_period, format_quarter, format_year, override
from indicators.models import Direction, Measure
from indicators.selectors import indicator_evaluate
from indicators.semantics import Status, target_reached
from projects.models import NodeKind, Plan, PlanNode

from ..models import ACTIVE_STATUSES, LagRule, Severity
from ..periods import today
from . import texts
from .chapters import chapters_build
from .selectors import AnnualData, FlagRow, annual_report_data
from .wording import (
    agencies_tag,
    capital_numeral,
    chinese_numeral,
    date_text,
    evidence_text,
    money_text,
    number_text,
    numbered,
    percent_text,
)


@dataclass(frozen=True)
class Heading:
    level: int  # 1 for 壹、 and the groups, 2 for 一、, 3 for (一), and so on down the tree
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    is_section: bool = False  # one label across the whole row (the overall table's 面向)


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    caption: str = ""


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[Decimal | int, ...]  # one a category, in the chart's order


@dataclass(frozen=True)
class Chart:
    """A bar chart: for each category (優等, 甲等, …) one bar a series (the groups, say)."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    category_label: str = ""  # the categories' axis title, and the head of the figures' first column
    value_label: str = ""  # the values' axis title
    caption: str = ""  # set above the chart, as a table's caption

    def __post_init__(self):
        if not self.categories or not self.series:
            raise ValueError("A chart has at least one category and one series.")
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(
                    f"Series {series.name!r} has {len(series.values)} values for {len(self.categories)} categories."
                )


Block = Heading | Paragraph | Table | BulletList | Chart


@dataclass
class AnnualReport:
    plan: Plan
    year: int
    generated_on: datetime.date
    title: str
    subtitle: str
    byline: tuple[str, ...]
    blocks: list[Block] = field(default_factory=list)

    def filename(self, extension: str) -> str:
        return f"{self.plan.code}-{self.year}-{texts.REPORT_NAME}.{extension}"

    def ascii_filename(self, extension: str) -> str:
        """For clients that do not read RFC 5987 file names."""
        return f"{self.plan.code}-{self.year}-annual-report.{extension}"


def annual_report_build(
    *, plan: Plan, year: int, user, generated_on: datetime.date | None = None, calendar: str | None = None
) -> AnnualReport:
    """The year's report draft for ``plan``, as ``user`` may see it, in a fixed number of queries; its years,
    dates and quarters in ``calendar`` (``gstp.calendar``; by default the plan's)."""
    with override(calendar or plan.calendar):
        return _build(plan=plan, year=year, user=user, generated_on=generated_on)


def _build(*, plan: Plan, year: int, user, generated_on: datetime.date | None) -> AnnualReport:
    data = annual_report_data(plan=plan, year=year, user=user)
    generated_on = generated_on or today()
    report = AnnualReport(
        plan=plan,
        year=year,
        generated_on=generated_on,
        title=texts.TITLE.format(plan=plan.name, start=format_year(plan.start_year), end=format_year(plan.end_year)),
        subtitle=texts.SUBTITLE.format(year=format_year(year)),
        byline=tuple(
            line
            for line in (
                texts.COMPILED_BY.format(secretariat=plan.secretariat) if plan.secretariat else "",
                texts.GENERATED_ON.format(day=date_text(generated_on)),
            )
            if line
        ),
    )
    builder = _Builder(data, report.blocks)
    builder.build()
    report.blocks.extend(chapters_build(plan=plan, year=year, user=user, first_number=builder.chapters + 1))
    return report


class _Builder:
    def __init__(self, data: AnnualData, blocks: list[Block]):
        self.data = data
        self.year = data.year
        self.year_text = format_year(self.year)
        self.blocks = blocks
        self.children: dict[int | None, list[PlanNode]] = defaultdict(list)
        for node in data.nodes:
            self.children[node.parent_id].append(node)
        for siblings in self.children.values():
            siblings.sort(key=lambda node: (node.position, node.path))
        self.groups = [node for node in self.children[None] if node.kind == NodeKind.GROUP]
        self.group_of = {node.pk: _root_id(node) for node in data.nodes}
        self.nodes = {node.pk: node for node in data.nodes}
        self.year_end = datetime.date(self.year, 12, 31)
        self.order: dict[int, int] = {}  # a node's place in the plan tree, read top to bottom
        pending = list(reversed(self.children[None]))
        while pending:
            node = pending.pop()
            self.order[node.pk] = len(self.order)
            pending.extend(reversed(self.children[node.pk]))

    def build(self) -> None:
        self.blocks.append(Paragraph(texts.DRAFT_NOTE.format(year=self.year_text, report=texts.REPORT_NAME)))
        self._foreword()
        for index, group in enumerate(self.groups, start=2):
            self._group(group, number=group.number or capital_numeral(index))
        self._flags(number=capital_numeral(self.chapters))

    @property
    def chapters(self) -> int:
        """How many chapters the report has of its own: the foreword, the groups and the flags."""
        return len(self.groups) + 2

    # -- 壹、前言: the plan at a glance and the overall indicators

    def _foreword(self) -> None:
        self.blocks.append(Heading(1, numbered(capital_numeral(1), texts.FOREWORD)))
        subprojects = [node for node in self.data.nodes if node.kind == NodeKind.SUBPROJECT]
        severities = Counter(flag.severity for flag in self.data.flags)
        self.blocks.append(
            Paragraph(
                texts.OVERVIEW.format(
                    year=self.year_text,
                    groups=len(self.groups),
                    subprojects=len(subprojects),
                    reported=sum(1 for node in subprojects if node.pk in self.data.reports),
                    flags=len(self.data.flags),
                    red=severities[Severity.RED],
                    yellow=severities[Severity.YELLOW],
                )
            )
        )
        self.blocks.append(Heading(2, numbered(chinese_numeral(1), texts.OVERALL)))
        rows = self.data.overall
        target_year = max((row.target_year for row in rows if row.target_year), default=self.data.plan.end_year)
        self.blocks.append(
            Paragraph(texts.OVERALL_INTRO.format(target_year=format_year(target_year), year=self.year_text))
        )
        table_rows: list[Row] = []
        dimension = None
        for row in rows:
            if row.indicator.dimension and row.indicator.dimension != dimension:
                dimension = row.indicator.dimension
                table_rows.append(Row((dimension,), is_section=True))
            unit = row.indicator.unit
            actual = _actual_of_year(row.indicator, self.year)
            result = texts.NOT_AVAILABLE
            met = texts.NOT_AVAILABLE
            if actual is not None:
                result = number_text(actual.value, unit) + (texts.ESTIMATE if actual.is_estimate else "")
                if row.target is not None:
                    lower = row.indicator.direction == Direction.LOWER
                    reached = target_reached(actual.value, row.target, lower_is_better=lower)
                    met = texts.MET if reached else texts.NOT_MET
            target = texts.NOT_AVAILABLE if row.target is None else number_text(row.target, unit)
            if row.target_year is not None and row.target_year != target_year:
                target = texts.TARGET_OF_YEAR.format(value=target, year=format_year(row.target_year))
            table_rows.append(Row((row.indicator.name, target, result, met)))
        self.blocks.append(
            Table(
                columns=tuple(
                    column.format(target_year=format_year(target_year), year=self.year_text)
                    for column in texts.OVERALL_COLUMNS
                ),
                rows=tuple(table_rows),
                caption=texts.OVERALL_CAPTION.format(plan=self.data.plan.name, year=self.year_text),
            )
        )

    # -- 貳、… the groups

    def _group(self, group: PlanNode, *, number: str) -> None:
        heading = texts.GROUP_HEADING.format(title=group.title)
        if group.convening_agency_id:
            heading += texts.CONVENING.format(agency=group.convening_agency.name)
        self.blocks.append(Heading(1, numbered(number, heading)))
        children = self.children[group.pk]
        summary_number = "" if any(child.number == chinese_numeral(1) for child in children) else chinese_numeral(1)
        name = group.title.removesuffix("分組")
        self.blocks.append(
            Heading(2, numbered(summary_number, texts.GROUP_SUMMARY.format(year=self.year_text, name=name)))
        )
        subprojects = [
            node for node in self.data.nodes if node.kind == NodeKind.SUBPROJECT and self.group_of[node.pk] == group.pk
        ]
        flags = [flag for flag in self.data.flags if self.group_of.get(flag.node_id) == group.pk]
        severities = Counter(flag.severity for flag in flags)
        self.blocks.append(
            Paragraph(
                texts.GROUP_OVERVIEW.format(
                    group=group.title,
                    year=self.year_text,
                    subprojects=len(subprojects),
                    reported=sum(1 for node in subprojects if node.pk in self.data.reports),
                    flags=len(flags),
                    red=severities[Severity.RED],
                    yellow=severities[Severity.YELLOW],
                )
            )
        )
        targets = self.data.indicators.get(group.pk, [])
        if targets:
            self.blocks.append(
                Paragraph(texts.GROUP_TARGETS_INTRO.format(group=group.title, count=len(targets), year=self.year_text))
            )
            rows = []
            for index, indicator in enumerate(targets, start=1):
                target, actual, status = self._indicator_cells(indicator)
                rows.append(
                    Row((texts.GROUP_TARGET_NUMBER.format(number=index), indicator.name, target, actual, status))
                )
            self.blocks.append(Table(columns=texts.GROUP_TARGET_COLUMNS, rows=tuple(rows)))
        for child in children:
            self._node(child, level=2)

    def _node(self, node: PlanNode, *, level: int) -> None:
        title = node.title
        if node.kind == NodeKind.SUBPROJECT:
            title += agencies_tag(node)
        self.blocks.append(Heading(level, numbered(node.number, title)))
        children = self.children[node.pk]
        if node.kind == NodeKind.MEASURE and any(child.kind == NodeKind.SUBPROJECT for child in children):
            self.blocks.append(Paragraph(texts.MEASURE_INTRO.format(year=self.year_text)))
        if node.kind == NodeKind.SUBPROJECT:
            self._progress(node)
        elif not children:
            self.blocks.append(Paragraph(texts.NO_SUBPROJECTS))
        self._indicators(node)
        for child in children:
            self._node(child, level=level + 1)

    def _progress(self, node: PlanNode) -> None:
        report = self.data.reports.get(node.pk)
        if report is None:
            self.blocks.append(Paragraph(texts.NO_ACCEPTED_REPORT.format(year=self.year_text)))
            return
        gap = ""
        if report.planned_progress is not None and report.actual_progress is not None:
            difference = report.actual_progress - report.planned_progress
            if difference < 0:
                gap = texts.PROGRESS_BEHIND.format(points=number_text(-difference))
            elif difference > 0:
                gap = texts.PROGRESS_AHEAD.format(points=number_text(difference))
        self.blocks.append(
            Paragraph(
                texts.PROGRESS.format(
                    period=format_period(report.period),
                    planned=percent_text(report.planned_progress),
                    actual=percent_text(report.actual_progress),
                    gap=gap,
                    rate=percent_text(report.execution_rate),
                    spent=money_text(report.budget_spent),
                    payables=money_text(report.budget_payables or 0),
                    savings=money_text(report.budget_savings or 0),
                    allocated=money_text(report.budget_allocated),
                )
            )
        )
        for template, text in (
            (texts.ACHIEVEMENTS, report.achievements),
            (texts.DELAY_REASONS, report.delay_reasons),
            (texts.COUNTERMEASURES, report.countermeasures),
        ):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                self.blocks.append(Paragraph(template.format(text=lines[0])))
                self.blocks.extend(Paragraph(line) for line in lines[1:])
        # A report reopened for correction shows the figures it was accepted with, and says so.
        reopened_on = date_text(timezone.localdate(report.reopened_at)) if report.reopened_at else texts.NOT_AVAILABLE
        if report.is_reopened:
            reason = " ".join(line.strip() for line in report.reopen_reason.splitlines() if line.strip())
            self.blocks.append(Paragraph(texts.REOPENED.format(day=reopened_on, reason=reason or texts.NOT_AVAILABLE)))
        elif report.is_corrected:
            self.blocks.append(Paragraph(texts.CORRECTED.format(day=reopened_on)))

    def _indicators(self, node: PlanNode) -> None:
        indicators = self.data.indicators.get(node.pk, [])
        if not indicators:
            return
        rows = tuple(Row((indicator.name, *self._indicator_cells(indicator))) for indicator in indicators)
        columns = tuple(column.format(year=self.year_text) for column in texts.INDICATOR_COLUMNS)
        self.blocks.append(Table(columns=columns, rows=rows))

    def _indicator_cells(self, indicator) -> tuple[str, str, str]:
        """Target, the year's actual and whether it is met, at the year's end."""
        if indicator.measure == Measure.QUALITATIVE:
            actual = _actual_of_year(indicator, self.year, numeric=False)
            text = actual.text.strip() if actual is not None else ""
            return texts.NOT_AVAILABLE, text or texts.NOT_AVAILABLE, texts.STATUS[Status.QUALITATIVE]
        evaluation = indicator_evaluate(indicator, on=self.year_end)
        target = texts.NOT_AVAILABLE
        if evaluation.target is not None:
            target = number_text(evaluation.target, indicator.unit)
            if evaluation.target_year != self.year:
                target = texts.TARGET_OF_YEAR.format(value=target, year=format_year(evaluation.target_year))
        actual = texts.NOT_AVAILABLE if evaluation.actual is None else number_text(evaluation.actual, indicator.unit)
        status = texts.STATUS[evaluation.status]
        due = evaluation.target_year is not None and evaluation.target_year <= self.year
        if due and evaluation.status not in (Status.MET, Status.NO_DATA):
            status = texts.NOT_MET  # the target fell due by the year's end: missed, however close
        return target, actual, status

    # -- the year's flags

    def _flags(self, *, number: str) -> None:
        self.blocks.append(Heading(1, numbered(number, texts.FLAGS.format(year=self.year_text))))
        flags = self.data.flags
        if not flags:
            self.blocks.append(Paragraph(texts.NO_FLAGS.format(year=self.year_text)))
            return
        self.blocks.append(Heading(2, numbered(chinese_numeral(1), texts.FLAG_COUNTS)))
        self.blocks.append(Paragraph(texts.FLAG_COUNTS_INTRO.format(year=self.year_text)))
        counts = Counter((self.group_of.get(flag.node_id), flag.severity, flag.rule) for flag in flags)
        rules = list(LagRule)
        rows = []
        for group in self.groups:
            for severity in (Severity.YELLOW, Severity.RED):
                cells = [counts[(group.pk, severity, rule)] for rule in rules]
                rows.append(Row((group.title, texts.SEVERITIES[severity], *map(str, cells), str(sum(cells)))))
        for severity in (Severity.YELLOW, Severity.RED):
            cells = [sum(counts[(group.pk, severity, rule)] for group in self.groups) for rule in rules]
            rows.append(Row((texts.FLAG_TOTAL, texts.SEVERITIES[severity], *map(str, cells), str(sum(cells)))))
        columns = (*texts.FLAG_COUNT_COLUMNS, *(texts.RULES[rule] for rule in rules), texts.FLAG_TOTAL)
        self.blocks.append(Table(columns=columns, rows=tuple(rows)))

        self.blocks.append(Heading(2, numbered(chinese_numeral(2), texts.OPEN_RED_FLAGS)))
        red = sorted(
            (flag for flag in flags if flag.severity == Severity.RED and flag.status in ACTIVE_STATUSES),
            key=lambda flag: (self.order.get(flag.node_id, 0), flag.quarter, flag.rule),
        )
        if not red:
            self.blocks.append(Paragraph(texts.NO_OPEN_RED_FLAGS.format(year=self.year_text)))
            return
        self.blocks.append(Paragraph(texts.OPEN_RED_FLAGS_INTRO.format(year=self.year_text, count=len(red))))
        self.blocks.append(BulletList(tuple(self._red_flag_line(flag) for flag in red)))

    def _red_flag_line(self, flag: FlagRow) -> str:
        node = self.nodes[flag.node_id]
        group = self.nodes.get(self.group_of[flag.node_id])
        evidence = evidence_text(flag.rule, flag.evidence)
        return texts.RED_FLAG_LINE.format(
            group=group.title if group else "",
            project=numbered(node.number, node.title + agencies_tag(node)),
            rule=texts.RULES.get(flag.rule, flag.rule),
            period=format_quarter(self.year, flag.quarter),
            status=texts.FLAG_STATUSES.get(flag.status, flag.status),
            evidence=f"，{evidence}" if evidence else "",
        )


def _root_id(node: PlanNode) -> int:
    """The id of the group a node stands under: the first id in its materialized path."""
    return node.path_ids[0]


def _actual_of_year(indicator, year: int, *, numeric: bool = True):
    """The year's recorded actual: the whole year's, else its latest quarter's (prefetched rows)."""
    rows = [
        actual
        for actual in indicator.actuals.all()
        if actual.year == year and (actual.value is not None if numeric else bool(actual.text.strip()))
    ]
    if not rows:
        return None
    return max(rows, key=lambda actual: (actual.quarter == 0, actual.quarter))
