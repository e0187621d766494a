from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.calendar_fields import DateInputsMixin
from gstp.serializers import FastRepresentationMixin

from .models import Agency, AgencyRole, Milestone, Plan, PlanNode, Tombstone


class AgencyRefSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """An agency named where it takes part: its id (see `/api/v1/agencies/{id}/`), name and short name."""

    row_only = True

    class Meta:
        model = Agency
        fields = ["id", "name", "short_name"]


class AgencySerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """An agency (機關): a ministry or council, or a sub-unit of one (`parent`), with the short names and
    aliases it is also written as (數位部 = 數位發展部)."""

    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="alias")

    class Meta:
        model = Agency
        fields = ["id", "name", "short_name", "aliases", "parent", "updated_at"]


class PlanSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A plan (方案), with its years and how many days after a quarter's end its reports fall due."""

    class Meta:
        model = Plan
        fields = ["id", "code", "name", "start_year", "end_year", "secretariat", "report_due_days", "updated_at"]


class ProjectSerializer(FastRepresentationMixin, DateInputsMixin, serializers.ModelSerializer):
    """A node of the plan tree: group, strategy section, measure or sub-project."""

    row_only = True

    lead_agencies = serializers.SerializerMethodField()
    co_agencies = serializers.SerializerMethodField()
    convening_agency = AgencyRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PlanNode
        fields = [
            "id",
            "plan",
            "parent",
            "kind",
            "number",
            "position",
            "title",
            "description",
            "convening_agency",
            "lead_agencies",
            "co_agencies",
            "start_date",
            "end_date",
            "budget",
            "control_level",
            "updated_at",
        ]

    def _agencies(self, node, role):
        # One nested serializer for the whole page, not two built for every row.
        ref = self.__dict__.get("_agency_ref")
        if ref is None:
            ref = self._agency_ref = AgencyRefSerializer()
        return [ref.to_representation(agency) for agency in node.agencies_in_role(role)]

    @extend_schema_field(AgencyRefSerializer(many=True))
    def get_lead_agencies(self, node):
        return self._agencies(node, AgencyRole.LEAD)

    @extend_schema_field(AgencyRefSerializer(many=True))
    def get_co_agencies(self, node):
        return self._agencies(node, AgencyRole.CO)


class DeletionSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A row deleted from a collection (`resource`), and when: what a copy kept with `updated_since`
    must delete too."""

    id = serializers.IntegerField(source="object_id")

    class Meta:
        model = Tombstone
        fields = ["resource", "id", "deleted_at"]


class MilestoneSerializer(FastRepresentationMixin, DateInputsMixin, serializers.ModelSerializer):
    """A milestone (查核點) of a sub-project: planned, forecast and completion dates, its weight and
    whether it is critical (a critical one overdue raises a red flag)."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)

    class Meta:
        model = Milestone
        fields = [
            "id",
            "project",
            "title",
            "planned_date",
            "forecast_date",
            "completed_on",
            "weight",
            "is_critical",
            "updated_at",
        ]
