"""Who sees and does what with the plan structure: agencies, plans, the plan tree, milestones.

Every signed-in user reads the whole plan structure, in the console as in the API; nobody changes it
through either (the outline importer and the admin do), but for a sub-project's control level (列管等級),
which the secretariat sets in the API as in the admin. What the structure decides for the other apps is
who leads a sub-project: a lead acts for its agency and the agency's sub-units, so it leads the
sub-projects whose lead agencies are in its agency's subtree. Roles are read through ``accounts.access``.
"""

from __future__ import annotations

from collections import defaultdict

import rules
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.access import Capability, acting_agency, is_signed_in, oversees, reviewing_agency, users_with
from gstp.history import rows

from .models import Agency, AgencyRole, BudgetYear, Milestone, NodeAgency, Plan, PlanNode, Tombstone


def _signed_in(queryset: QuerySet, user) -> QuerySet:
    return queryset if is_signed_in(user) else queryset.none()


def agencies_for(user) -> QuerySet[Agency]:
    return _signed_in(Agency.objects.all(), user)


def plans_for(user) -> QuerySet[Plan]:
    return _signed_in(Plan.objects.all(), user)


def nodes_for(user, *, as_of=None) -> QuerySet[PlanNode]:
    """Every node of the plan tree (as it was at ``as_of``, ``gstp.history``), to every signed-in user."""
    return _signed_in(rows(PlanNode, as_of), user)


def milestones_for(user, *, as_of=None) -> QuerySet[Milestone]:
    return _signed_in(rows(Milestone, as_of), user)


def budget_years_for(user, *, as_of=None) -> QuerySet[BudgetYear]:
    """Sub-projects' budget ledgers (as they stood at ``as_of``), read as the plan tree they belong to
    (``nodes_for``): every signed-in user."""
    return _signed_in(rows(BudgetYear, as_of), user)


def deletions_for(user) -> QuerySet[Tombstone]:
    """Ids of deleted rows: every signed-in user may know that an id is gone, nothing more."""
    return _signed_in(Tombstone.objects.all(), user)


def led_by_agency(agency, node_ref: str = "pk") -> Q:
    """A condition on rows whose ``node_ref`` is a sub-project that the agency or one of its sub-units
    leads: what a lead of that agency leads, and what the agency owes reports for."""
    links = NodeAgency.objects.filter(
        node=OuterRef(node_ref), role=AgencyRole.LEAD, agency__path__startswith=agency.path
    )
    return Q(Exists(links))


def led_by(user, node_ref: str = "pk") -> Q:
    """A condition on rows whose ``node_ref`` is a sub-project the user leads (``led_by_agency`` of its
    agency). Matches nothing for a user who files for no agency."""
    agency = acting_agency(user)
    return Q(pk__in=[]) if agency is None else led_by_agency(agency, node_ref)


@rules.predicate
def leads_node(user, node) -> bool:
    """The user files for one of the node's lead agencies (or an agency above one)."""
    agency = acting_agency(user)
    if agency is None or node is None:
        return False
    return NodeAgency.objects.filter(node=node, role=AgencyRole.LEAD, agency__path__startswith=agency.path).exists()


def _lead_agency_paths(node) -> set[str]:
    return set(
        Agency.objects.filter(node_links__node=node, node_links__role=AgencyRole.LEAD).values_list("path", flat=True)
    )


def _paths_above_leads(node) -> set[str]:
    """The paths of the node's lead agencies and of every agency above one: an agency's path and those
    above it are the prefixes of its path that end a segment."""
    return {
        path[: end + 1] for path in _lead_agency_paths(node) for end, char in enumerate(path) if char == "/" and end
    }


def leads_of_node(node):
    """The accounts that lead a sub-project (``leads_node``), for telling them about it."""
    return users_with(Capability.FILE).filter(agency__path__in=_paths_above_leads(node))


def reviewed_by(user, node_ref: str = "pk") -> Q:
    """A condition on rows whose ``node_ref`` is a sub-project the user's ministry reviews: one that the
    ministry or a sub-unit leads. Matches nothing for a user who reviews for no ministry."""
    agency = reviewing_agency(user)
    return Q(pk__in=[]) if agency is None else led_by_agency(agency, node_ref)


@rules.predicate
def reviews_node(user, node) -> bool:
    """The user reviews for the ministry of one of the node's lead agencies."""
    agency = reviewing_agency(user)
    if agency is None or node is None:
        return False
    return NodeAgency.objects.filter(node=node, role=AgencyRole.LEAD, agency__path__startswith=agency.path).exists()


def _ministry_path(path: str) -> str:
    """The path of the top agency (the ministry) above the agency at ``path``: its first segment."""
    return path[: path.index("/", 1) + 1]


def reviewing_ministries(node) -> QuerySet[Agency]:
    """The ministries whose reviewers endorse a sub-project's reports: the top agency above each of its
    lead agencies."""
    return Agency.objects.filter(path__in={_ministry_path(path) for path in _lead_agency_paths(node)})


def reviewing_ministries_of(node_ids) -> dict[int, list[Agency]]:
    """``reviewing_ministries`` of many sub-projects in two queries, whatever their number: by sub-project
    id, each ministry once, in path order. Sub-projects without a lead agency are left out."""
    node_ids = list(node_ids)
    if not node_ids:
        return {}
    paths: dict[int, set[str]] = defaultdict(set)
    leads = NodeAgency.objects.filter(node_id__in=node_ids, role=AgencyRole.LEAD).order_by()
    for node_id, path in leads.values_list("node_id", "agency__path"):
        paths[node_id].add(_ministry_path(path))
    ministries = {
        agency.path: agency for agency in Agency.objects.filter(path__in=set().union(*paths.values())).order_by()
    }
    return {
        node_id: [ministries[path] for path in sorted(node_paths) if path in ministries]
        for node_id, node_paths in paths.items()
    }


def reviewers_of_node(node):
    """The accounts that endorse a sub-project's reports (``reviews_node``), for telling them about it."""
    return users_with(Capability.ENDORSE).filter(agency__path__in=_paths_above_leads(node))


# --- actions ---------------------------------------------------------------------------------------------

# 列管等級: the secretariat decides how closely a sub-project is watched.
can_set_control_level = oversees | rules.is_superuser
NOT_ALLOWED_TO_SET_CONTROL_LEVEL = _("Only the Executive Secretariat sets a sub-project's control level.")


rules.add_perm("projects.view_structure", is_signed_in)
rules.add_perm("projects.set_control_level", can_set_control_level)
