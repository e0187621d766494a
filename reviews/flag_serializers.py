from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.serializers import FastRepresentationMixin

from .models import FlagComment, LagFlag, LagRule


def _decimal(**kwargs):
    return serializers.DecimalField(max_digits=None, decimal_places=None, required=False, **kwargs)


class EscalationSerializer(serializers.Serializer):
    """Why a yellow flag turned red: the same rule was yellow in the quarter before."""

    reason = serializers.CharField()
    previous_period = serializers.CharField()


class MinistrySerializer(serializers.Serializer):
    """A ministry that endorses a sub-project's reports."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class FlagEvidenceSerializer(serializers.Serializer):
    """The numbers a flag was raised on, as the lag scan wrote them: always `rule` and `period`, then the
    fields of its rule. `late_report`: `report_status` (draft, returned or missing), `due_on`, `days_late`,
    `red_after`, and for a returned report `returned_on`, `days_since_returned` and `threshold_days`.
    `milestone_overdue`: the worst overdue `milestone` with its `title`, `planned_date`, `forecast_date`,
    `days_overdue`, `is_critical`, `red_over_days`, `red_because` and, when several are overdue,
    `overdue_milestones`. `progress_gap`: the `report`, `planned_progress`, `actual_progress`, `gap`,
    `yellow_at_or_below` and `red_at_or_below` (percentage points). `budget_execution`: the `report`,
    `budget_spent` (實支數), `budget_payables` (應付未付數), `budget_savings` (節餘數), `budget_allocated`
    (累計分配數, from the budget ledger) and `execution_rate` ((spent + payables + savings) ÷ allocated × 100),
    `yellow_below` and `red_below` (percent); flags raised before payables and savings counted have neither.
    `indicator_behind`: the `indicator` with its `name`, `actual`, `expected`, `target`, `target_year`,
    `ratio`, `status`, `yellow_below` and `red_below` (ratios). `review_overdue`: the `report` waiting for
    its ministry's endorsement, `submitted_on`, `days_waiting`, `threshold_days` (flagged after),
    `red_over_days`, `reminder_days` (the plan's endorsement days) and the `reviewing_ministries`.
    `escalated` when a yellow turned red. Numbers with decimals are written as text."""

    rule = serializers.ChoiceField(choices=LagRule.choices)
    period = serializers.CharField(help_text="2024Q3")
    report = serializers.IntegerField(required=False)
    # late_report
    report_status = serializers.CharField(required=False)
    due_on = serializers.DateField(required=False)
    days_late = serializers.IntegerField(required=False)
    red_after = serializers.DateField(required=False)
    returned_on = serializers.DateField(required=False)
    days_since_returned = serializers.IntegerField(required=False)
    threshold_days = serializers.IntegerField(required=False)
    # milestone_overdue
    milestone = serializers.IntegerField(required=False)
    title = serializers.CharField(required=False)
    planned_date = serializers.DateField(required=False)
    forecast_date = serializers.DateField(required=False, allow_null=True)
    days_overdue = serializers.IntegerField(required=False)
    is_critical = serializers.BooleanField(required=False)
    red_over_days = serializers.IntegerField(required=False)
    red_because = serializers.ListField(
        child=serializers.ChoiceField(choices=["over_red_days", "critical", "forecast_beyond_end"]), required=False
    )
    overdue_milestones = serializers.IntegerField(required=False)
    # progress_gap
    planned_progress = _decimal()
    actual_progress = _decimal()
    gap = _decimal()
    yellow_at_or_below = _decimal()
    red_at_or_below = _decimal()
    # budget_execution
    budget_allocated = _decimal(allow_null=True)
    budget_spent = _decimal(allow_null=True)
    budget_payables = _decimal(allow_null=True)
    budget_savings = _decimal(allow_null=True)
    execution_rate = _decimal()
    # budget_execution and indicator_behind
    yellow_below = _decimal()
    red_below = _decimal()
    # indicator_behind
    indicator = serializers.IntegerField(required=False)
    name = serializers.CharField(required=False)
    actual = _decimal(allow_null=True)
    expected = _decimal(allow_null=True)
    target = _decimal(allow_null=True)
    target_year = serializers.IntegerField(required=False, allow_null=True)
    ratio = _decimal()
    status = serializers.CharField(required=False)
    # review_overdue
    submitted_on = serializers.DateField(required=False)
    days_waiting = serializers.IntegerField(required=False)
    reminder_days = serializers.IntegerField(required=False)
    reviewing_ministries = MinistrySerializer(many=True, required=False)
    # consecutive quarters
    escalated = EscalationSerializer(required=False)


@extend_schema_field(FlagEvidenceSerializer)
class EvidenceField(serializers.JSONField):
    pass


class FlagCommentSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A comment in a flag's thread, or a lead's improvement plan (改善措施)."""

    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = FlagComment
        fields = ["id", "author", "kind", "body", "created_at"]
        read_only_fields = fields


class PublicFlagSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """What every signed-in user (and other systems) may see of a flag."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    period = serializers.CharField(read_only=True)
    evidence = EvidenceField(read_only=True)
    resolution = serializers.CharField(
        read_only=True, help_text=_("cleared, resolved or overridden; empty while the flag is active")
    )

    class Meta:
        model = LagFlag
        fields = [
            "id",
            "project",
            "rule",
            "period",
            "severity",
            "status",
            "evidence",
            "opened_at",
            "severity_raised_at",
            "acknowledged_at",
            "resolved_at",
            "resolution",
            "updated_at",
        ]
        read_only_fields = fields


class FlagSerializer(PublicFlagSerializer):
    """A lag flag (落後警示) on a sub-project: the rule, the quarter, its severity and status, and the
    evidence it was raised on. `acknowledged_by`, `resolved_by`, `resolution_reason` and `comments` (the
    thread) are there for the Executive Secretariat and the sub-project's leads only."""

    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, default=None, allow_null=True
    )
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, default=None, allow_null=True)
    comments = FlagCommentSerializer(many=True, read_only=True)

    class Meta(PublicFlagSerializer.Meta):
        fields = [
            *PublicFlagSerializer.Meta.fields,
            "acknowledged_by",
            "resolved_by",
            "resolution_reason",
            "comments",
        ]
        read_only_fields = fields


class FlagSchema(OpenApiSerializerExtension):
    """One ``Flag`` in the schema for every caller: the fields only the secretariat and the sub-project's
    leads are sent are in it, typed, and not required, so a generated client reads everyone's flags."""

    target_class = FlagSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        restricted = set(FlagSerializer.Meta.fields) - set(PublicFlagSerializer.Meta.fields)
        schema["required"] = [name for name in schema.get("required", []) if name not in restricted]
        return schema


class LightCountSerializer(serializers.Serializer):
    """Red, yellow and green sub-projects of a group, an agency or the whole plan (`id` and `name`)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    red = serializers.IntegerField()
    yellow = serializers.IntegerField()
    green = serializers.IntegerField()
    total = serializers.IntegerField()
