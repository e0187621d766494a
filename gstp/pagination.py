import base64
import re

from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.utils.urls import replace_query_param

# A cursor's position is an id (cursor pages are ordered by pk).
CURSOR_POSITION = re.compile(r"-?\d{1,20}")
PAGE_SIZE = re.compile(r"\s*\d{1,20}\s*")


class PageSizeMixin:
    """``?page_size=`` up to 500 (more is capped, and the page's links carry the capped size); anything but a
    whole number from 1 is a 400 naming the parameter, not a size silently ignored."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    used_page_size = None  # the ``?page_size=`` this request asked for, capped; None when it asked for none

    def get_page_size(self, request):
        wanted = request.query_params.get(self.page_size_query_param, "")
        if wanted == "":
            return self.page_size
        if not PAGE_SIZE.fullmatch(wanted) or int(wanted) < 1:
            message = _("Use a whole number from 1 to %(max)s.") % {"max": self.max_page_size}
            raise ValidationError({self.page_size_query_param: [message]})
        self.used_page_size = min(int(wanted), self.max_page_size)
        return self.used_page_size

    # The links repeat the size this page used, not the one asked for: ``?page_size=1000`` gives 500 rows.
    def get_next_link(self):
        return self._with_used_page_size(super().get_next_link())

    def get_previous_link(self):
        return self._with_used_page_size(super().get_previous_link())

    def _with_used_page_size(self, url):
        if url is None or self.used_page_size is None:
            return url
        return replace_query_param(url, self.page_size_query_param, self.used_page_size)


class PageNumberPagination(PageSizeMixin, pagination.PageNumberPagination):
    pass


class CursorPagination(PageSizeMixin, pagination.CursorPagination):
    ordering = "pk"  # unique and only growing: stable while rows are written between pages

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded:
            try:  # DRF skips what is not base64, so a cursor of garbage would read as the first page
                base64.b64decode(encoded.encode("ascii"), validate=True)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not CURSOR_POSITION.fullmatch(cursor.position):
            raise NotFound(self.invalid_cursor_message)  # not a cursor this API gave out
        return cursor


class Pagination(pagination.BasePagination):
    """Numbered pages with a total by default; ``?cursor=`` (empty for the first page) switches a list to
    cursor pages: no ``COUNT(*)``, the same cost for the 2,000th page as for the first, and a stable order
    (by id) while rows are written in between, for syncing large collections."""

    def __init__(self):
        self.numbered = PageNumberPagination()
        self.cursor = CursorPagination()
        self.active = self.numbered

    def paginate_queryset(self, queryset, request, view=None):
        self.active = self.cursor if "cursor" in request.query_params else self.numbered
        return self.active.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.active.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        paginated = self.numbered.get_paginated_response_schema(schema)
        # Cursor pages carry no total.
        paginated["required"] = [name for name in paginated["required"] if name != "count"]
        paginated["properties"]["count"]["description"] = "The total; absent from cursor pages."
        return paginated

    def get_schema_operation_parameters(self, view):
        return [
            *self.numbered.get_schema_operation_parameters(view),
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Cursor pages (empty for the first page): no total, ordered by id, stable under writes.",
                "schema": {"type": "string"},
            },
        ]
