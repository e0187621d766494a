"""Reads behind the annual report: one plan's tree, indicators, accepted reports and flags for a year.

A fixed number of queries however large the tree: every read is one set-based query (with its
prefetches), through the apps' own selectors and their ``visible_to`` scopes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from indicators.models import Indicator
from indicators.selectors import OverallRow, indicator_list, plan_indicator_summary
from projects.models import Plan, PlanNode
from projects.selectors import node_tree, plan_list

from ..access import flags_for, reports_for
from ..models import QuarterlyReport, ReportStatus


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


@dataclass
class AnnualData:
    plan: Plan
    year: int
    nodes: list[PlanNode]  # the whole tree, each with its agency links prefetched
    overall: list[OverallRow]
    indicators: dict[int, list[Indicator]] = field(default_factory=dict)  # by node id, targets and actuals prefetched
    reports: dict[int, QuarterlyReport] = field(default_factory=dict)  # the year's latest accepted, by sub-project
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
        reports=latest_accepted_of_year(plan=plan, year=year, user=user),
        flags=flags_of_year(plan=plan, year=year, user=user),
    )


def latest_accepted_of_year(*, plan: Plan, year: int, user) -> dict[int, QuarterlyReport]:
    """Each sub-project's last accepted report of the year, in one query."""
    newest = (
        QuarterlyReport.objects.filter(node_id=OuterRef("node_id"), status=ReportStatus.ACCEPTED, year=year)
        .order_by("-quarter")
        .values("pk")[:1]
    )
    reports = reports_for(user).filter(node__plan=plan, status=ReportStatus.ACCEPTED, year=year, pk=Subquery(newest))
    return {report.node_id: report for report in reports}


def flags_of_year(*, plan: Plan, year: int, user) -> list[FlagRow]:
    """The flags of the year's quarters, in every status, in one query."""
    rows = (
        flags_for(user)
        .filter(node__plan=plan, year=year)
        .order_by("node__path", "quarter", "rule", "pk")
        .values_list("pk", "node_id", "rule", "quarter", "severity", "status", "evidence")
    )
    return [FlagRow(*row) for row in rows]
