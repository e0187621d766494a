"""What every page's frame needs to know about the user: which menu entries to offer."""

from functools import partial

from assessments import access as assessment_access
from reviews import access


def _waiting_count(user) -> int:
    return assessment_access.assessments_waiting_for(user).count()


def _assessments_entry(user) -> str:
    """Which entry the year's assessment has: the reviews (考評複核), a lead's self-assessments (年度考評), or
    the published results."""
    if assessment_access.can_see_assessment_queue(user):
        return "review"
    if assessment_access.can_self_assess(user):
        return "self"
    return "results"


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_owed": False, "nav_review": False, "nav_locks": False, "nav_revisions": False}
    return {
        "nav_owed": bool(access.can_see_owed(user)),
        "nav_review": bool(access.can_endorse_reports(user)),
        "nav_locks": bool(access.can_lock_quarters(user)),
        "nav_revisions": bool(access.can_see_revision_queue(user)),
        "nav_assessments": _assessments_entry(user),
        # counted only where the menu shows it
        "nav_assessments_waiting": partial(_waiting_count, user),
    }
