from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from gstp.calendar import PERIOD_FORMS, QUARTER_FORMS
from gstp.calendar_fields import YearFilter
from projects.filters import IsoDateTimeFilter, StrictBooleanFilter, UpdatedSinceFilterSet
from projects.models import Agency, AgencyRole, BudgetYear, ControlLevel, NodeAgency, NodeKind, Plan, PlanNode

from .models import (
    FlagStatus,
    LagFlag,
    LagRule,
    PlanRevision,
    QuarterlyReport,
    ReportKind,
    ReportStatus,
    RevisionStatus,
    Severity,
    late_condition,
    period_condition,
)
from .periods import Quarter, parse_period


def control_level_filter():
    return filters.MultipleChoiceFilter(
        field_name="node__control_level",
        distinct=False,
        choices=ControlLevel.choices,
        help_text=_("Of sub-projects at this control level (列管等級)."),
    )


class ReportFilter(UpdatedSinceFilterSet):
    plan = filters.ModelChoiceFilter(field_name="node__plan", queryset=Plan.objects.all())
    group = filters.ModelChoiceFilter(
        queryset=PlanNode.objects.filter(kind=NodeKind.GROUP), method="filter_group", help_text=_("A group (分組).")
    )
    project = filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.filter(kind=NodeKind.SUBPROJECT))
    agency = filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Sub-projects this agency or one of its sub-units leads."),
    )
    period = filters.CharFilter(
        method="filter_report_period",
        help_text=_(
            "A quarter such as 2024Q3 or 113年第3季 (its quarterly reports), or a month such as 2024-08 or "
            "113年8月 (its monthly updates)."
        ),
    )
    kind = filters.ChoiceFilter(
        choices=ReportKind.choices,
        method="filter_kind",
        help_text=_("Quarterly reports (季報) or monthly updates (月報)."),
    )
    year = YearFilter(help_text=_("A year: 2024, 113, 113年 or 民國113年."))
    status = filters.MultipleChoiceFilter(distinct=False, choices=ReportStatus.choices)
    late = StrictBooleanFilter(method="filter_late", help_text=_("Submitted after its due date, or overdue."))
    control_level = control_level_filter()

    class Meta:
        model = QuarterlyReport
        fields = ["plan", "group", "project", "agency", "period", "kind", "year", "status", "late", "control_level"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_group(self, queryset, name, value):
        return queryset.filter(node__path__startswith=value.path)

    @extend_schema_field(OpenApiTypes.INT)
    def filter_agency(self, queryset, name, value):
        leads = NodeAgency.objects.filter(
            node=OuterRef("node"), role=AgencyRole.LEAD, agency__path__startswith=value.path
        )
        return queryset.filter(Exists(leads))

    def filter_period(self, queryset, name, value):
        try:
            period = Quarter.parse(value)
        except ValueError:
            raise ValidationError({"period": [QUARTER_FORMS]}) from None
        return queryset.filter(year=period.year, quarter=period.quarter)

    def filter_report_period(self, queryset, name, value):
        try:
            period = parse_period(value)
        except ValueError:
            raise ValidationError({"period": [PERIOD_FORMS]}) from None
        return queryset.filter(period_condition(period))

    def filter_kind(self, queryset, name, value):
        return queryset.filter(month__isnull=value == ReportKind.QUARTERLY)

    def filter_late(self, queryset, name, value):
        late = late_condition()
        return queryset.filter(late) if value else queryset.exclude(late)


class FlagFilter(UpdatedSinceFilterSet):
    plan = filters.ModelChoiceFilter(field_name="node__plan", queryset=Plan.objects.all())
    group = filters.ModelChoiceFilter(queryset=PlanNode.objects.filter(kind=NodeKind.GROUP), method="filter_group")
    project = filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.filter(kind=NodeKind.SUBPROJECT))
    agency = filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Sub-projects this agency or a sub-unit leads."),
    )
    rule = filters.MultipleChoiceFilter(distinct=False, choices=LagRule.choices)
    severity = filters.MultipleChoiceFilter(distinct=False, choices=Severity.choices)
    status = filters.MultipleChoiceFilter(distinct=False, choices=FlagStatus.choices)
    period = filters.CharFilter(method="filter_period", help_text=_("A quarter such as 2024Q3 (or 113年第3季)."))
    opened_since = IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    control_level = control_level_filter()

    class Meta:
        model = LagFlag
        fields = [
            "plan",
            "group",
            "project",
            "agency",
            "rule",
            "severity",
            "status",
            "period",
            "opened_since",
            "control_level",
        ]

    filter_group = ReportFilter.filter_group
    filter_agency = ReportFilter.filter_agency
    filter_period = ReportFilter.filter_period


class BudgetYearFilter(UpdatedSinceFilterSet):
    plan = filters.ModelChoiceFilter(field_name="node__plan", queryset=Plan.objects.all())
    group = filters.ModelChoiceFilter(
        queryset=PlanNode.objects.filter(kind=NodeKind.GROUP), method="filter_group", help_text=_("A group (分組).")
    )
    project = filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.filter(kind=NodeKind.SUBPROJECT))
    agency = filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Sub-projects this agency or one of its sub-units leads."),
    )
    year = YearFilter(help_text=_("A year: 2024, 113, 113年 or 民國113年."))
    control_level = control_level_filter()

    class Meta:
        model = BudgetYear
        fields = ["plan", "group", "project", "agency", "year", "control_level"]

    filter_group = ReportFilter.filter_group
    filter_agency = ReportFilter.filter_agency


class RevisionFilter(UpdatedSinceFilterSet):
    plan = filters.ModelChoiceFilter(field_name="node__plan", queryset=Plan.objects.all())
    project = filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.filter(kind=NodeKind.SUBPROJECT))
    agency = filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Sub-projects this agency or one of its sub-units leads."),
    )
    status = filters.MultipleChoiceFilter(distinct=False, choices=RevisionStatus.choices)

    class Meta:
        model = PlanRevision
        fields = ["plan", "project", "agency", "status"]

    filter_agency = ReportFilter.filter_agency
