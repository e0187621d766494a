"""``/api/v1/exports/{resource}/``: the plan tree with its lights, reports and flags (reviews' own), and the
indicator values (``indicators.exports``), each with its list's scoping and filters."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from gstp.exports import ExportResource
from gstp.exports import ExportView as BaseExportView
from indicators.exports import INDICATOR_VALUES
from projects.models import AgencyRole
from projects.selectors import reading_calendar

from . import access, selectors
from .filters import BudgetYearFilter, FlagFilter, ReportFilter
from .project_apis import ProjectFilter


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
        "control_level": node.control_level,
        "light": node.light,
        "updated_at": node.updated_at,
    }


def _reports(user):
    """The reports a user sees, each with the evidence files the user may see (none for a reader or another
    agency), fetched once per batch of rows."""
    files = access.evidence_files_for(user).only("id", "report_id", "name", "sha256").order_by("uploaded_at", "id")
    return selectors.with_ledger(access.reports_for(user)).prefetch_related(
        Prefetch("files", queryset=files, to_attr="visible_files")
    )


def _report_row(report):
    return {
        "id": report.pk,
        "project": report.node_id,
        "period": report.period,
        "kind": report.kind,
        "status": report.status,
        "planned_progress": report.planned_progress,
        "actual_progress": report.actual_progress,
        "budget_allocated": report.budget_allocated,
        "budget_spent": report.budget_spent,
        "budget_payables": report.budget_payables,
        "budget_savings": report.budget_savings,
        "execution_rate": report.execution_rate,
        "budget_forecast_rate": report.budget_forecast_rate,
        "due_on": report.due_on,
        "submitted_on_time": report.submitted_on_time,
        "endorsed_at": report.endorsed_at,
        "accepted_at": report.accepted_at,
        "reopened_at": report.reopened_at,
        "updated_at": report.updated_at,
        # The evidence files by name and SHA-256, one a line; never their content.
        "files": "\n".join(f"{evidence.name} ({evidence.sha256})" for evidence in report.visible_files),
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


def _budget_row(ledger):
    return {
        "id": ledger.pk,
        "project": ledger.node_id,
        "plan": ledger.node.plan_id,
        "year": ledger.year,
        "appropriation": ledger.appropriation,
        "allocation_q1": ledger.allocation_q1,
        "allocation_q2": ledger.allocation_q2,
        "allocation_q3": ledger.allocation_q3,
        "allocation_q4": ledger.allocation_q4,
        "frozen": ledger.frozen,
        "updated_at": ledger.updated_at,
    }


RESOURCES = {
    "projects": ExportResource(lambda user: selectors.node_list(user=user), ProjectFilter, _project_row),
    "reports": ExportResource(_reports, ReportFilter, _report_row),
    "flags": ExportResource(lambda user: selectors.flag_list(user=user).prefetch_related(None), FlagFilter, _flag_row),
    "indicator-values": INDICATOR_VALUES,
    "budgets": ExportResource(lambda user: selectors.budget_year_list(user=user), BudgetYearFilter, _budget_row),
}


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("resource", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(RESOURCES))]
    )
)
class ExportView(BaseExportView):
    resources = RESOURCES

    def reading_calendar(self, request) -> str:
        return reading_calendar(user=request.user)
