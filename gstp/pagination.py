from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "pk"  # unique and only growing: stable while rows are written between pages


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
        return self.numbered.get_paginated_response_schema(schema)

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
