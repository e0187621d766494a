"""A database that cannot be reached answers 503 with a JSON body and ``Retry-After``, never a 500 page.

While PostgreSQL restarts, fails over or refuses connections, a request fails on its first query with
``OperationalError`` or ``InterfaceError`` (Django's, wrapping psycopg's). Nothing is half-written: services
own their transactions, and PostgreSQL rolls back what a lost connection left open (only a commit the server
made just as the connection dropped stands, whole). So the honest answer is "not now, retry shortly", in the
API's one error shape::

    {"detail": "...", "code": "service_unavailable"}

The API's views answer it through ``gstp.errors.exception_handler``; ``DatabaseUnavailableMiddleware`` does
for every other view (the admin, sign-in pages), and for an error raised by a middleware further in (a
session saved after the view). Other errors keep their usual answers.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException

from .responses import error_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
CODE = "service_unavailable"

_UNAVAILABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
try:
    import psycopg
except ImportError:  # SQLite only
    pass
else:
    _UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)


def database_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc``, or an exception it was raised from or while handling, says the database cannot serve
    the request right now: a refused or lost connection, a server shutting down or starting up, or another
    passing condition PostgreSQL reports as operational (a deadlock, a statement cancelled by the server)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, _UNAVAILABLE):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = CODE

    def __init__(self):
        super().__init__(detail=_("The service is unavailable for a moment; retry in a few seconds."), code=CODE)
        self.wait = RETRY_AFTER_SECONDS  # DRF's handler sends it as Retry-After


def log_unavailable(request, exc: BaseException) -> None:
    logger.warning(
        "database unavailable, answered 503: %s %s: %s: %s",
        request.method,
        request.path,
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
    )


def unavailable_response() -> JsonResponse:
    error = ServiceUnavailable()
    response = error_response(error.detail, CODE, error.status_code)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _remember_unavailable(sender, request=None, **kwargs):
    """``got_request_exception`` is sent while Django handles an uncaught exception: note it on the request, so
    the middleware can replace the 500 answer built for it."""
    exc = sys.exc_info()[1]
    if request is not None and database_unavailable(exc):
        request.database_unavailable = exc


got_request_exception.connect(_remember_unavailable, dispatch_uid="gstp.unavailable")


class DatabaseUnavailableMiddleware:
    """503 JSON for a database that cannot be reached, from a view or from a middleware listed after this one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exc = getattr(request, "database_unavailable", None)
        if exc is not None and response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR:
            log_unavailable(request, exc)
            return unavailable_response()
        return response

    def process_exception(self, request, exception):
        if database_unavailable(exception):
            log_unavailable(request, exception)
            return unavailable_response()
        return None
