"""Reading the year's assessment: lists as a user may see them, the review queues, the grade distribution."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Prefetch, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from . import access
from .models import Assessment, AssessmentScheme, Score

GAP_OUTPUT = DecimalField(max_digits=7, decimal_places=2)


def scheme_list(*, user) -> QuerySet[AssessmentScheme]:
    return access.schemes_for(user).select_related("plan").prefetch_related("criteria", "bands")


def assessment_list(*, user) -> QuerySet[Assessment]:
    return access.assessments_for(user).select_related("scheme", "scheme__plan", "node")


def with_scores(assessments: QuerySet[Assessment]) -> QuerySet[Assessment]:
    return assessments.prefetch_related(
        Prefetch(
            "scores", queryset=Score.objects.select_related("criterion").order_by("criterion__position", "criterion_id")
        )
    )


def with_gap(assessments: QuerySet[Assessment]) -> QuerySet[Assessment]:
    """``gap``: how far the self-assessed total stands above the suggested scores, in points of total:
    Σ (self − suggested) × weight ÷ 100 over the criteria with both (0 where none has)."""
    gaps = (
        Score.objects.filter(assessment=OuterRef("pk"), self_score__isnull=False, suggested__isnull=False)
        .order_by()
        .values("assessment")
        .annotate(
            gap=Sum(
                ExpressionWrapper(
                    (F("self_score") - F("suggested")) * F("criterion__weight") * Value(Decimal("0.01")),
                    output_field=GAP_OUTPUT,
                )
            )
        )
        .values("gap")
    )
    return assessments.annotate(
        gap=Coalesce(Subquery(gaps, output_field=GAP_OUTPUT), Decimal(0), output_field=GAP_OUTPUT)
    )


def review_queue(*, user) -> QuerySet[Assessment]:
    """What waits for the user's step, the largest gap between self-assessed and suggested scores first."""
    waiting = access.assessments_waiting_for(user).select_related("scheme", "scheme__plan", "node")
    return with_gap(waiting).order_by("-gap", "node__path")


def published_assessments(*, scheme: AssessmentScheme, user) -> list[Assessment]:
    """The published assessments of ``scheme`` the user sees, in plan order; none before publication."""
    if not scheme.is_published:
        return []
    return list(access.assessments_for(user).filter(scheme=scheme).select_related("node").order_by("node__path"))


def lead_agencies_of(node_ids) -> dict:
    """Each sub-project's (first) lead agency, in one query."""
    from projects.models import AgencyRole, NodeAgency

    leads = {}
    for link in (
        NodeAgency.objects.filter(node__in=list(node_ids), role=AgencyRole.LEAD)
        .select_related("agency")
        .order_by("node_id", "position", "pk")
    ):
        leads.setdefault(link.node_id, link.agency)
    return leads


def count_grades(assessments: list[Assessment], *, by: str = "group", leads: dict | None = None) -> list[dict]:
    """``assessments``' grades counted by group (分組, in plan order) or by lead agency (by name): ``[{"key",
    "label", "grades": {grade: count}, "total"}]``; one query (the groups or, unless given, the leads)."""
    from projects.models import PlanNode, path_ids

    counts: dict[object, Counter] = defaultdict(Counter)
    labels: dict[object, str] = {}
    if by == "agency":
        leads = lead_agencies_of(a.node_id for a in assessments) if leads is None else leads
        for assessment in assessments:
            agency = leads.get(assessment.node_id)
            key = agency.pk if agency else None
            labels[key] = agency.name if agency else ""
            counts[key][assessment.grade] += 1
        order = sorted(counts, key=lambda key: labels[key])
    else:
        roots = PlanNode.objects.in_bulk({path_ids(a.node.path)[0] for a in assessments})
        order = []
        for assessment in assessments:
            key = path_ids(assessment.node.path)[0]
            if key not in counts:
                order.append(key)
                labels[key] = roots[key].title
            counts[key][assessment.grade] += 1
    return [
        {"key": key, "label": labels[key], "grades": dict(counts[key]), "total": sum(counts[key].values())}
        for key in order
    ]


def grade_distribution(*, scheme: AssessmentScheme, user, by: str = "group") -> list[dict]:
    """The published grades of ``scheme`` the user sees, counted by group or by lead agency (``count_grades``);
    empty before publication."""
    return count_grades(published_assessments(scheme=scheme, user=user), by=by)


def latest_published_scheme(*, plan, user) -> AssessmentScheme | None:
    """The plan's most recent published assessment, for whoever may read it (every signed-in user)."""
    return access.schemes_for(user).filter(plan=plan, published_at__isnull=False).order_by("-year").first()


def grade_names(scheme: AssessmentScheme) -> list[str]:
    """The scheme's grades, best first."""
    return [band.name for band in sorted(scheme.bands.all(), key=lambda band: band.minimum, reverse=True)]


def assessment_rows(*, user) -> QuerySet[Assessment]:
    """The assessments a user sees, each marked ``sees_whole`` (``access.assessment_fields``), with the people
    who acted and, for the rows the user sees whole only, their scores: one query for the rows and one for the
    scores, whatever their number."""
    visible_scores = (
        Score.objects.filter(access.in_chain(user, "assessment__node"))
        .select_related("criterion")
        .order_by("criterion__position", "criterion_id")
    )
    return (
        assessment_list(user=user)
        .select_related("submitted_by", "endorsed_by", "finalized_by")
        .annotate(sees_whole=access.sees_whole_expression(user))
        .prefetch_related(Prefetch("scores", queryset=visible_scores))
    )


def assessment_history(*, assessment: Assessment):
    return assessment.events.select_related("actor").order_by("at", "id")


def assessment_files(*, user, assessment: Assessment):
    return access.files_for(user, assessment).select_related("uploaded_by").order_by("uploaded_at", "id")


def scheme_history(*, scheme: AssessmentScheme) -> list[dict]:
    """Every recorded change of a scheme, its criteria and its grade bands, oldest first: ``[{"at", "by",
    "record", "record_id", "change", "values"}]``."""
    from .models import Criterion, GradeBand

    kinds = {"+": "created", "~": "changed", "-": "deleted"}
    sources = (
        (
            "scheme",
            AssessmentScheme.history.filter(id=scheme.pk),
            ("self_due", "review_due", "final_due", "publish_on", "published_at", "version"),
        ),
        (
            "criterion",
            Criterion.history.filter(scheme_id=scheme.pk),
            ("key", "name", "weight", "source", "description", "position"),
        ),
        ("band", GradeBand.history.filter(scheme_id=scheme.pk), ("name", "minimum")),
    )
    entries = []
    for record, rows, fields in sources:
        for row in rows.select_related("history_user").order_by("history_date", "history_id"):
            entries.append(
                {
                    "at": row.history_date,
                    "by": row.history_user.username if row.history_user else None,
                    "record": record,
                    "record_id": row.id,
                    "change": kinds[row.history_type],
                    "values": {name: getattr(row, name) for name in fields},
                }
            )
    return sorted(entries, key=lambda entry: entry["at"])
