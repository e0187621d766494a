from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.serializers import FastRepresentationMixin
from indicators.models import Indicator
from projects.models import Milestone, NodeKind, PlanNode

from .models import TEXT_MAX_CHARS, QuarterlyReport, ReportEvent, ReportIndicatorValue, ReportMilestoneEntry
from .models.reports import CONTENT_FIELDS
from .periods import Quarter, today


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, instead of silently dropping them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown or read-only field.")] for name in unknown})
        return super().to_internal_value(data)


class MilestoneEntrySerializer(FastRepresentationMixin, StrictFieldsMixin, serializers.ModelSerializer):
    milestone = serializers.PrimaryKeyRelatedField(queryset=Milestone.objects.all())

    class Meta:
        model = ReportMilestoneEntry
        fields = ["milestone", "completed_on", "forecast_date", "note"]


class IndicatorValueSerializer(FastRepresentationMixin, StrictFieldsMixin, serializers.ModelSerializer):
    indicator = serializers.PrimaryKeyRelatedField(queryset=Indicator.objects.all())

    class Meta:
        model = ReportIndicatorValue
        fields = ["indicator", "value", "text"]


class PeriodField(serializers.CharField):
    default_error_messages = {"invalid_period": _("Write the quarter as YYYYQn, for example 2024Q3.")}

    def to_internal_value(self, data):
        try:
            return Quarter.parse(super().to_internal_value(data))
        except ValueError:
            self.fail("invalid_period")

    def to_representation(self, value):
        return str(value)


REPORT_CONTENT_FIELDS = [*CONTENT_FIELDS, "milestone_entries", "indicator_values"]


class ReportUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    milestone_entries = MilestoneEntrySerializer(many=True, required=False)
    indicator_values = IndicatorValueSerializer(many=True, required=False)

    class Meta:
        model = QuarterlyReport
        fields = REPORT_CONTENT_FIELDS
        extra_kwargs = {
            name: {"max_length": TEXT_MAX_CHARS}
            for name in ["achievements", "delay_reasons", "countermeasures", "progress_explanation"]
        }


class ReportCreateSerializer(ReportUpdateSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=PlanNode.objects.filter(kind=NodeKind.SUBPROJECT))
    period = PeriodField()

    class Meta(ReportUpdateSerializer.Meta):
        fields = ["project", "period", *REPORT_CONTENT_FIELDS]


class ReturnSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text=_("Why the report goes back to the agency."))


class EmptySerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class ReportSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    plan = serializers.IntegerField(source="node.plan_id", read_only=True)
    period = serializers.CharField(read_only=True)
    is_late = serializers.SerializerMethodField()
    milestone_entries = MilestoneEntrySerializer(source="milestone_entry_list", many=True, read_only=True)
    indicator_values = IndicatorValueSerializer(source="indicator_value_list", many=True, read_only=True)

    class Meta:
        model = QuarterlyReport
        fields = [
            "id",
            "project",
            "plan",
            "period",
            "year",
            "quarter",
            "status",
            "version",
            *REPORT_CONTENT_FIELDS,
            "due_on",
            "is_late",
            "submitted_on_time",
            "first_submitted_at",
            "submitted_at",
            "returned_at",
            "return_reason",
            "accepted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_is_late(self, report) -> bool:
        if report.submitted_on_time is not None:
            return not report.submitted_on_time
        return report.due_on < today()


class ReportEventSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = ReportEvent
        fields = ["id", "action", "actor", "at", "from_status", "to_status", "version", "changes", "reason"]
        read_only_fields = fields


class OwedReportSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="project.pk")
    project_title = serializers.CharField(source="project.title")
    period = serializers.CharField()
    due_on = serializers.DateField()
    status = serializers.CharField()
    report = serializers.IntegerField(source="report_id", allow_null=True)
    is_overdue = serializers.BooleanField()
