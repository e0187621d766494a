"""Bulk exports of a collection as CSV, XLSX or JSON Lines: the machinery, for the apps' own resources.

Each app says what it exports (``ExportResource``: the rows a user may see, the list's filters, a row
function; ``reviews.exports`` gathers them into the view). Rows are streamed from a server-side
iterator, with the same scoping and filters as the lists, so memory stays flat however many rows there
are (XLSX goes through a temporary file, which openpyxl's write-only workbook needs).

CSV and XLSX are read by people: ``?calendar=roc`` writes their dates ``113/07/01``, moments
``113/07/01 14:03`` (Asia/Taipei) and periods ``113年第3季`` (``gstp.calendar``); by default, the calendar the
user reads in. JSON Lines is read by programs and stays ISO 8601 and ``2024Q3``, as the API.
"""

import csv
import datetime
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

from . import calendar
from .calendar_fields import calendar_asked

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
    period_columns: tuple[str, ...] = ("period",)  # columns holding a period (2024Q3), written in the calendar


class _Echo:
    def write(self, value):
        return value


def _text(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _for_people(rows, chosen: str, period_columns):
    """Rows with their dates, moments and periods as ``chosen`` writes them (Gregorian rows unchanged)."""
    if chosen != calendar.Calendar.ROC:
        yield from rows
        return
    for row in rows:
        yield {
            name: (
                calendar.format_period(value, chosen)
                if name in period_columns and value is not None
                else calendar.format_value(value, chosen)
                if isinstance(value, datetime.date)
                else value
            )
            for name, value in row.items()
        }


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
    throttle_scope = "export"  # a whole collection per request: its own, lower limit (gstp/throttles.py)

    def reading_calendar(self, request) -> str:
        """The calendar the user reads in when ``?calendar=`` is not given (the app that serves knows)."""
        return calendar.Calendar.GREGORIAN

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
            OpenApiParameter(
                "calendar",
                OpenApiTypes.STR,
                enum=list(calendar.Calendar.values),
                description=_(
                    "How CSV and XLSX write dates and periods: gregorian (2024-07-01, 2024Q3) or roc "
                    "(113/07/01, 113年第3季). By default, the calendar you read in (yours, else the plan's). "
                    "JSON Lines is always ISO 8601."
                ),
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
        chosen = calendar_asked(request) or self.reading_calendar(request)
        export = self.resources[resource]
        filterset_class, row = export.filterset_class, export.row
        queryset = export.rows_for(request.user)
        if filterset_class is not None:
            params = request.query_params.copy()
            params.pop("format", None)
            params.pop("calendar", None)
            filterset = filterset_class(params, queryset=queryset, request=request)
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            queryset = filterset.qs
        rows = (row(item) for item in queryset.iterator(chunk_size=CHUNK))
        if fmt != "jsonl":
            rows = _for_people(rows, chosen, export.period_columns)
        filename = f"gstp-{resource}.{fmt}"
        if fmt == "xlsx":
            return FileResponse(_xlsx(rows, resource), as_attachment=True, filename=filename, content_type=FORMATS[fmt])
        stream = _in_blocks(_csv(rows) if fmt == "csv" else _jsonl(rows))
        response = StreamingHttpResponse(stream, content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
