"""Reads behind the annual report: one plan's tree, indicators, accepted reports and flags for a year.

A fixed number of queries however large the tree: every read is one set-based query (with its
prefetches), through the apps' own selectors and their ``visible_to`` scopes.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from indicators.models import Indicator
from indicators.selectors import OverallRow, indicator_list, plan_indicator_summary
from projects.models import Plan, PlanNode
from projects.selectors import node_tree, plan_list

from ..access import flags_for, reports_in_force_for
from ..models import QuarterlyReport, execution_rate
from ..periods import Quarter
from ..selectors import FIGURE_FIELDS, IN_FORCE, with_ledger


class ReportPlanError(ValueError):
    """No report can be made for this plan and year; the message says why."""


def annual_report_plan(*, user, year: int, code: str | None = None) -> Plan:
    """The plan to report on: the one with ``code``, else the latest plan whose years include ``year``."""
    plans = plan_list(user=user)
    if code:
        plan = plans.filter(code=code).first()
        if plan is None:
            raise ReportPlanError(_("There is no plan with the code %(code)s.") % {"code": code})
    else:
        plan = plans.filter(start_year__lte=year, end_year__gte=year).first() or plans.first()
        if plan is None:
            raise ReportPlanError(_("No plan has been loaded."))
    if not plan.start_year <= year <= plan.end_year:
        raise ReportPlanError(
            _("%(year)s is outside the years of %(plan)s (%(start)s-%(end)s).")
            % {"year": year, "plan": plan.name, "start": plan.start_year, "end": plan.end_year}
        )
    return plan


@dataclass(frozen=True)
class FlagRow:
    id: int
    node_id: int
    rule: str
    quarter: int
    severity: str
    status: str
    evidence: dict


TEXT_FIELDS = ("achievements", "delay_reasons", "countermeasures")
CONTENT = (*FIGURE_FIELDS, *TEXT_FIELDS)  # what the annual report shows of a report


@dataclass(frozen=True)
class AcceptedReport:
    """A sub-project's report as the annual report publishes it: the figures and words it was accepted with.

    A reopened report under correction (``is_reopened``) stands by its ``accepted_content``, never by the
    correction in progress; one accepted again after a correction (``is_corrected``) by its new figures."""

    pk: int
    node_id: int
    year: int
    quarter: int
    planned_progress: Decimal | None
    actual_progress: Decimal | None
    budget_spent: Decimal | None
    budget_payables: Decimal | None
    budget_savings: Decimal | None
    achievements: str
    delay_reasons: str
    countermeasures: str
    is_reopened: bool
    reopened_at: datetime.datetime | None
    reopen_reason: str
    budget_allocated: Decimal | None  # from the ledger

    @property
    def period(self) -> str:
        return str(Quarter(self.year, self.quarter))

    @property
    def execution_rate(self) -> Decimal | None:
        return execution_rate(
            spent=self.budget_spent,
            payables=self.budget_payables,
            savings=self.budget_savings,
            allocated=self.budget_allocated,
        )

    @property
    def is_corrected(self) -> bool:
        return self.reopened_at is not None and not self.is_reopened


@dataclass
class AnnualData:
    plan: Plan
    year: int
    nodes: list[PlanNode]  # the whole tree, each with its agency links prefetched
    overall: list[OverallRow]
    indicators: dict[int, list[Indicator]] = field(default_factory=dict)  # by node id, targets and actuals prefetched
    reports: dict[int, AcceptedReport] = field(default_factory=dict)  # the year's latest in force, by sub-project
    flags: list[FlagRow] = field(default_factory=list)  # of the year's quarters


def annual_report_data(*, plan: Plan, year: int, user) -> AnnualData:
    nodes = list(node_tree(user=user).filter(plan=plan))
    overall = plan_indicator_summary(plan=plan, user=user)
    indicators = defaultdict(list)
    for indicator in indicator_list(user=user).filter(plan=plan, node__isnull=False):
        indicators[indicator.node_id].append(indicator)
    return AnnualData(
        plan=plan,
        year=year,
        nodes=nodes,
        overall=overall,
        indicators=dict(indicators),
        reports=latest_in_force_of_year(plan=plan, year=year, user=user),
        flags=flags_of_year(plan=plan, year=year, user=user),
    )


def latest_in_force_of_year(*, plan: Plan, year: int, user) -> dict[int, AcceptedReport]:
    """Each sub-project's last quarterly report of the year in force (``IN_FORCE``: accepted, or reopened and
    under correction; monthly updates are the secretariat's working figures, not published), in one query,
    as accepted: a reopened report's figures and words are read from its
    ``accepted_content``, so nothing of the correction in progress is published."""
    newest = (
        QuarterlyReport.objects.filter(IN_FORCE, node_id=OuterRef("node_id"), year=year, month__isnull=True)
        .order_by("-quarter")
        .values("pk")[:1]
    )
    rows = (
        with_ledger(reports_in_force_for(user))
        .filter(node__plan=plan, year=year, pk=Subquery(newest))
        .values_list(
            "pk", "node_id", "quarter", "reopened_at", "reopen_reason", "accepted_content", "ledger_allocated", *CONTENT
        )
    )
    reports = {}
    for pk, node_id, quarter, reopened_at, reopen_reason, accepted, allocated, *current in rows:
        content = dict(zip(CONTENT, current, strict=True))
        if accepted is not None:
            content = _as_accepted(accepted)
        reports[node_id] = AcceptedReport(
            pk=pk,
            node_id=node_id,
            year=year,
            quarter=quarter,
            **content,
            is_reopened=accepted is not None,
            reopened_at=reopened_at,
            # Why a report was reopened is published while it is corrected; once accepted again, as with a
            # return, the reason stays in its history.
            reopen_reason=reopen_reason if accepted is not None else "",
            budget_allocated=allocated,
        )
    return reports


def _as_accepted(accepted_content: dict) -> dict:
    """The published content of a reopened report, from the figures and words it was accepted with."""
    content = {name: accepted_content.get(name) for name in CONTENT}
    for name in FIGURE_FIELDS:
        content[name] = None if content[name] is None else Decimal(content[name])
    for name in TEXT_FIELDS:
        content[name] = content[name] or ""
    return content


def flags_of_year(*, plan: Plan, year: int, user) -> list[FlagRow]:
    """The flags of the year's quarters, in every status, in one query."""
    rows = (
        flags_for(user)
        .filter(node__plan=plan, year=year)
        .order_by("node__path", "quarter", "rule", "pk")
        .values_list("pk", "node_id", "rule", "quarter", "severity", "status", "evidence")
    )
    return [FlagRow(*row) for row in rows]
