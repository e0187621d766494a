"""How the year's assessment is written out. An assessment has two shapes (``access.assessment_fields``):
whole for its chain, and its published grade and total for everyone else."""

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.serializers import FastRepresentationMixin

from .models import (
    Assessment,
    AssessmentEvent,
    AssessmentFile,
    AssessmentScheme,
    Criterion,
    GradeBand,
    Score,
)


class CriterionSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A weighted criterion of a year's assessment; `source` says which of GSTP's figures suggest its score
    (empty: judged by the reviewers alone)."""

    source = serializers.CharField(
        read_only=True, help_text="progress, budget, targets or management; empty: judged by the reviewers alone"
    )

    class Meta:
        model = Criterion
        fields = ["key", "name", "weight", "source", "description", "position"]
        read_only_fields = fields


class GradeBandSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A grade (等第) and the lowest final total that earns it."""

    class Meta:
        model = GradeBand
        fields = ["name", "minimum"]
        read_only_fields = fields


class SchemeSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A plan's assessment of a year (年度考評): its criteria, grade bands and calendar, and when it was
    published. Send `etag` as `If-Match` to change or publish it."""

    etag = serializers.CharField(read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)
    bands = GradeBandSerializer(many=True, read_only=True)

    class Meta:
        model = AssessmentScheme
        fields = [
            "id",
            "plan",
            "year",
            "self_due",
            "review_due",
            "final_due",
            "publish_on",
            "published_at",
            "version",
            "etag",
            "criteria",
            "bands",
            "updated_at",
        ]
        read_only_fields = fields


class SchemeChangeSerializer(serializers.Serializer):
    """One recorded change of a scheme (`record`: the scheme itself, a criterion or a grade band): when, by
    whom, and the record's values after it."""

    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True)
    record = serializers.CharField(help_text="scheme, criterion or band")
    record_id = serializers.IntegerField()
    change = serializers.CharField(help_text="created, changed or deleted")
    values = serializers.DictField()


class ScoreSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """One criterion of an assessment: the score GSTP suggests with what it is worked out from (`evidence`),
    then each level's score and note: the lead's (自評), the ministry's (初核) and the secretariat's (複核)."""

    criterion = serializers.CharField(source="criterion.key", read_only=True)
    name = serializers.CharField(source="criterion.name", read_only=True)
    weight = serializers.DecimalField(source="criterion.weight", max_digits=5, decimal_places=2, read_only=True)
    evidence = serializers.JSONField(read_only=True)

    class Meta:
        model = Score
        fields = [
            "criterion",
            "name",
            "weight",
            "suggested",
            "evidence",
            "self_score",
            "self_note",
            "review_score",
            "review_note",
            "final_score",
            "final_note",
        ]
        read_only_fields = fields


class PublishedAssessmentSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A sub-project's published result of a year's assessment: its final total and grade."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    plan = serializers.IntegerField(source="scheme.plan_id", read_only=True)
    year = serializers.IntegerField(source="scheme.year", read_only=True)

    class Meta:
        model = Assessment
        fields = ["id", "scheme", "project", "plan", "year", "final_total", "grade"]
        read_only_fields = fields


class AssessmentSerializer(PublishedAssessmentSerializer):
    """A sub-project's assessment of a year (年度考評). Every signed-in user sees a published one's `final_total`
    and `grade`; the rest (status, each level's totals, the scores with their suggestions and notes, who acted,
    `actions`) only the Executive Secretariat, the sub-project's leads and its ministry's reviewers see, before
    and after publication. Send `etag` as `If-Match` to change it."""

    etag = serializers.CharField(read_only=True)
    published_at = serializers.DateTimeField(source="scheme.published_at", read_only=True, allow_null=True)
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True, default=None, allow_null=True)
    endorsed_by = serializers.CharField(source="endorsed_by.username", read_only=True, default=None, allow_null=True)
    finalized_by = serializers.CharField(source="finalized_by.username", read_only=True, default=None, allow_null=True)
    scores = ScoreSerializer(many=True, read_only=True)

    class Meta(PublishedAssessmentSerializer.Meta):
        fields = [
            *PublishedAssessmentSerializer.Meta.fields,
            "status",
            "version",
            "etag",
            "self_total",
            "review_total",
            "suggested_at",
            "submitted_by",
            "submitted_at",
            "endorsed_by",
            "endorsed_at",
            "finalized_by",
            "finalized_at",
            "published_at",
            "scores",
            "updated_at",
        ]
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentSerializer):
    """A sub-project's assessment of a year, with what you may do with it now (`actions`, for its chain)."""

    actions = serializers.SerializerMethodField()

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "actions"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, assessment) -> list[str]:
        return sorted(self.context.get("actions", ()))


class AssessmentSchema(OpenApiSerializerExtension):
    """One ``Assessment`` in the schema for every caller: the chain's fields are in it, typed, and not
    required, so a generated client reads a published result as well as a whole assessment."""

    target_class = AssessmentSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        public = set(PublishedAssessmentSerializer.Meta.fields)
        schema["required"] = [name for name in schema.get("required", []) if name in public]
        return schema


def assessment_data(assessment, *, whole: bool, actions=None) -> dict:
    """An assessment as the user may see it."""
    if not whole:
        return PublishedAssessmentSerializer(assessment).data
    if actions is None:
        return AssessmentSerializer(assessment).data
    return AssessmentDetailSerializer(assessment, context={"actions": actions}).data


class AssessmentEventSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """One step of an assessment's history: who did what and when, the status before and after, the scores a
    level changed (`changes`) and the reason given."""

    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = AssessmentEvent
        fields = ["id", "action", "actor", "at", "from_status", "to_status", "version", "changes", "reason"]
        read_only_fields = fields


class AssessmentFileSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """An evidence file (佐證資料) of a self-assessment: its name as uploaded, size, detected type and SHA-256;
    `frozen_at` is when the ministry's review made it part of the record. Download it from `download`."""

    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = AssessmentFile
        fields = [
            "id",
            "name",
            "size",
            "content_type",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "frozen_at",
            "download",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_download(self, evidence) -> str:
        return reverse("assessment-file", kwargs={"id": evidence.assessment_id, "file_id": evidence.pk})
