"""The scores GSTP suggests for a sub-project's year (年度考評), out of 100, from its own figures, each with the
evidence it was worked out from, so that a lead sees why before scoring and a secretariat officer can work
every score out again by hand.

One suggestion per quantitative criterion source (``CriterionSource``). Every figure in the evidence is a
string (numbers exactly as GSTP holds them, trailing zeros dropped) or an int, every date ISO 8601; every
score is rounded half up to two places, and kept between 0 and 100. ``evidence["basis"]`` names what the
score rests on, or, when there is no score (None), what was missing.

**progress** (計畫執行進度): the year's last quarterly report in force (accepted, or reopened with its accepted
figures standing: the fourth quarter's, else the latest of the year; monthly updates are working figures, as
in the annual report), its actual against its planned cumulative progress (the planned figure follows the
approved baseline; the evidence names the baseline version in force at the year's end)::

    gap = actual - planned                   (percentage points)
    score = 100                              when gap >= 0 (on or ahead of plan)
          = max(0, 100 - 4 x (-gap))         when behind: 4 points off per point behind

    e.g. planned 80, actual 72.5: gap -7.5, score 100 - 4 x 7.5 = 70.
    basis: "accepted_report"; none: "no_accepted_report", "no_progress_figures".

**budget** (經費執行): the execution rate by the government's formula (``reviews.models.execution_rate``) in the
same report, against the allocation to date of the sub-project's budget ledger, and the budget line of the
plan's lag settings for the sub-project's control level (``LagSettings.for_level``: yellow below 90 % unless
set otherwise)::

    rate = (spent + payables + savings) / allocated x 100, rounded half up to two places
    score = 100                              when rate >= line
          = max(0, 100 - 2 x (line - rate))  below it: 2 points off per point below the line

    e.g. spent 7,000,000, payables 500,000, savings 0, allocated 9,000,000, line 90:
    rate 7,500,000 / 9,000,000 x 100 = 83.33, score 100 - 2 x (90 - 83.33) = 86.66.
    basis: "accepted_report"; none: "no_accepted_report", "no_budget_spent", "no_allocation" (no ledger for
    the year, or nothing allocated to date: 0 cannot be divided by).

**targets** (目標達成): the sub-project's numeric indicators with a target for the whole year (qualitative ones
are judged by the reviewers), each evaluated at the year's end (``indicators.selectors.indicator_evaluate``):
met when its actual for the year reaches the target (at least it, or at most it for a lower-is-better
indicator); an indicator with no actual for the year is not met, except a cumulative one, whose latest actual
stands until a new one is recorded (a running total does not fall back)::

    score = 100 x met / indicators with a target for the year

    e.g. 2 met of 3: 100 x 2 / 3 = 66.67.
    basis: "indicators"; none: "no_indicator_with_target".

**management** (作業管理): half for reports on time, half for the year's lag flags::

    reports = 50 x on time / due             (50 when none was due yet)
    flags   = max(0, 50 - 5 x red - 2 x yellow - 10 x red without an improvement plan - months open)
    score   = reports + flags

    - due: the quarterly reports of the sub-project's quarters in the year that came in or whose due date
      has passed (a report's own due date; for a quarter with no report, the plan's due days as the control
      level sets them); on time: first submitted by its due date (a later return does not undo it; the
      flags count what followed);
    - flags: every flag of the year's quarters whatever its status now (a resolved or overridden flag was
      raised all the same), by its severity, except the ministry's overdue review (not the sub-project's);
      an improvement plan (改善措施) is a comment of that kind in a red flag's thread;
    - months open: for each flag, whole 30-day months from its opening to its resolution (to the day the
      suggestion is worked out while it is still open).

    e.g. 3 of 4 reports on time; one red flag with an improvement plan, open 75 days, one yellow flag open
    20 days: reports 50 x 3 / 4 = 37.5, flags 50 - 5 - 2 - 0 - (2 + 0) = 41, score 78.5.
    basis: "reports_and_flags"; none: "not_running_in_year" (no quarter of the year within its dates).

``suggestions`` reads everything for any number of sub-projects in a fixed number of queries.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from indicators.models import Direction
from indicators.selectors import indicator_evaluate, indicators_of_nodes
from indicators.semantics import Status, period_end
from projects.models import PlanNode
from reviews.models import CommentKind, FlagComment, LagFlag, QuarterlyReport, Severity, execution_rate
from reviews.periods import Quarter, quarters_between, today
from reviews.selectors import (
    LIGHT_EXCLUDED_RULES,
    NO_BASELINE,
    ReportFigures,
    baselines_of,
    latest_accepted_reports,
    plan_settings,
    subproject_quarters,
)

from .models import CriterionSource

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")

PROGRESS_POINTS_PER_POINT_BEHIND = Decimal(4)
BUDGET_POINTS_PER_POINT_BELOW = Decimal(2)
REPORTS_SHARE = Decimal(50)  # of management's 100: reports on time
FLAGS_SHARE = Decimal(50)  # and the year's flags
RED_FLAG_POINTS = Decimal(5)
YELLOW_FLAG_POINTS = Decimal(2)
NO_IMPROVEMENT_PLAN_POINTS = Decimal(10)  # more, for each red flag without an improvement plan
DAYS_PER_MONTH_OPEN = 30  # 1 point for each whole such month a flag stayed open

SOURCES = (CriterionSource.PROGRESS, CriterionSource.BUDGET, CriterionSource.TARGETS, CriterionSource.MANAGEMENT)


@dataclass(frozen=True)
class Suggestion:
    score: Decimal | None  # 0.00–100.00, two places (ROUND_HALF_UP); None when GSTP has no figure to go on
    evidence: dict  # JSON-able; always includes a "basis" key naming what was missing when score is None


def suggestions(nodes, year: int, *, on: datetime.date | None = None) -> dict[int, dict[str, Suggestion]]:
    """node id -> source value ("progress", "budget", "targets", "management") -> Suggestion, for every node given
    (sub-projects, PlanNode instances), in a fixed number of queries whatever the number of nodes.

    ``on`` (today in Asia/Taipei by default) is the day the suggestions are worked out: which reports are
    due by then, and how long a flag still open has been open. Nine queries (fewer without indicators, one
    more when a plan has no lag settings of its own)."""
    nodes = list(nodes)
    if not nodes:
        return {}
    on = on or today()
    ids = [node.pk for node in nodes]
    reports = {report.node_id: report for report in latest_accepted_reports(ids, quarterly_only=True, year=year)}
    baselines = baselines_of(ids, as_of=_end_of(year))
    lag_settings = plan_settings({node.plan_id for node in nodes})
    indicators = defaultdict(list)
    for indicator in indicators_of_nodes(ids):
        indicators[indicator.node_id].append(indicator)
    filed = _quarterly_reports(ids, year)
    flags = _flags(ids, year)

    found = {}
    for node in nodes:
        plan_lag = lag_settings[node.plan_id]
        if not PlanNode.plan.is_cached(node):
            node.plan = plan_lag.plan  # already read with the settings: no query per sub-project
        level = plan_lag.for_level(node.control_level)
        report = reports.get(node.pk)
        found[node.pk] = {
            CriterionSource.PROGRESS.value: progress(
                report, baseline_version=baselines.get(node.pk, NO_BASELINE).version
            ),
            CriterionSource.BUDGET.value: budget(report, line=level.budget_yellow_below),
            CriterionSource.TARGETS.value: targets(indicators[node.pk], year),
            CriterionSource.MANAGEMENT.value: management(
                node, year, reports=filed[node.pk], flags=flags[node.pk], due_days=level.report_due_days, on=on
            ),
        }
    return found


# --- each source ------------------------------------------------------------------------------------------


def progress(report: ReportFigures | None, *, baseline_version: int) -> Suggestion:
    """計畫執行進度 from the year's last report in force (see the module docstring)."""
    if report is None:
        return Suggestion(None, {"basis": "no_accepted_report"})
    evidence = {"report": report.pk, "period": report.period, "baseline_version": baseline_version}
    if report.planned_progress is None or report.actual_progress is None:
        return Suggestion(None, {"basis": "no_progress_figures", **evidence})
    gap = report.actual_progress - report.planned_progress
    score = HUNDRED if gap >= 0 else HUNDRED + PROGRESS_POINTS_PER_POINT_BEHIND * gap
    return Suggestion(
        _score(score),
        {
            "basis": "accepted_report",
            **evidence,
            "planned_progress": _text(report.planned_progress),
            "actual_progress": _text(report.actual_progress),
            "gap": _text(gap),
            "points_per_point_behind": _text(PROGRESS_POINTS_PER_POINT_BEHIND),
        },
    )


def budget(report: ReportFigures | None, *, line: Decimal) -> Suggestion:
    """經費執行 from the execution rate of the year's last report in force (see the module docstring)."""
    if report is None:
        return Suggestion(None, {"basis": "no_accepted_report"})
    evidence = {
        "report": report.pk,
        "period": report.period,
        "budget_spent": _text(report.budget_spent),
        "budget_payables": _text(report.budget_payables or 0),
        "budget_savings": _text(report.budget_savings or 0),
        "budget_allocated": _text(report.budget_allocated),
    }
    if report.budget_spent is None:
        return Suggestion(None, {"basis": "no_budget_spent", **evidence})
    rate = execution_rate(
        spent=report.budget_spent,
        payables=report.budget_payables,
        savings=report.budget_savings,
        allocated=report.budget_allocated,
        places=None,
    )
    if rate is None:
        return Suggestion(None, {"basis": "no_allocation", **evidence})
    rate = rate.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    score = HUNDRED if rate >= line else HUNDRED - BUDGET_POINTS_PER_POINT_BELOW * (line - rate)
    return Suggestion(
        _score(score),
        {
            "basis": "accepted_report",
            **evidence,
            "execution_rate": _text(rate),
            "full_marks_from": _text(line),
            "points_per_point_below": _text(BUDGET_POINTS_PER_POINT_BELOW),
        },
    )


def targets(indicators, year: int) -> Suggestion:
    """目標達成: the share of the indicators with a target for ``year`` met at its end (see the module
    docstring). ``indicators``: the sub-project's numeric ones, targets and actuals prefetched."""
    year_end = period_end(year)
    rows = []
    for indicator in indicators:
        target = next((t.value for t in indicator.targets.all() if t.year == year and t.quarter == 0), None)
        if target is None:
            continue
        evaluation = indicator_evaluate(indicator, on=year_end)
        rows.append(
            {
                "indicator": indicator.pk,
                "name": indicator.name,
                "lower_is_better": indicator.direction == Direction.LOWER,
                "target": _text(target),
                "actual": _text(evaluation.actual),
                "met": evaluation.status == Status.MET,
            }
        )
    if not rows:
        return Suggestion(None, {"basis": "no_indicator_with_target"})
    met = sum(row["met"] for row in rows)
    return Suggestion(
        _score(HUNDRED * met / len(rows)),
        {"basis": "indicators", "with_target": len(rows), "met": met, "indicators": rows},
    )


@dataclass(frozen=True)
class FiledQuarter:
    quarter: int
    due_on: datetime.date
    first_submitted_at: datetime.datetime | None
    submitted_on_time: bool | None


@dataclass(frozen=True)
class YearFlag:
    id: int
    rule: str
    quarter: int
    severity: str
    status: str
    opened_at: datetime.datetime
    resolved_at: datetime.datetime | None
    improvement_planned: bool


def management(node, year: int, *, reports, flags, due_days: int, on: datetime.date) -> Suggestion:
    """作業管理 from the year's quarterly reports on time and its flags (see the module docstring).
    ``reports``: the sub-project's ``FiledQuarter`` of the year by quarter; ``flags``: its ``YearFlag``."""
    first, last = subproject_quarters(node)
    quarters = list(quarters_between(max(first, Quarter(year, 1)), min(last, Quarter(year, 4))))
    if not quarters:
        return Suggestion(None, {"basis": "not_running_in_year"})

    report_rows = []
    for quarter in quarters:
        filed = reports.get(quarter.quarter)
        due_on = filed.due_on if filed else quarter.due_date(due_days)
        submitted = filed.first_submitted_at if filed else None
        if submitted is None and due_on >= on:
            continue  # not due yet
        report_rows.append(
            {
                "period": str(quarter),
                "due_on": due_on.isoformat(),
                "first_submitted_on": timezone.localdate(submitted).isoformat() if submitted else None,
                "on_time": bool(filed and filed.submitted_on_time),
            }
        )
    on_time = sum(row["on_time"] for row in report_rows)
    reports_points = REPORTS_SHARE * on_time / len(report_rows) if report_rows else REPORTS_SHARE

    flag_rows = []
    for flag in sorted(flags, key=lambda flag: (flag.quarter, flag.id)):
        ended = timezone.localdate(flag.resolved_at) if flag.resolved_at else on
        days_open = max(0, (ended - timezone.localdate(flag.opened_at)).days)
        flag_rows.append(
            {
                "flag": flag.id,
                "rule": flag.rule,
                "period": str(Quarter(year, flag.quarter)),
                "severity": flag.severity,
                "status": flag.status,
                "days_open": days_open,
                "improvement_plan": flag.improvement_planned,
            }
        )
    red = [row for row in flag_rows if row["severity"] == Severity.RED]
    yellow = sum(row["severity"] == Severity.YELLOW for row in flag_rows)
    red_without_plan = sum(not row["improvement_plan"] for row in red)
    months_open = sum(row["days_open"] // DAYS_PER_MONTH_OPEN for row in flag_rows)
    deductions = (
        RED_FLAG_POINTS * len(red)
        + YELLOW_FLAG_POINTS * yellow
        + NO_IMPROVEMENT_PLAN_POINTS * red_without_plan
        + months_open
    )
    flags_points = max(Decimal(0), FLAGS_SHARE - deductions)
    return Suggestion(
        _score(reports_points + flags_points),
        {
            "basis": "reports_and_flags",
            "reports_due": len(report_rows),
            "reports_on_time": on_time,
            "reports_points": _text(reports_points.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)),
            "reports": report_rows,
            "red_flags": len(red),
            "yellow_flags": yellow,
            "red_flags_without_improvement_plan": red_without_plan,
            "months_open": months_open,
            "flags_points": _text(flags_points),
            "flags": flag_rows,
            "worked_out_on": on.isoformat(),
        },
    )


# --- reads ------------------------------------------------------------------------------------------------


def _quarterly_reports(ids, year: int) -> defaultdict[int, dict[int, FiledQuarter]]:
    """The sub-projects' quarterly reports of the year, in any status, by sub-project and quarter (one query)."""
    rows = (
        QuarterlyReport.objects.filter(node_id__in=ids, year=year, month__isnull=True)
        .order_by()
        .values_list("node_id", "quarter", "due_on", "first_submitted_at", "submitted_on_time")
    )
    found = defaultdict(dict)
    for node_id, quarter, *fields in rows:
        found[node_id][quarter] = FiledQuarter(quarter, *fields)
    return found


def _flags(ids, year: int) -> defaultdict[int, list[YearFlag]]:
    """The sub-projects' flags of the year's quarters that speak of the sub-project, with whether an improvement
    plan was filed in each one's thread (one query)."""
    plans = FlagComment.objects.filter(flag=OuterRef("pk"), kind=CommentKind.IMPROVEMENT_PLAN)
    rows = (
        LagFlag.objects.filter(node_id__in=ids, year=year)
        .exclude(rule__in=LIGHT_EXCLUDED_RULES)
        .annotate(improvement_planned=Exists(plans))
        .order_by()
        .values_list(
            "node_id", "pk", "rule", "quarter", "severity", "status", "opened_at", "resolved_at", "improvement_planned"
        )
    )
    found = defaultdict(list)
    for node_id, *fields in rows:
        found[node_id].append(YearFlag(*fields))
    return found


def _end_of(year: int) -> datetime.datetime:
    """The last moment of ``year`` in Asia/Taipei."""
    return datetime.datetime.combine(
        datetime.date(year, 12, 31), datetime.time.max, tzinfo=ZoneInfo(settings.TIME_ZONE)
    )


def _score(value: Decimal) -> Decimal:
    return min(HUNDRED, max(Decimal(0), Decimal(value))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def _text(value) -> str | None:
    """A figure for the evidence: its digits as GSTP holds them, without trailing zeros; None stays None."""
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")
