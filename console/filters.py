"""The dashboard's flag filters: the API's ``FlagFilter``, with labels and widgets for a page."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from projects.models import Agency, NodeKind, PlanNode
from reviews.filters import FlagFilter
from reviews.models import ACTIVE_STATUSES, LagFlag

from .selectors import agencies_leading

SHOWN = ("plan", "group", "agency", "severity", "status", "rule")


def _indented(agency: Agency) -> str:
    depth = agency.path.count("/") - 2
    return f"{'　' * depth}{agency.name}"


class FlagQueueFilter(FlagFilter):
    """Filters the queue as ``/api/v1/flags/`` does; without a status, the active flags (open or acknowledged)."""

    def __init__(self, data, *, queryset, plan, request=None):
        data = data.copy()
        if "status" not in data:
            data.setlist("status", list(ACTIVE_STATUSES))
        if "plan" not in data and plan is not None:
            data["plan"] = str(plan.pk)
        super().__init__(data, queryset=queryset, request=request)
        self.form.label_suffix = ""
        fields = self.form.fields
        fields["plan"].label = _("Plan")
        fields["group"].label = _("Group")
        fields["agency"].label = capfirst(Agency._meta.verbose_name)
        for name in ("rule", "severity", "status"):
            fields[name].label = capfirst(LagFlag._meta.get_field(name).verbose_name)
            fields[name].widget = forms.CheckboxSelectMultiple(choices=fields[name].choices)
        if plan is not None:
            fields["group"].queryset = PlanNode.objects.filter(plan=plan, kind=NodeKind.GROUP).order_by("position")
            fields["agency"].queryset = agencies_leading(plan=plan)
        fields["plan"].empty_label = _("All plans")
        fields["group"].empty_label = _("All groups")
        fields["agency"].empty_label = _("All agencies")
        fields["agency"].label_from_instance = _indented
        fields["group"].label_from_instance = lambda node: node.title

    def shown_fields(self):
        return [self.form[name] for name in SHOWN]
