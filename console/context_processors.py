"""What every page's frame needs to know about the user: which menu entries to offer."""

from reviews import access


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_owed": False, "nav_review": False, "nav_locks": False, "nav_revisions": False}
    return {
        "nav_owed": bool(access.can_see_owed(user)),
        "nav_review": bool(access.can_endorse_reports(user)),
        "nav_locks": bool(access.can_lock_quarters(user)),
        "nav_revisions": bool(access.can_see_revision_queue(user)),
    }
