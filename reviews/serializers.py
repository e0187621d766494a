from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.serializers import FastRepresentationMixin

from .inputs import REPORT_CONTENT_FIELDS, IndicatorValueSerializer, MilestoneEntrySerializer
from .models import QuarterlyReport, ReportEvent


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
        return report.is_late


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
