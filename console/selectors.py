"""Reads the pages need beyond the apps' own selectors, built on their access modules.

Reports start from ``reviews.access.reports_for``, flags from ``reviews.selectors.flag_list``, the plan tree
from ``reviews.selectors.node_list``: a page shows a user exactly what the API shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page
from django.db.models import Prefetch, QuerySet

from projects.models import Agency, AgencyRole, NodeKind, Plan, PlanNode, attach_agency_links, path_ids
from projects.selectors import plan_list
from reviews import access
from reviews import selectors as reviews_selectors
from reviews.models import QuarterlyReport, ReportEvent, ReportStatus
from reviews.periods import period_rank
from reviews.selectors import flag_list, node_list, with_ledger


def subproject_scope(user, *, as_of=None) -> QuerySet[PlanNode]:
    """The sub-projects a user's pages show, each with its light: every one, to every signed-in user, as
    the API shows them (as they were at ``as_of``)."""
    return node_list(user=user, as_of=as_of).filter(kind=NodeKind.SUBPROJECT).order_by("path")


def ancestors_of(node: PlanNode) -> list[PlanNode]:
    """The node's place in the plan tree, group first (one query, from its materialized path)."""
    ids = node.path_ids[:-1]
    return list(PlanNode.objects.filter(pk__in=ids).order_by("path"))


def default_plan(user) -> Plan | None:
    return plan_list(user=user).order_by("-end_year", "code").first()


@dataclass(frozen=True)
class LightRow:
    id: int
    name: str
    red: int
    yellow: int
    green: int
    total: int


def light_rollup(*, plan: Plan, user, by: str, as_of=None, control_levels=()) -> list[LightRow]:
    """The units and counts of ``/api/v1/lights/`` (``reviews.selectors.light_rollup``), agencies by short name."""
    return [
        LightRow(row["id"], row["short_name"] or row["name"], row["red"], row["yellow"], row["green"], row["total"])
        for row in reviews_selectors.light_rollup(
            plan=plan, user=user, by=by, as_of=as_of, control_levels=control_levels
        )
    ]


def flag_queue(*, user, as_of=None):
    """The flags a user sees (``flag_list``: red first, then oldest; as they were at ``as_of``), with each
    one's sub-project."""
    return flag_list(user=user, as_of=as_of).select_related("node__plan")


def review_queue(*, user, with_files: bool = False, control_levels=()) -> QuerySet[QuarterlyReport]:
    """What waits for the user's review, the longest waiting first (``reviews.selectors.review_queue``: a
    ministry reviewer's reports awaiting its endorsement, the secretariat's awaiting its acceptance), each
    with its sub-project's plan and, ``with_files``, the evidence files the user may see as ``visible_files``."""
    reports = reviews_selectors.review_queue(user=user).select_related("node__plan")
    if control_levels:
        reports = reports.filter(node__control_level__in=list(control_levels))
    if with_files:
        files = access.evidence_files_for(user).select_related("uploaded_by").order_by("uploaded_at", "id")
        reports = reports.prefetch_related(Prefetch("files", queryset=files, to_attr="visible_files"))
    return reports


def with_agencies_of_subprojects(page: Page) -> Page:
    """A page of flags or reports, their sub-projects given their agency links in one query."""
    page.object_list = list(page.object_list)
    attach_agency_links([item.node for item in page.object_list])
    return page


def reports_of_subproject(*, user, node: PlanNode, as_of=None) -> QuerySet[QuarterlyReport]:
    """A sub-project's reports the user may see, monthly updates and quarterly reports, oldest first, each
    with its history (the order of ``report_history``, up to ``as_of``) where the user may read it."""
    reports = with_ledger(access.reports_for(user, as_of=as_of).filter(node=node)).order_by(period_rank())
    if access.can_see_history_of(user, node):
        events = ReportEvent.objects.select_related("actor").order_by("at", "id")
        if as_of is not None:
            events = events.filter(at__lte=as_of)
        reports = reports.prefetch_related(Prefetch("events", queryset=events))
    return reports


def report_years(*, plan: Plan) -> list[int]:
    """The years of a plan with accepted reports, latest first: the years an annual report can cover."""
    years = (
        QuarterlyReport.objects.filter(node__plan=plan, status=ReportStatus.ACCEPTED)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )
    return list(years)


def agencies_leading(*, plan: Plan) -> QuerySet[Agency]:
    """Agencies that lead a sub-project of the plan, with their parents, for choosing one."""
    lead_paths = Agency.objects.filter(node_links__node__plan=plan, node_links__role=AgencyRole.LEAD).values_list(
        "path", flat=True
    )
    ids = {pk for path in lead_paths for pk in path_ids(path)}
    return Agency.objects.filter(pk__in=ids).order_by("path")
