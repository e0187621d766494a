"""Reads of the plan structure. Every list and detail starts from the rows ``access`` lets the user see."""

from django.db.models import Q

from gstp.history import is_as_of

from . import access
from .models import Agency, Milestone, attach_agency_links
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
