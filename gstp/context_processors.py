from .branding import SYSTEM_NAME


def branding(request):
    """The system's name, for every page's frame."""
    return {"system_name": SYSTEM_NAME}
