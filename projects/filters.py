import datetime

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gstp.calendar_fields import DateFilter

from .models import Agency, AgencyRole, ControlLevel, Milestone, NodeAgency, NodeKind, Plan, PlanNode, Tombstone
from .selectors import agency_subtree
from .tombstones import TRACKED


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise forms.ValidationError(_("Use true or false."), code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    """``true``/``false`` (``1``/``0``, any case); anything else is a 400 naming the parameter, not a dropped filter."""

    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.IsoDateTimeFilter.field_class):
    """An ISO 8601 time with any offset Python reads, handed on in UTC: PostgreSQL refuses offsets beyond
    ±15:59, and a time that moves out of years 1 to 9999 in UTC is invalid, not a server error."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class UpdatedSinceFilterSet(django_filters.FilterSet):
    updated_since = IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text=_("Only rows changed at or after this ISO 8601 time.")
    )


class AgencyFilter(UpdatedSinceFilterSet):
    parent = django_filters.ModelChoiceFilter(queryset=Agency.objects.all())
    search = django_filters.CharFilter(method="filter_search", help_text=_("Name, short name or alias contains."))

    class Meta:
        model = Agency
        fields = ["parent"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(short_name__icontains=value) | Q(aliases__alias__icontains=value)
        ).distinct()


class PlanFilter(UpdatedSinceFilterSet):
    class Meta:
        model = Plan
        fields = ["code"]


class ProjectFilter(UpdatedSinceFilterSet):
    plan = django_filters.ModelChoiceFilter(queryset=Plan.objects.all())
    parent = django_filters.ModelChoiceFilter(queryset=PlanNode.objects.all())
    ancestor = django_filters.ModelChoiceFilter(
        queryset=PlanNode.objects.all(), method="filter_ancestor", help_text=_("Every node below this one.")
    )
    kind = django_filters.MultipleChoiceFilter(distinct=False, choices=NodeKind.choices)
    control_level = django_filters.MultipleChoiceFilter(
        distinct=False, choices=ControlLevel.choices, help_text=_("Sub-projects at this control level (列管等級).")
    )
    agency = django_filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Nodes this agency or one of its sub-units leads or co-runs (or, for groups, convenes)."),
    )
    agency_role = django_filters.ChoiceFilter(
        choices=AgencyRole.choices, method="filter_noop", help_text=_("With agency: only this role.")
    )
    search = django_filters.CharFilter(field_name="title", lookup_expr="icontains", help_text=_("Title contains."))

    class Meta:
        model = PlanNode
        fields = ["plan", "parent", "kind", "control_level"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_ancestor(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path).exclude(id=value.pk)

    @extend_schema_field(OpenApiTypes.INT)
    def filter_agency(self, queryset, name, value):
        agencies = agency_subtree(value)
        role = self.form.cleaned_data.get("agency_role") or None
        # Written with ``id`` on the rows, not queryset methods, so that it filters rows as of a past
        # moment (``gstp.history``) as well.
        links = NodeAgency.objects.filter(agency__in=agencies)
        led = Q(id__in=(links.filter(role=role) if role else links).values("node_id"))
        return queryset.filter(led if role else led | Q(convening_agency__in=agencies))

    def filter_noop(self, queryset, name, value):
        return queryset


class DeletionFilter(django_filters.FilterSet):
    resource = django_filters.MultipleChoiceFilter(distinct=False, choices=[(name, name) for name in TRACKED.values()])
    since = IsoDateTimeFilter(
        field_name="deleted_at", lookup_expr="gte", help_text=_("Deletions at or after this ISO 8601 time.")
    )

    class Meta:
        model = Tombstone
        fields = ["resource", "since"]


class MilestoneFilter(UpdatedSinceFilterSet):
    project = django_filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.subprojects())
    plan = django_filters.ModelChoiceFilter(field_name="node__plan", queryset=Plan.objects.all())
    is_critical = StrictBooleanFilter()
    completed = StrictBooleanFilter(method="filter_completed")
    planned_before = DateFilter(field_name="planned_date", lookup_expr="lte")
    planned_after = DateFilter(field_name="planned_date", lookup_expr="gte")

    class Meta:
        model = Milestone
        fields = ["project", "plan", "is_critical"]

    def filter_completed(self, queryset, name, value):
        return queryset.filter(completed_on__isnull=not value)
