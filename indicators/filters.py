from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from gstp.calendar_fields import DateFilter
from projects.filters import UpdatedSinceFilterSet
from projects.models import Agency, Plan, PlanNode
from projects.selectors import agency_subtree

from .models import Indicator, Measure
from .selectors import indicators_of_agencies
from .semantics import Status

OWNER_CHOICES = [("plan", _("Plan")), ("group", _("Group")), ("subproject", _("Sub-project")), ("node", _("Any node"))]


class IndicatorFilter(UpdatedSinceFilterSet):
    plan = filters.ModelChoiceFilter(queryset=Plan.objects.all())
    project = filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.all())
    ancestor = filters.ModelChoiceFilter(
        queryset=PlanNode.objects.all(), method="filter_ancestor", help_text=_("Indicators of nodes below this one.")
    )
    owner = filters.ChoiceFilter(choices=OWNER_CHOICES, method="filter_owner")
    agency = filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Indicators of nodes this agency or one of its sub-units leads."),
    )
    measure = filters.MultipleChoiceFilter(distinct=False, choices=Measure.choices)
    status = filters.MultipleChoiceFilter(
        distinct=False,
        choices=[(status.value, status.value) for status in Status],
        method="filter_noop",
        help_text=_("Computed status on `on` (the day of `as_of`, else today, by default)."),
    )
    on = DateFilter(
        method="filter_noop",
        help_text=_("Evaluate the indicators on this date (the day of `as_of`, else today, by default)."),
    )
    search = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Indicator
        fields = ["plan", "project", "measure"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_ancestor(self, queryset, name, value):
        return queryset.filter(node__path__startswith=value.path).exclude(node=value)

    def filter_owner(self, queryset, name, value):
        if value == "plan":
            return queryset.filter(node__isnull=True)
        if value == "node":
            return queryset.filter(node__isnull=False)
        return queryset.filter(node__kind=value)

    @extend_schema_field(OpenApiTypes.INT)
    def filter_agency(self, queryset, name, value):
        return indicators_of_agencies(queryset, agency_subtree(value))

    def filter_noop(self, queryset, name, value):
        return queryset
