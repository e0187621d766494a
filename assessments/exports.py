"""``/api/v1/exports/assessments/``: the assessments as CSV, XLSX or JSON Lines, with the list's scoping and
filters, and its rule for fields: a row of the user's own chain whole (its totals, status and dates), any
other row (a published one) with its final total and grade only. The exports of the other collections are
reviews' own (``reviews.exports``); this view serves them all."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from gstp.exports import ExportResource
from reviews.exports import RESOURCES as REVIEWS_RESOURCES
from reviews.exports import ExportView as ReviewsExportView

from . import access, selectors
from .filters import AssessmentFilter

CHAIN_COLUMNS = (
    "status",
    "self_total",
    "review_total",
    "submitted_at",
    "endorsed_at",
    "finalized_at",
    "updated_at",
)


def _rows(user):
    return (
        selectors.assessment_list(user=user)
        .annotate(sees_whole=access.sees_whole_expression(user))
        .select_related("scheme__plan", "node")
    )


def _assessment_row(assessment):
    row = {
        "id": assessment.pk,
        "scheme": assessment.scheme_id,
        "plan": assessment.scheme.plan_id,
        "year": assessment.scheme.year,
        "project": assessment.node_id,
        "project_title": assessment.node.title,
        "final_total": assessment.final_total,
        "grade": assessment.grade,
    }
    for name in CHAIN_COLUMNS:
        row[name] = getattr(assessment, name) if assessment.sees_whole else None
    return row


RESOURCES = {
    **REVIEWS_RESOURCES,
    "assessments": ExportResource(_rows, AssessmentFilter, _assessment_row, period_columns=()),
}


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("resource", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(RESOURCES))]
    )
)
class ExportView(ReviewsExportView):
    resources = RESOURCES
