"""Reads of the plan structure. Every list and detail starts from the rows ``access`` lets the user see."""

from decimal import Decimal

from django.db.models import Case, DecimalField, F, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.lookups import GreaterThanOrEqual

from gstp.calendar import Calendar
from gstp.history import is_as_of, rows

from . import access
from .models import QUARTERS, Agency, BudgetYear, Milestone, Plan, attach_agency_links
from .outline import agencies as agency_names


def agency_list(*, user):
    return access.agencies_for(user).select_related("parent").prefetch_related("aliases")


def agency_find(name: str) -> Agency | None:
    """The agency a name refers to: its full name, a short name (數位部), or a sub-unit written with a short parent."""
    name = "".join(name.split())
    if not name or "\x00" in name:  # no name holds a NUL, and PostgreSQL refuses one in a query
        return None
    found = Agency.objects.filter(Q(name=name) | Q(aliases__alias=name)).first()
    if found:
        return found
    resolved = agency_names.resolve(name)
    if resolved and resolved.name != name:
        return Agency.objects.filter(Q(name=resolved.name) | Q(aliases__alias=resolved.name)).first()
    return None


def agency_subtree(agency: Agency):
    return Agency.objects.subtree_of(agency)


def plan_list(*, user):
    return access.plans_for(user)


def node_tree(*, user, as_of=None):
    """The plan-tree nodes a user may see (as they were at ``as_of``), each with its convening agency and
    agency links."""
    nodes = access.nodes_for(user, as_of=as_of).select_related("convening_agency")
    if is_as_of(nodes):
        return nodes.on_instances(attach_agency_links)  # the links as they are: they keep no history
    return nodes.with_agency_links()


def milestone_list(*, user, as_of=None):
    return access.milestones_for(user, as_of=as_of).select_related("node")


def deletion_list(*, user):
    return access.deletions_for(user)


def milestones_open_for(node_ids):
    """Milestones not yet completed of these sub-projects."""
    return Milestone.objects.filter(node_id__in=node_ids, completed_on__isnull=True)


def allocated_to_date(*, node: str = "node", year: str = "year", quarter: str = "quarter", as_of=None) -> Subquery:
    """累計分配數 in SQL (``BudgetYear.allocated_to``): the allocations of the ledger of the outer row's
    sub-project and year up to the outer row's quarter, named by the outer row's fields; NULL without a ledger.
    With ``as_of``, the ledger as it stood then (a revision may have changed it since)."""
    upto = OuterRef(quarter)
    to_date = F("allocation_q1")
    for later in QUARTERS[1:]:
        to_date += Case(
            When(GreaterThanOrEqual(upto, later), then=F(f"allocation_q{later}")), default=Value(Decimal(0))
        )
    ledgers = rows(BudgetYear, as_of).filter(node_id=OuterRef(node), year=OuterRef(year)).annotate(to_date=to_date)
    return Subquery(ledgers.values("to_date")[:1], output_field=DecimalField(max_digits=15, decimal_places=0))


def milestones_changed_at(*, node: int):
    """When a sub-project's milestones last changed (a planned date moved by a revision or an import, one added),
    None without any: what orders a report's milestone entries."""
    return Milestone.objects.filter(node_id=node).aggregate(at=Max("updated_at"))["at"]


def budget_year_of(*, node: int, year: int) -> BudgetYear | None:
    """The sub-project's budget ledger of the year, if the secretariat has set it."""
    return BudgetYear.objects.filter(node_id=node, year=year).first()


def reading_calendar(*, user, plan: Plan | None = None) -> str:
    """The calendar ``user`` reads dates and periods in (``gstp.calendar``): their own choice, else the
    plan's (``plan``, else the latest plan they see), else Gregorian."""
    chosen = getattr(user, "calendar", "")
    if chosen:
        return chosen
    if plan is not None:
        return plan.calendar
    if not getattr(user, "is_authenticated", False):
        return Calendar.GREGORIAN
    plans = plan_list(user=user).order_by("-end_year", "code")
    return plans.values_list("calendar", flat=True).first() or Calendar.GREGORIAN
