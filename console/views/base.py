"""What every page shares: signed-in only, refusals as a page that says why, safe redirects back."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.exceptions import ValidationError as DRFValidationError

from gstp.exceptions import ApplicationError, StaleVersion
from gstp.history import requested_as_of


def console_page(view):
    """Sign-in required; a ``PermissionDenied`` from a permission check or a service is a 403 page with its
    message (the API's 403), and an object outside the user's scope is a 404 (the API's 404)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            message = str(exc.args[0]) if exc.args else ""
            return render(request, "console/forbidden.html", {"message": message}, status=403)

    return login_required(wrapper)


def next_url(request, default: str) -> str:
    """Where to go after an action: the page it was taken on, if that page is on this site."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def validation_errors(exc: ValidationError):
    """A service's ValidationError as the API writes it: ``{"field": [...]}``, or a list for the whole object."""
    return exc.message_dict if hasattr(exc, "error_dict") else exc.messages


# What a service refuses with, for a form to show: a ValidationError field by field, an ApplicationError (a
# stale version, a report in the wrong state) as one message for the whole form.
SERVICE_ERRORS = (ValidationError, ApplicationError)


def service_errors(exc: ValidationError | ApplicationError):
    if isinstance(exc, ApplicationError):
        # An error about one field of the request (a file too large) goes next to that field.
        return {exc.field: [str(exc.detail)]} if getattr(exc, "field", None) else [str(exc.detail)]
    return validation_errors(exc)


def error_messages(errors) -> list[str]:
    """Errors (a serializer's or ``service_errors``) as plain messages, for a page that has no field to show
    them by."""
    if isinstance(errors, dict):
        return [message for value in errors.values() for message in error_messages(value)]
    if isinstance(errors, list | tuple):
        return [message for value in errors for message in error_messages(value)]
    return [str(errors)]


def error_status(exc: ValidationError | ApplicationError) -> int:
    """The API's status for a service's refusal: 400 for what was typed, else the error's own (409, 412, 413)."""
    return exc.status_code if isinstance(exc, ApplicationError) else 400


def posted_version(request) -> int:
    """The report's version the form was rendered with: the page's If-Match. Missing or foreign is stale."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        raise StaleVersion() from None


def page_as_of(request):
    """The past moment a page is asked for (``?as_of=``, ``gstp.history.parse_as_of``) and the error to show
    for a bad one: ``(moment or None, message or None)``."""
    try:
        return requested_as_of(request), None
    except DRFValidationError as exc:
        return None, error_messages(exc.detail)[0]


def dashboard_url() -> str:
    return reverse("console:dashboard")
