"""Bulk exports of a collection as CSV, XLSX or JSON Lines: the machinery, for the apps' own resources.

Each app says what it exports (``ExportResource``: the rows a user may see, the list's filters, a row
function; ``reviews.exports`` gathers them into the view). Rows are streamed from a server-side
iterator, with the same scoping and filters as the lists, so memory stays flat however many rows there
are (XLSX goes through a temporary file, which openpyxl's write-only workbook needs).
"""

import csv
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

CHUNK = 2000  # rows read from the database at a time
BLOCK_LINES = 200  # lines sent to the client at a time
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportResource:
    rows_for: Callable  # (user) -> the queryset of rows the user may see
    filterset_class: type | None  # the list's filters, or None
    row: Callable  # (object) -> dict: the row's columns, in order


class _Echo:
    def write(self, value):
        return value


def _text(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _in_blocks(lines):
    """The lines joined ``BLOCK_LINES`` at a time: one write to the client per block, not per row."""
    size, block = BLOCK_LINES, []
    for line in lines:
        block.append(line)
        if len(block) == size:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)


def _csv(rows):
    writer = csv.writer(_Echo())
    first = True
    for row in rows:
        if first:
            yield "\ufeff" + writer.writerow(list(row))  # a BOM, so spreadsheet programs read UTF-8
            first = False
        yield writer.writerow([_text(value) for value in row.values()])


def _jsonl(rows):
    encode = DjangoJSONEncoder(ensure_ascii=False).encode
    for row in rows:
        yield encode(row) + "\n"


def _xlsx(rows, title):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    first = True
    for row in rows:
        if first:
            sheet.append(list(row))
            first = False
        sheet.append([value if isinstance(value, int | float) else _text(value) for value in row.values()])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return spool


class ExportView(APIView):
    resources: dict[str, ExportResource] = {}  # path name -> resource; set by the app that serves them

    def perform_content_negotiation(self, request, force=False):
        # ?format= names the file's format here, not a renderer; errors are JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="Export a collection as CSV, XLSX or JSON Lines, with the list's filters",
        parameters=[
            OpenApiParameter("resource", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=list(FORMATS), description=_("csv (default), xlsx or jsonl")
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=_("The file, streamed.")),
            (200, FORMATS["xlsx"]): OpenApiResponse(OpenApiTypes.BINARY, description=_("The file, streamed.")),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description=_("The file, streamed.")),
            400: None,
            404: None,
        },
    )
    def get(self, request, resource: str):
        if resource not in self.resources:
            raise NotFound(_("No such export."))
        fmt = request.query_params.get("format", "csv")
        if fmt not in FORMATS:
            raise ValidationError({"format": [_("Use csv, xlsx or jsonl.")]})
        export = self.resources[resource]
        filterset_class, row = export.filterset_class, export.row
        queryset = export.rows_for(request.user)
        if filterset_class is not None:
            params = request.query_params.copy()
            params.pop("format", None)
            filterset = filterset_class(params, queryset=queryset, request=request)
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            queryset = filterset.qs
        rows = (row(item) for item in queryset.iterator(chunk_size=CHUNK))
        filename = f"gstp-{resource}.{fmt}"
        if fmt == "xlsx":
            return FileResponse(_xlsx(rows, resource), as_attachment=True, filename=filename, content_type=FORMATS[fmt])
        stream = _in_blocks(_csv(rows) if fmt == "csv" else _jsonl(rows))
        response = StreamingHttpResponse(stream, content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
