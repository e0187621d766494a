import datetime
import re

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from console import labels
from console.charts import number_text
from gstp.calendar import format_date, format_period
from indicators.models import Indicator, IndicatorActual
from projects.models import AgencyRole, Milestone, PlanNode
from reviews.models import (
    EvidenceFile,
    LagFlag,
    LockException,
    PlanRevision,
    QuarterLock,
    QuarterlyReport,
    ReportIndicatorValue,
    ReportMilestoneEntry,
)

register = template.Library()
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@register.simple_tag
def light(value):
    """A light as a shape and a word, coloured too: never colour alone."""
    if value not in labels.LIGHTS:
        return "—"
    word, shape = labels.LIGHTS[value]
    return format_html(
        '<span class="light light--{}"><span class="light__shape" aria-hidden="true">{}</span> {}</span>',
        value,
        shape,
        word,
    )


MODELS = {
    "milestone": Milestone,
    "report": QuarterlyReport,
    "node": PlanNode,
    "flag": LagFlag,
    "indicator": Indicator,
    "actual": IndicatorActual,
    "file": EvidenceFile,
    "lock": QuarterLock,
    "exception": LockException,
    "revision": PlanRevision,
}


@register.simple_tag
def verbose(model, field=None, plural=False):
    """A model's or a field's own name, as the admin and the API's schema say it (already translated)."""
    meta = MODELS[model]._meta
    if field is None:
        return capfirst(meta.verbose_name_plural if plural else meta.verbose_name)
    return capfirst(meta.get_field(field).verbose_name)


@register.filter
def num(value, places=2):
    return number_text(value, int(places))


@register.filter
def lead_agencies(node):
    """The lead agencies (主辦機關) as the report writes them between 【】, from prefetched links."""
    return "、".join(agency.name for agency in node.agencies_in_role(AgencyRole.LEAD))


@register.filter
def indicator_status(value):
    return labels.INDICATOR_STATUS.get(value, value)


@register.filter
def owed_status(value):
    return labels.OWED_STATUS.get(value, value)


def _evidence_value(key, value):
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None or value == "" or value == []:
        return "—"
    if key == "red_because":
        return "、".join(str(labels.RED_BECAUSE.get(reason, reason)) for reason in value)
    if key == "report_status":
        return labels.OWED_STATUS.get(value, value)
    if key == "status":
        return labels.INDICATOR_STATUS.get(value, value)
    if key == "escalated" and isinstance(value, dict):
        return _("yellow in %(period)s as well") % {"period": format_period(value.get("previous_period", "?"))}
    if key.endswith("period"):
        return format_period(value)
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        return format_date(datetime.date.fromisoformat(value))  # a day the rule recorded, as the reader reads it
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit():
        return number_text(value, 4)
    if isinstance(value, int | float):
        return number_text(value, 4)
    return value


@register.filter
def evidence(flag):
    """The numbers a flag was raised on, as (label, value) pairs in the order the rule wrote them."""
    return [
        (labels.EVIDENCE_LABELS.get(key, key), _evidence_value(key, value))
        for key, value in (flag.evidence or {}).items()
        if key not in labels.EVIDENCE_HIDDEN
    ]


@register.filter
def report_status(value):
    return labels.OWED_STATUS.get(value, value) if value else "—"


def _change_label(name):
    try:
        return capfirst(QuarterlyReport._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return labels.CHANGE_LABELS.get(name, name)


def _change_value(value):
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, dict):  # an evidence file as its event recorded it: its name
        return value.get("name") or "、".join(str(item) for item in value.values())
    if isinstance(value, list):
        return "、".join(str(_change_value(item)) for item in value)
    return value


@register.filter
def changes(event):
    """What an edit changed, as (field name, before, after); lists of entries are named, not spelled out.
    A change that is no field of the report (an evidence file added or removed) is named by its label."""
    rows = []
    for name, change in (event.changes or {}).items():
        if name == "milestone_entries":
            rows.append((capfirst(ReportMilestoneEntry._meta.verbose_name_plural), None, None))
        elif name == "indicator_values":
            rows.append((capfirst(ReportIndicatorValue._meta.verbose_name_plural), None, None))
        elif isinstance(change, list | tuple) and len(change) == 2:
            before, after = change
            rows.append((_change_label(name), _change_value(before), _change_value(after)))
        else:
            rows.append((_change_label(name), None, _change_value(change)))
    return rows


@register.filter
def reason_label(event):
    """What an event's reason is: why the report was reopened, withdrawn or (otherwise) returned."""
    label = labels.EVENT_REASON.get(event.action)
    return label if label is not None else capfirst(QuarterlyReport._meta.get_field("return_reason").verbose_name)


@register.filter
def evidence_url(evidence):
    """Where a report's evidence file is downloaded: the API's own download, which a signed-in session may use."""
    return reverse("report-file", kwargs={"id": evidence.report_id, "file_id": evidence.pk})


@register.simple_tag(takes_context=True)
def query_with(context, key, value):
    """The current query string with one parameter replaced (for pagination links)."""
    query = context["request"].GET.copy()
    query[key] = value
    return query.urlencode()
