"""Bulk exports: projects, reports, flags and indicator values as CSV, XLSX or JSON Lines.

Streamed row by row from a server-side iterator, with the same scoping and filters as the lists,
so memory stays flat however many rows there are (XLSX goes through a temporary file, which
openpyxl's write-only workbook needs).
"""

import csv
import json
import tempfile

from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from indicators.selectors import indicator_actual_list
from projects.filters import ProjectFilter
from projects.models import AgencyRole
from projects.selectors import node_list
from reviews.filters import FlagFilter, ReportFilter
from reviews.selectors import flag_list, report_visible_to

CHUNK = 2000  # rows read from the database at a time
BLOCK_LINES = 200  # lines sent to the client at a time
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _agencies(node, role):
    return "、".join(agency.name for agency in node.agencies_in_role(role))


def _project_row(node):
    return {
        "id": node.pk,
        "plan": node.plan_id,
        "parent": node.parent_id,
        "kind": node.kind,
        "number": node.number,
        "title": node.title,
        "lead_agencies": _agencies(node, AgencyRole.LEAD),
        "co_agencies": _agencies(node, AgencyRole.CO),
        "start_date": node.start_date,
        "end_date": node.end_date,
        "budget": node.budget,
        "light": node.light,
        "updated_at": node.updated_at,
    }


def _report_row(report):
    return {
        "id": report.pk,
        "project": report.node_id,
        "period": report.period,
        "status": report.status,
        "planned_progress": report.planned_progress,
        "actual_progress": report.actual_progress,
        "budget_allocated": report.budget_allocated,
        "budget_spent": report.budget_spent,
        "due_on": report.due_on,
        "submitted_on_time": report.submitted_on_time,
        "accepted_at": report.accepted_at,
        "updated_at": report.updated_at,
    }


def _flag_row(flag):
    return {
        "id": flag.pk,
        "project": flag.node_id,
        "rule": flag.rule,
        "period": flag.period,
        "severity": flag.severity,
        "status": flag.status,
        "opened_at": flag.opened_at,
        "resolved_at": flag.resolved_at,
        "evidence": json.dumps(flag.evidence, ensure_ascii=False, cls=DjangoJSONEncoder),
        "updated_at": flag.updated_at,
    }


def _indicator_value_row(actual):
    return {
        "indicator": actual.indicator_id,
        "name": actual.indicator.name,
        "project": actual.indicator.node_id,
        "unit": actual.indicator.unit,
        "year": actual.year,
        "quarter": actual.quarter,
        "value": actual.value,
        "text": actual.text,
        "is_estimate": actual.is_estimate,
        "as_of": actual.as_of,
        "source": actual.source,
    }


# resource -> (rows the user may see, the list's filters, row function)
RESOURCES = {
    "projects": (lambda user: node_list(user=user), ProjectFilter, _project_row),
    "reports": (lambda user: report_visible_to(user), ReportFilter, _report_row),
    "flags": (lambda user: flag_list(user=user).prefetch_related(None), FlagFilter, _flag_row),
    "indicator-values": (lambda user: indicator_actual_list(user=user), None, _indicator_value_row),
}


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
    def perform_content_negotiation(self, request, force=False):
        # ?format= names the file's format here, not a renderer; errors are JSON.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="Export a collection as CSV, XLSX or JSON Lines, with the list's filters",
        parameters=[
            OpenApiParameter("resource", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(RESOURCES)),
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=list(FORMATS), description=_("csv (default), xlsx or jsonl")
            ),
        ],
        responses={200: OpenApiResponse(description=_("The file, streamed.")), 400: None, 404: None},
    )
    def get(self, request, resource: str):
        if resource not in RESOURCES:
            raise NotFound(_("No such export."))
        fmt = request.query_params.get("format", "csv")
        if fmt not in FORMATS:
            raise ValidationError({"format": [_("Use csv, xlsx or jsonl.")]})
        scope, filterset_class, row = RESOURCES[resource]
        queryset = scope(request.user)
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
