"""Conditional reads: every API answer to GET carries ``Last-Modified`` (and, through Django's
ConditionalGetMiddleware, an ``ETag``), so a client asking with ``If-None-Match`` or
``If-Modified-Since`` gets 304 when nothing changed. And an API query string that is not UTF-8 is refused."""

from urllib.parse import unquote_to_bytes

from django.core.exceptions import ImproperlyConfigured
from django.middleware.http import ConditionalGetMiddleware as DjangoConditionalGetMiddleware
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date
from django.utils.translation import gettext as _

from .representations import NotModified
from .responses import error_response, is_api


def _latest_update(data):
    """The newest ``updated_at`` in an API answer: the object's own, or the newest row of a page."""
    rows = data.get("results") if isinstance(data, dict) and isinstance(data.get("results"), list) else None
    if rows is None:
        rows = data if isinstance(data, list) else [data]
    stamps = [parse_datetime(row["updated_at"]) for row in rows if isinstance(row, dict) and row.get("updated_at")]
    stamps = [stamp for stamp in stamps if stamp is not None]
    return max(stamps) if stamps else None


class LastModifiedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        data = getattr(response, "data", None)
        if request.method in ("GET", "HEAD") and response.status_code == 200 and data is not None:
            if not response.has_header("Last-Modified"):
                latest = _latest_update(data)
                if latest is not None:
                    response["Last-Modified"] = http_date(latest.timestamp())
        return response


class ConditionalGetMiddleware(DjangoConditionalGetMiddleware):
    """Django's, for successful reads only: an error carries no validator to revalidate against."""

    def process_response(self, request, response):
        if response.status_code != 200:
            return response
        answer = super().process_response(request, response)
        if isinstance(answer, NotModified):  # validators a view found matching, no longer matching: never sent
            raise ImproperlyConfigured("A view answered 304 on validators the request does not match.")
        return answer


class QueryStringEncodingMiddleware:
    """An API request whose query string does not decode as UTF-8 is refused with 400, as JSON.

    Django would read such bytes as U+FFFD and carry on, filtering on something the client never sent.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request) and not _is_utf8(request.META.get("QUERY_STRING", "")):
            return error_response(_("The query string is not valid UTF-8."), "invalid_query_string", 400)
        return self.get_response(request)


def _is_utf8(query_string: str) -> bool:
    # WSGI hands the raw bytes over as ISO-8859-1 text; percent-escapes may encode any byte.
    try:
        unquote_to_bytes(query_string.encode("iso-8859-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True
