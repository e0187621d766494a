"""Reads of the plan structure. Every list and detail starts from a ``visible_to`` scope."""

from django.db.models import Q

from reviews.selectors import light_expression

from .models import Agency, Milestone, Plan, PlanNode, Tombstone
from .outline import agencies as agency_names


def agency_list(*, user):
    return Agency.objects.visible_to(user).select_related("parent").prefetch_related("aliases")


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
    return Plan.objects.visible_to(user)


def node_tree(*, user):
    """The plan-tree nodes a user may see, each with its convening agency and agency links."""
    return PlanNode.objects.visible_to(user).select_related("convening_agency").with_agency_links()


def node_list(*, user):
    """``node_tree`` with each node's light, as the API shows them."""
    return node_tree(user=user).annotate(light=light_expression())


def milestone_list(*, user):
    return Milestone.objects.visible_to(user).select_related("node")


def deletion_list(*, user):
    """Ids of deleted rows: every signed-in user may know that an id is gone, nothing more."""
    if not (user and user.is_authenticated):
        return Tombstone.objects.none()
    return Tombstone.objects.all()


def milestones_open_for(node_ids):
    """Milestones not yet completed of these sub-projects."""
    return Milestone.objects.filter(node_id__in=node_ids, completed_on__isnull=True)
