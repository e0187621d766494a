"""Reads of quarterly reports and lag flags, each starting from the rows ``access`` lets the user see."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from gstp.history import is_as_of, node_ref, rows
from projects.access import budget_years_for, led_by_agency, nodes_for, reviewed_by
from projects.models import Agency, AgencyRole, BudgetYear, NodeAgency, NodeKind, Plan, PlanNode, path_ids
from projects.selectors import allocated_to_date, node_tree

from . import access
from .models import (
    ACTIVE_STATUSES,
    Baseline,
    EvidenceFile,
    FlagComment,
    LagFlag,
    LagRule,
    LagSettings,
    LockException,
    PlanRevision,
    QuarterLock,
    QuarterlyReport,
    ReportEvent,
    ReportIndicatorValue,
    ReportKind,
    ReportMilestoneEntry,
    RevisionEvent,
    Rhythm,
    Severity,
    executed_expression,
    execution_rate,
)
from .periods import Month, Quarter, period_rank, quarters_between, running_months, today


def node_list(*, user, as_of=None):
    """The plan tree a user sees (``projects.selectors.node_tree``), each node with its light: the
    nodes as the API and the console show them, now or as they were at ``as_of`` (``gstp.history``)."""
    nodes = node_tree(user=user, as_of=as_of)
    return nodes.annotate(light=light_expression(node_ref(nodes), as_of=as_of))


def report_list(*, user, as_of=None) -> QuerySet[QuarterlyReport]:
    return with_report_children(access.reports_for(user, as_of=as_of))


def budget_year_list(*, user, as_of=None) -> QuerySet[BudgetYear]:
    """The budget ledgers a user sees (as they stood at ``as_of``), each with its sub-project and whether it is
    ``frozen`` (a report of its year accepted: ``access.baseline_frozen``), in one query."""
    ledgers = budget_years_for(user, as_of=as_of).select_related("node")
    return ledgers.annotate(frozen=access.accepted_in_year(node_ref(ledgers, "node")))


def report_files(*, user, report: QuarterlyReport) -> QuerySet[EvidenceFile]:
    """A report's evidence files, oldest first; none unless ``access.can_see_report_files``."""
    return access.report_files_for(user, report).select_related("uploaded_by")


def comment_files(*, user, comment: FlagComment) -> QuerySet[EvidenceFile]:
    """A flag comment's files, oldest first; none unless ``access.can_see_flag_files``."""
    return access.comment_files_for(user, comment.flag).filter(comment=comment).select_related("uploaded_by", "comment")


def lock_list(*, user) -> QuerySet[QuarterLock]:
    return access.locks_for(user).select_related("plan").prefetch_related("exceptions")


def lock_exception_list(*, user) -> QuerySet[LockException]:
    return LockException.objects.filter(lock__in=access.locks_for(user))


def with_ledger(reports: QuerySet[QuarterlyReport]) -> QuerySet[QuarterlyReport]:
    """Reports with their allocation to date from their ledger (``QuarterlyReport.budget_allocated``) in the
    same query; reports as of a past moment with the ledger as it stood then."""
    as_of = getattr(reports, "_as_of", None) if is_as_of(reports) else None
    return reports.annotate(ledger_allocated=allocated_to_date(as_of=as_of))


def with_report_children(reports: QuerySet[QuarterlyReport]) -> QuerySet[QuarterlyReport]:
    """Reports with their sub-project, allocation to date, milestone entries and indicator values, as the API
    shows them."""
    return (
        with_ledger(reports)
        .select_related("node")
        .prefetch_related(
            Prefetch(
                "milestone_entries", queryset=ReportMilestoneEntry.objects.all(), to_attr="prefetched_milestone_entries"
            ),
            Prefetch(
                "indicator_values", queryset=ReportIndicatorValue.objects.all(), to_attr="prefetched_indicator_values"
            ),
        )
    )


@dataclass(frozen=True)
class ReportFigures:
    """The figures of an accepted report that the lag rules read."""

    pk: int
    node_id: int
    year: int
    quarter: int
    month: int | None
    planned_progress: Decimal | None
    actual_progress: Decimal | None
    budget_spent: Decimal | None
    budget_payables: Decimal | None
    budget_savings: Decimal | None
    budget_allocated: Decimal | None  # from the ledger, not the report

    def execution_rate(self, *, places: int | None = 1) -> Decimal | None:
        return execution_rate(
            spent=self.budget_spent,
            payables=self.budget_payables,
            savings=self.budget_savings,
            allocated=self.budget_allocated,
            places=places,
        )

    @property
    def quarter_obj(self) -> Quarter:
        return Quarter(self.year, self.quarter)

    @property
    def period(self) -> str:
        return str(Month(self.year, self.month) if self.month else self.quarter_obj)


IN_FORCE = access.IN_FORCE  # accepted, or reopened and under correction with its accepted figures in force
FIGURE_FIELDS = ("planned_progress", "actual_progress", "budget_spent", "budget_payables", "budget_savings")


FIGURES_ROW = ("pk", "node_id", "year", "quarter", "month", *FIGURE_FIELDS, "accepted_content", "ledger_allocated")


def _as_accepted(pk, node_id, year, quarter, month, *figures) -> ReportFigures:
    *figures, accepted_content, allocated = figures
    if accepted_content is not None:
        figures = [
            None if accepted_content.get(name) is None else Decimal(accepted_content[name]) for name in FIGURE_FIELDS
        ]
    return ReportFigures(pk, node_id, year, quarter, month, *figures, allocated)


def latest_accepted_reports(
    node_ids,
    *,
    gap_at_most: Decimal | None = None,
    execution_below: Decimal | None = None,
    quarterly_only: bool = False,
    year: int | None = None,
) -> list[ReportFigures]:
    """Each sub-project's latest accepted report (``IN_FORCE``), monthly update or quarterly report, in one
    query (only quarterly reports with ``quarterly_only``: the budget's execution is judged on the quarter's
    ledger; with ``year``, each one's last report of that year). With thresholds, only the reports whose
    progress gap is at most ``gap_at_most`` points or whose execution is below ``execution_below`` percent
    (and the few being corrected), so the database, not Python, sets aside the reports on plan."""
    newest = QuarterlyReport.objects.filter(IN_FORCE, node_id=OuterRef("pk")).order_by(period_rank().desc())
    if quarterly_only:
        newest = newest.filter(month__isnull=True)
    if year is not None:
        newest = newest.filter(year=year)
    latest = (
        PlanNode.objects.filter(pk__in=node_ids).annotate(report=Subquery(newest.values("pk")[:1])).values("report")
    )
    reports = with_ledger(QuarterlyReport.objects.filter(pk__in=latest))
    if gap_at_most is not None or execution_below is not None:
        lagging = Q(accepted_content__isnull=False)
        if gap_at_most is not None:
            lagging |= Q(gap__lte=gap_at_most)
        if execution_below is not None:
            # execution_rate in SQL: executed * 100 < allocated * threshold, so as not to divide.
            lagging |= Q(ledger_allocated__gt=0, executed_percent__lt=F("ledger_allocated") * execution_below)
        reports = reports.annotate(
            gap=F("actual_progress") - F("planned_progress"), executed_percent=executed_expression() * 100
        ).filter(lagging)
    return [_as_accepted(*row) for row in reports.values_list(*FIGURES_ROW)]


def report_history(*, report: QuarterlyReport) -> QuerySet[ReportEvent]:
    """The report's events, oldest first; who may read them is ``access.can_see_report_history``."""
    return report.events.select_related("actor").order_by("at", "id")


def last_accepted_before(*, node, period: Quarter | Month) -> ReportFigures | None:
    """The sub-project's latest accepted report (``IN_FORCE``) before the period, monthly or quarterly, with
    its figures."""
    row = (
        with_ledger(QuarterlyReport.objects.filter(IN_FORCE, node=node))
        .alias(rank=period_rank())
        .filter(rank__lt=period.rank)
        .order_by("-rank")
        .values_list(*FIGURES_ROW)
        .first()
    )
    return None if row is None else _as_accepted(*row)


def quarter_lock(*, node, period: Quarter, on: datetime.date | None = None) -> QuarterLock | None:
    """The lock that closes ``period`` to the sub-project on ``on`` (today): its plan's lock of the quarter,
    unless the sub-project holds an exception that has not expired."""
    on = on or today()
    lock = QuarterLock.objects.filter(plan_id=node.plan_id, year=period.year, quarter=period.quarter).first()
    if lock is None or lock.exceptions.filter(node=node, expires_on__gte=on).exists():
        return None
    return lock


def plan_settings(plan_ids) -> dict[int, LagSettings]:
    """Each plan's lag settings with its control levels', by plan id (unsaved defaults for a plan without)."""
    rows = LagSettings.objects.filter(plan_id__in=plan_ids).select_related("plan").prefetch_related("levels")
    found = {lag_settings.plan_id: lag_settings for lag_settings in rows}
    missing = [plan_id for plan_id in plan_ids if plan_id not in found]
    if missing:
        found.update({plan.pk: LagSettings(plan=plan) for plan in Plan.objects.filter(pk__in=missing)})
    return found


def node_settings(node) -> LagSettings:
    """What a sub-project is held to: its plan's lag settings as its control level sets them (rhythm, due
    days, thresholds)."""
    rows = LagSettings.objects.filter(plan_id=node.plan_id).select_related("plan").prefetch_related("levels")
    return (rows.first() or LagSettings(plan=node.plan)).for_level(node.control_level)


def review_queue(*, user) -> QuerySet[QuarterlyReport]:
    """What waits for the user's review, the longest waiting first, each report with ``endorsement_required``
    (for ``access.report_actions``): for a ministry reviewer the submitted
    reports of its ministry's sub-projects in plans that ask for endorsement; for the secretariat the
    endorsed reports, and the submitted ones of plans that do not."""
    access.ensure(access.can_see_review_queue(user), access.NOT_ALLOWED_TO_SEE_REVIEW_QUEUE)
    reports = with_ledger(access.reports_for(user)).annotate(endorsement_required=access.endorsement_required())
    if access.oversees(user):
        waiting = access.waiting_for(access.ReviewLevel.SECRETARIAT)
    else:
        waiting = access.waiting_for(access.ReviewLevel.MINISTRY) & reviewed_by(user, "node")
    return reports.filter(waiting).select_related("node").order_by(Coalesce("endorsed_at", "submitted_at").asc(), "id")


def subproject_quarters(node) -> tuple[Quarter, Quarter]:
    """The first and last quarter a sub-project reports on: its dates, else its plan's years."""
    first = Quarter.containing(node.start_date) if node.start_date else Quarter(node.plan.start_year, 1)
    last = Quarter.containing(node.end_date) if node.end_date else Quarter(node.plan.end_year, 4)
    return first, last


def update_months_of(node) -> tuple[Month, Month]:
    """The first and last month a sub-project runs: its dates', else its plan's years'."""
    return running_months(node.start_date, node.end_date, *subproject_quarters(node))


def _update_months(node, on: datetime.date) -> list[Month]:
    """The months a monthly-reporting sub-project gives an update for, from its first month to ``on``'s within
    its dates: each month that does not close its quarter."""
    month, last = update_months_of(node)
    months, end = [], min(Month.containing(on), last)
    while month <= end:
        if not month.closes_quarter:
            months.append(month)
        month = month.next()
    return months


def _filed(report) -> bool:
    return report is not None and report.is_filed


def periods_to_file(*, node, settings: LagSettings | None = None) -> list[Quarter | Month]:
    """The periods a lead may still open a report for: each of the sub-project's quarters up to the current
    one with no report yet (one per sub-project and quarter) and, where its control level reports monthly,
    each month up to the current one with no update while its quarter's report is not filed yet, in order."""
    first, last = subproject_quarters(node)
    on = today()
    reports = {report.period_obj: report for report in node.reports.all()}
    periods = [period for period in quarters_between(first, min(last, Quarter.containing(on))) if period not in reports]
    if (settings or node_settings(node)).rhythm == Rhythm.MONTHLY:
        periods += [
            month
            for month in _update_months(node, on)
            if month not in reports and not _filed(reports.get(month.quarter))
        ]
    return sorted(periods, key=attrgetter("rank"))


@dataclass(frozen=True)
class OwedReport:
    project: PlanNode
    period: Quarter | Month
    due_on: datetime.date
    report: QuarterlyReport | None

    @property
    def kind(self) -> str:
        return ReportKind.MONTHLY if isinstance(self.period, Month) else ReportKind.QUARTERLY

    @property
    def status(self) -> str:
        return self.report.status if self.report else "missing"

    @property
    def report_id(self) -> int | None:
        return self.report.pk if self.report else None

    @property
    def is_overdue(self) -> bool:
        return self.due_on < today()


def reports_owed(*, agency, on: datetime.date | None = None) -> list[OwedReport]:
    """What an agency (with its sub-units) still owes: every quarter up to the current one, within each
    led sub-project's dates, whose report is missing, a draft or returned (not reopened: a correction is
    asked for by its own notice), and, for the sub-projects whose control level reports monthly, every such
    month's update while its quarter's report is not filed; the earliest due first."""
    on = on or today()
    current = Quarter.containing(on)
    nodes = list(PlanNode.objects.filter(kind=NodeKind.SUBPROJECT).filter(led_by_agency(agency)).select_related("plan"))
    # The sub-projects' ids as a list, not as a subquery: the database need not plan the agency condition
    # once per report.
    filed = {
        (report.node_id, report.period_obj): report
        for report in QuarterlyReport.objects.filter(node_id__in=[node.pk for node in nodes])
    }
    settings = plan_settings({node.plan_id for node in nodes})
    owed = []
    for node in nodes:
        level = settings[node.plan_id].for_level(node.control_level)
        first, last = subproject_quarters(node)
        for period in quarters_between(first, min(last, current)):
            report = filed.get((node.pk, period))
            # A reopened report under correction is no report owed: its quarter was filed, and its accepted
            # figures stand until the correction is accepted.
            if not _filed(report):
                owed.append(OwedReport(node, period, period.due_date(level.report_due_days), report))
        if level.rhythm == Rhythm.MONTHLY:
            for month in _update_months(node, on):
                report = filed.get((node.pk, month))
                if not _filed(report) and not _filed(filed.get((node.pk, month.quarter))):
                    owed.append(OwedReport(node, month, month.due_date(level.monthly_due_days), report))
    return sorted(owed, key=lambda item: (item.due_on, item.project.path))


def flag_list(*, user, as_of=None) -> QuerySet[LagFlag]:
    """The flags a user sees with their comments (as of ``as_of``: those written by then), worst first."""
    comments = FlagComment.objects.select_related("author")
    if as_of is not None:
        comments = comments.filter(created_at__lte=as_of)
    return (
        access.flags_for(user, as_of=as_of)
        .select_related("node", "acknowledged_by", "resolved_by")
        .prefetch_related(Prefetch("comments", queryset=comments))
        .annotate(severity_rank=Case(When(severity=Severity.RED, then=2), default=1))
        .order_by("-severity_rank", "opened_at", "id")
    )


# Flags that stand in the secretariat's queue but say nothing of the sub-project's own progress: a ministry
# late with its endorsement (初核) is not the sub-project lagging. Every light (a node's, the counts, the
# filter by light) leaves them out here.
LIGHT_EXCLUDED_RULES = (LagRule.REVIEW_OVERDUE,)


def _active_flags(as_of=None, **node):
    """Open and acknowledged flags (of the node or nodes ``node`` names; as they were at ``as_of``) that
    count in a light: what a light is made of."""
    flags = rows(LagFlag, as_of).filter(status__in=ACTIVE_STATUSES, **node)
    return flags.exclude(rule__in=LIGHT_EXCLUDED_RULES).order_by()


def light_counts(*, subprojects, as_of=None) -> dict[str, int]:
    """Red, yellow and green counts over a set of sub-projects (the flags as they were at ``as_of``, the
    sub-projects' rows from the same moment), in one query."""
    pk = node_ref(subprojects)
    red = _active_flags(as_of, node__in=subprojects.values(pk)).filter(severity=Severity.RED)
    yellow = _active_flags(as_of, node__in=subprojects.values(pk)).filter(severity=Severity.YELLOW)
    counts = subprojects.order_by().aggregate(
        total=Count(pk, distinct=True),
        red=Count(pk, filter=Q(**{f"{pk}__in": red.values("node_id")}), distinct=True),
        yellow=Count(
            pk,
            filter=Q(**{f"{pk}__in": yellow.values("node_id")}) & ~Q(**{f"{pk}__in": red.values("node_id")}),
            distinct=True,
        ),
    )
    counts["green"] = counts["total"] - counts["red"] - counts["yellow"]
    return counts


LIGHT_ROLLUPS = ("plan", "group", "agency")


def light_rollup(*, plan: Plan, user, by: str, as_of=None, control_levels=()) -> list[dict]:
    """Red, yellow and green sub-project counts for the whole plan, by group, or by top-level lead agency
    (with its sub-units): ``{"id", "name", "short_name", "red", "yellow", "green", "total"}`` per unit; of
    the plan tree and flags as they were at ``as_of``; of the sub-projects at ``control_levels`` (列管等級)
    when given."""
    subprojects = nodes_for(user, as_of=as_of).filter(plan=plan, kind=NodeKind.SUBPROJECT)
    if control_levels:
        subprojects = subprojects.filter(control_level__in=list(control_levels))
    if by == "plan":
        units = [(plan.pk, plan.name, "", subprojects)]
    elif by == "group":
        groups = rows(PlanNode, as_of).filter(plan=plan, kind=NodeKind.GROUP).order_by("position", "pk")
        units = [(group.pk, group.title, "", subprojects.filter(path__startswith=group.path)) for group in groups]
    elif by == "agency":
        lead_paths = set(
            Agency.objects.filter(node_links__node__plan=plan, node_links__role=AgencyRole.LEAD).values_list(
                "path", flat=True
            )
        )
        roots = {path_ids(path)[0] for path in lead_paths}
        top = Agency.objects.filter(parent__isnull=True, pk__in=roots).order_by("name")
        units = [
            (
                agency.pk,
                agency.name,
                agency.short_name,
                subprojects.filter(
                    id__in=NodeAgency.objects.filter(
                        role=AgencyRole.LEAD, agency__in=Agency.objects.subtree_of(agency)
                    ).values("node_id")
                ),
            )
            for agency in top
        ]
    else:
        raise ValueError(by)
    return [
        {"id": pk, "name": name, "short_name": short_name, **light_counts(subprojects=subs, as_of=as_of)}
        for pk, name, short_name, subs in units
    ]


def light_expression(node_ref: str = "pk", *, as_of=None):
    """SQL for a plan-tree node's light: red or yellow by its worst active flag, green for a sub-project
    without one, null for the nodes above sub-projects.

    The worst flag is a scalar subquery with a limit, which the database runs per row read through the
    ``(node, status)`` index: a page of 500 nodes costs 500 index look-ups, not a pass over every open
    flag (as ``EXISTS`` in a ``CASE`` can be planned). Filtering by light uses ``light_condition``."""
    worst = (
        _active_flags(as_of, node_id=OuterRef(node_ref))
        .annotate(severity_rank=Case(When(severity=Severity.RED, then=Value(0)), default=Value(1)))
        .order_by("severity_rank")
        .values("severity")[:1]
    )
    return Coalesce(
        Subquery(worst, output_field=CharField()),
        Case(When(kind=NodeKind.SUBPROJECT, then=Value("green")), default=Value(None), output_field=CharField()),
        output_field=CharField(),
    )


def light_condition(lights, *, as_of=None) -> Q:
    """Nodes whose light is one of ``lights`` (at ``as_of``), as ``EXISTS`` conditions the database can
    answer with a semi-join over the open flags, rather than working out every node's light."""
    active = _active_flags(as_of, node_id=OuterRef("id"))
    red = Exists(active.filter(severity=Severity.RED))
    yellow = Exists(active.filter(severity=Severity.YELLOW))
    conditions = {
        "red": Q(red),
        "yellow": Q(yellow) & ~Q(red),
        "green": Q(kind=NodeKind.SUBPROJECT) & ~Q(Exists(active)),
    }
    condition = Q(pk__in=[])
    for light in lights:
        condition |= conditions[light]
    return condition


# --- plan revisions and baselines ---------------------------------------------------------------------


def revision_list(*, user, as_of=None) -> QuerySet[PlanRevision]:
    """The revisions the user sees; with ``as_of``, those requested by then, each with ``status_then``: the
    status its last step by then left it in."""
    revisions = access.revisions_for(user).select_related("node", "requested_by", "endorsed_by", "decided_by")
    if as_of is None:
        return revisions
    last_step = RevisionEvent.objects.filter(revision=OuterRef("pk"), at__lte=as_of).order_by("-at", "-id")
    return revisions.filter(requested_at__lte=as_of).annotate(
        status_then=Coalesce(Subquery(last_step.values("to_status")[:1]), F("status"))
    )


def revision_history(*, revision: PlanRevision) -> QuerySet[RevisionEvent]:
    return revision.events.select_related("actor").order_by("at", "id")


def revision_queue(*, user) -> QuerySet[PlanRevision]:
    """What waits for the user's step (``access.revisions_waiting_for``), the longest waiting first."""
    return (
        access.revisions_waiting_for(user)
        .select_related("node", "requested_by", "endorsed_by", "decided_by")
        .order_by("requested_at", "id")
    )


def baseline_versions(*, node, as_of=None) -> QuerySet[Baseline]:
    """Every baseline version of a sub-project (recorded by ``as_of``), the original first."""
    versions = Baseline.objects.filter(node=node).order_by("version")
    return versions if as_of is None else versions.filter(created_at__lte=as_of)


@dataclass(frozen=True)
class BaselineInfo:
    """A sub-project's baseline as a page shows it: the latest version's number and the original (version 1)
    content, or None while nothing has been revised (the live fields are then the original)."""

    version: int
    original: dict | None


NO_BASELINE = BaselineInfo(version=1, original=None)


def baselines_of(node_ids, *, as_of=None) -> dict[int, BaselineInfo]:
    """The ``BaselineInfo`` of these sub-projects in one query, whatever their number; with ``as_of``, the
    versions recorded by then (a baseline version is never changed, so its recording time says when it began)."""
    node_ids = list(node_ids)
    if not node_ids:
        return {}
    recorded = Baseline.objects.all() if as_of is None else Baseline.objects.filter(created_at__lte=as_of)
    latest = recorded.filter(node_id=OuterRef("node_id")).order_by("-version").values("version")[:1]
    rows = (
        recorded.filter(node_id__in=node_ids, version=1)
        .order_by()
        .annotate(latest=Subquery(latest))
        .values_list("node_id", "latest", "content")
    )
    return {node_id: BaselineInfo(version=version, original=content) for node_id, version, content in rows}


def attach_baselines(nodes, *, as_of=None) -> None:
    """Give each sub-project among ``nodes`` its ``baseline_info`` (one query for them all), as of ``as_of``."""
    subprojects = [node for node in nodes if node.kind == NodeKind.SUBPROJECT]
    found = baselines_of((node.pk for node in subprojects), as_of=as_of)
    for node in subprojects:
        node.baseline_info = found.get(node.pk, NO_BASELINE)


def attach_milestone_baselines(milestones, *, as_of=None) -> None:
    """Give each milestone its sub-project's ``baseline_info`` (one query for them all), as of ``as_of``."""
    found = baselines_of({milestone.node_id for milestone in milestones}, as_of=as_of)
    for milestone in milestones:
        milestone.baseline_info = found.get(milestone.node_id, NO_BASELINE)
