"""The assessments' filters. They narrow the rows ``access.assessments_for`` gives, never widen them: outside an
assessment's chain only published ones are rows at all, so filtering by grade or status shows nothing a
published result does not."""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

from gstp.calendar_fields import YearFilter
from projects.filters import UpdatedSinceFilterSet
from projects.models import Agency, NodeKind, Plan, PlanNode
from reviews.filters import ReportFilter

from .models import Assessment, AssessmentScheme, AssessmentStatus

ORDERING_FORMS = _("Order by project, year, final_total, grade or updated_at; - before a name for descending.")
ORDERINGS = {
    "project": "node__path",
    "year": "scheme__year",
    "final_total": "final_total",
    "grade": "grade",
    "updated_at": "updated_at",
}


class SchemeFilter(UpdatedSinceFilterSet):
    plan = filters.ModelChoiceFilter(queryset=Plan.objects.all())
    year = YearFilter(help_text=_("The year assessed: 2024, 113, 113年 or 民國113年."))

    class Meta:
        model = AssessmentScheme
        fields = ["plan", "year"]


class AssessmentFilter(UpdatedSinceFilterSet):
    scheme = filters.ModelChoiceFilter(queryset=AssessmentScheme.objects.all())
    plan = filters.ModelChoiceFilter(field_name="scheme__plan", queryset=Plan.objects.all())
    year = YearFilter(field_name="scheme__year", help_text=_("The year assessed: 2024, 113, 113年 or 民國113年."))
    group = filters.ModelChoiceFilter(
        queryset=PlanNode.objects.filter(kind=NodeKind.GROUP), method="filter_group", help_text=_("A group (分組).")
    )
    project = filters.ModelChoiceFilter(field_name="node", queryset=PlanNode.objects.filter(kind=NodeKind.SUBPROJECT))
    agency = filters.ModelChoiceFilter(
        queryset=Agency.objects.all(),
        method="filter_agency",
        help_text=_("Sub-projects this agency or one of its sub-units leads."),
    )
    grade = filters.CharFilter(help_text=_("A grade (等第), as the scheme names it: 優等, 甲等, …"))
    status = filters.MultipleChoiceFilter(distinct=False, choices=AssessmentStatus.choices)
    ordering = filters.CharFilter(
        method="filter_ordering",
        help_text=_(
            "project (plan order, the default), year, final_total, grade or updated_at; - before for descending."
        ),
    )

    class Meta:
        model = Assessment
        fields = ["scheme", "plan", "year", "group", "project", "agency", "grade", "status"]

    filter_group = ReportFilter.filter_group
    filter_agency = ReportFilter.filter_agency

    def filter_ordering(self, queryset, name, value):
        """Comma-separated names, each maybe with a leading -; the id last, so pages stay stable on ties."""
        order = []
        for part in value.split(","):
            key = part.strip().removeprefix("-")
            if key not in ORDERINGS:
                raise ValidationError({"ordering": [ORDERING_FORMS]})
            order.append(("-" if part.strip().startswith("-") else "") + ORDERINGS[key])
        return queryset.order_by(*order, "pk")
