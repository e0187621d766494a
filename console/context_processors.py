"""What every page's frame needs to know about the user: which menu entries to offer."""

from reviews import access


def navigation(request):
    user = getattr(request, "user", None)
    return {"nav_owed": bool(user is not None and access.can_see_owed(user))}
