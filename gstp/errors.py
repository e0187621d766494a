"""One JSON shape for every API error.

``{"detail": "...", "code": "...", "errors": {"field": ["message", ...]}}``:
``detail`` is a sentence for a person, ``code`` is stable for a program, and
``errors`` names each offending field (``non_field_errors`` for the object).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ApplicationError
from .responses import error_response, is_api
from .unavailable import ServiceUnavailable, database_unavailable, log_unavailable


def _flatten_codes(codes):
    if isinstance(codes, dict):
        return next((_flatten_codes(v) for v in codes.values()), "invalid")
    if isinstance(codes, list):
        return _flatten_codes(codes[0]) if codes else "invalid"
    return codes


def exception_handler(exc, context):
    if database_unavailable(exc):
        log_unavailable(context["request"], exc)
        exc = ServiceUnavailable()  # 503 with Retry-After, not a 500: the request can be sent again
    if isinstance(exc, ApplicationError):
        data = {"detail": str(exc.detail), "code": exc.code}
        if exc.field:
            data["errors"] = {exc.field: [str(exc.detail)]}
        return Response(data, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "detail": _("The request has invalid fields."),
            "code": _flatten_codes(exc.get_codes()),
            "errors": detail,
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {"detail": str(exc.detail), "code": codes if isinstance(codes, str) else "error"}
    return response


def not_found(request, exception=None):
    """handler404: an API path that matches no route answers like any other 404 of the API."""
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    return error_response(exceptions.NotFound.default_detail, "not_found", 404)


def server_error(request):
    """handler500: an API client gets the error as JSON, never an HTML page."""
    if not is_api(request):
        return defaults.server_error(request)
    return error_response(exceptions.APIException.default_detail, "error", 500)
