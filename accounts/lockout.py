"""Sign-in rate limits with django-axes (configured in gstp/settings.py, ``AXES_*``).

Failures are counted per account and per client address; either reaching the limit locks further
sign-ins until the cool-off has passed since the last failure.
"""

import ipaddress
import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gstp.responses import error_response, is_api


class LoginAttemptBackend(AxesStandaloneBackend):
    """Refuses a sign-in over HTTP while its account or address is locked out.

    ``authenticate()`` without a request (a script, ``Client.login`` in tests) has no address to count
    and is not a sign-in from outside: it is left to the next backend instead of raising.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler, except that a successful sign-in clears only that account's failures.

    Axes would also clear every failure recorded from the same address, so a guesser holding one
    valid account could sign into it between guesses at another and never reach the address limit.
    """

    def reset_user_attempts(self, request, credentials=None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        return self.reset_attempts(username=username)


def client_ip_address(request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``GSTP_TRUSTED_PROXIES`` reverse proxies the
    entry of ``X-Forwarded-For`` the outermost of them added (entries left of it are the client's say)."""
    proxies = settings.GSTP_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


def wants_json(request) -> bool:
    return is_api(request) or "application/json" in request.headers.get("Accept", "")


def lockout_seconds(request) -> int | None:
    """How long a locked-out sign-in waits, in seconds; None where no cool-off is set."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else None


def lockout_message(seconds: int | None) -> str:
    if seconds:
        minutes = max(1, math.ceil(seconds / 60))
        return ngettext(
            "Too many failed sign-in attempts for this account or from this address. Try again in %(minutes)s minute.",
            "Too many failed sign-in attempts for this account or from this address. Try again in %(minutes)s minutes.",
            minutes,
        ) % {"minutes": minutes}
    return _("Too many failed sign-in attempts for this account or from this address.")


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """429 with the API's JSON error shape for the API's sign-in page and JSON clients, plain text
    for the admin's; ``Retry-After`` tells when to try again."""
    seconds = lockout_seconds(request)
    message = lockout_message(seconds)
    if wants_json(request):
        response = error_response(message, "too_many_login_attempts", 429)
    else:
        response = HttpResponse(message, content_type="text/plain; charset=utf-8", status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
