"""Words for codes the pages show: lights, indicator and report statuses, what a report's history records and
the evidence a flag carries."""

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from indicators.models import Indicator, IndicatorTarget
from indicators.semantics import Status
from projects.models import Milestone
from reviews.models import EvidenceFile, QuarterlyReport, ReportAction, ReportStatus, Severity

LIGHTS = {
    "red": (Severity.RED.label, "■"),
    "yellow": (Severity.YELLOW.label, "▲"),
    "green": (_("Green"), "●"),
}

INDICATOR_STATUS = {
    Status.MET: _("Met"),
    Status.ON_TRACK: _("On track"),
    Status.BEHIND: _("Behind"),
    Status.CANNOT_REACH: _("Cannot reach its target"),
    Status.NO_DATA: _("No data yet"),
    Status.QUALITATIVE: _("Qualitative"),
}

OWED_STATUS = {
    "missing": _("Not filed"),
    ReportStatus.DRAFT: ReportStatus.DRAFT.label,
    ReportStatus.RETURNED: ReportStatus.RETURNED.label,
    ReportStatus.SUBMITTED: ReportStatus.SUBMITTED.label,
    ReportStatus.ENDORSED: ReportStatus.ENDORSED.label,
    ReportStatus.ACCEPTED: ReportStatus.ACCEPTED.label,
}


def _field(name, model=QuarterlyReport):
    return capfirst(model._meta.get_field(name).verbose_name)


# What the reason of a history event is, by the event's action (a return's otherwise).
EVENT_REASON = {
    ReportAction.REOPEN: _field("reopen_reason"),
    ReportAction.WITHDRAW: _("Reason for withdrawal"),
}

# What a history event changed besides the report's own fields: the evidence files added or removed.
CHANGE_LABELS = {
    "file": capfirst(EvidenceFile._meta.verbose_name),
    "files": capfirst(EvidenceFile._meta.verbose_name_plural),
    "name": _field("name", EvidenceFile),
}

EVIDENCE_LABELS = {
    "period": _("Quarter"),
    "report_status": _("Report status"),
    "due_on": _field("due_on"),
    "days_late": _("Days late"),
    "red_after": _("Red if still missing after"),
    "returned_on": _("Returned on"),
    "days_since_returned": _("Days since returned"),
    "threshold_days": _("Red after (days)"),
    "title": capfirst(Milestone._meta.verbose_name),
    "planned_date": _field("planned_date", Milestone),
    "forecast_date": _field("forecast_date", Milestone),
    "days_overdue": _("Days overdue"),
    "is_critical": _("Critical milestone"),
    "red_over_days": _("Red when overdue over (days)"),
    "red_because": _("Red because"),
    "overdue_milestones": _("Overdue milestones"),
    "planned_progress": _field("planned_progress"),
    "actual_progress": _field("actual_progress"),
    "gap": _("Gap (points)"),
    "yellow_at_or_below": _("Yellow at or below (points)"),
    "red_at_or_below": _("Red at or below (points)"),
    "budget_allocated": _("Budget allocated to date (TWD)"),
    "budget_spent": _field("budget_spent"),
    "budget_payables": _field("budget_payables"),
    "budget_savings": _field("budget_savings"),
    "execution_rate": _("Execution rate (%)"),
    "name": capfirst(Indicator._meta.verbose_name),
    "actual": _("Actual"),
    "expected": _("Expected by now"),
    "target": _field("value", IndicatorTarget),
    "target_year": _("Target year"),
    "ratio": _("Progress ratio"),
    "status": _field("status"),
    "yellow_below": _("Yellow below"),
    "red_below": _("Red below"),
    "escalated": _("Escalated"),
}
# Ids of the report, milestone or indicator behind a flag: the page names them instead.
EVIDENCE_HIDDEN = {"rule", "report", "milestone", "indicator"}

RED_BECAUSE = {
    "over_red_days": _("overdue past the red threshold"),
    "critical": _("a critical milestone"),
    "forecast_beyond_end": _("forecast beyond the sub-project's end"),
}
