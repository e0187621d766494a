"""Request size limits, answered with the API's JSON error shape.

A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413 before any view reads it:
judged from ``Content-Length`` when the request has one, and otherwise (a chunked body on ASGI) by
Django reading at most one byte past the limit. DRF reads a JSON body straight from the stream and
never checks the limit itself, so this is the only place it is enforced for the API.

An upload endpoint takes more: its handler, marked with ``large_body``, says how much, and a body past
that is refused the same way, naming the field the file comes in. A body past the general limit must
announce its length (``Content-Length``), or it gets 411: it is never read into memory to be measured.

When Django's own parsing gives up (``RequestDataTooBig``, ``TooManyFieldsSent``) the answer is JSON
too: from a view through ``process_exception``, from elsewhere through ``bad_request`` (handler400).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views import defaults

from .responses import error_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def request_too_large(limit: int | None = None, field: str | None = None) -> JsonResponse:
    detail = _("The request body is larger than this server accepts (%(limit)s bytes at most).") % {
        "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
    }
    body = {"detail": str(detail), "code": "request_too_large"}
    if field is not None:
        body["errors"] = {field: [str(detail)]}
    return JsonResponse(body, status=413)


@dataclass(frozen=True)
class LargeBody:
    limit: Callable[[], int]  # read per request, so that it follows the settings
    field: str  # the form field the large part comes in, named in the refusal


def large_body(limit: Callable[[], int], *, field: str):
    """Mark a view's handler (a class's ``post``, a viewset's action, a function view) as taking a request
    body of up to ``limit()`` bytes, its file in the form field ``field``."""

    def mark(handler):
        handler.large_body = LargeBody(limit, field)
        return handler

    return mark


def _large_body(request) -> LargeBody | None:
    """What the handler the request goes to says it takes, if it is marked with ``large_body``."""
    try:
        callback = resolve(request.path_info).func
    except Resolver404:
        return None
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a function view
        return getattr(callback, "large_body", None)
    method = request.method.lower()
    name = (getattr(callback, "actions", None) or {}).get(method, method)
    return getattr(getattr(view_class, name, None), "large_body", None)


def too_many_fields() -> JsonResponse:
    detail = _("The request has more fields than this server accepts (%(limit)s at most).") % {
        "limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    }
    return error_response(detail, "too_many_fields", 400)


def _answer_for(exception) -> JsonResponse | None:
    if isinstance(exception, RequestDataTooBig):
        return request_too_large()
    if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        return too_many_fields()
    return None


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return error_response(_("The Content-Length header is not a number."), "invalid_content_length", 400)
            if limit is not None and length > limit:
                large = _large_body(request)
                if large is None:
                    return request_too_large()
                if length > large.limit():
                    return request_too_large(large.limit(), large.field)
        elif request.method in BODY_METHODS:
            # No Content-Length: Django reads at most one byte past the limit and raises if there is more.
            try:
                body = request.body
            except RequestDataTooBig:
                if _large_body(request) is not None:
                    return error_response(
                        _("Send an upload this large with a Content-Length header."), "length_required", 411
                    )
                return request_too_large()
            if body:
                # DRF parses a body only when Content-Length announces one.
                request.META["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)

    def process_exception(self, request, exception):
        return _answer_for(exception)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """handler400: JSON for a body Django refused to parse, Django's page for anything else."""
    return _answer_for(exception) or defaults.bad_request(request, exception, template_name)
