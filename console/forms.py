"""Forms the pages render. They collect what a person typed; the API's serializers and the services
validate it, so a page shows the same messages as ``/api/v1/`` (``errors_apply`` puts them by their fields)."""

from __future__ import annotations

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from gstp.calendar import Calendar, CalendarError, active, format_date, format_period, parse_date
from indicators.models import Measure
from projects.models import LEDGER_FIELDS, ControlLevel
from reviews.models import CommentKind, EvidenceFile, FlagComment, LockException, QuarterlyReport
from reviews.models.reports import CONTENT_FIELDS, MONTHLY_FIELDS

FIGURE_FIELDS = (
    "planned_progress",
    "actual_progress",
    "budget_spent",
    "budget_payables",
    "budget_savings",
    "budget_forecast_rate",
)
TEXT_FIELDS = tuple(name for name in CONTENT_FIELDS if name not in FIGURE_FIELDS)
ENTRY_FIELDS = ("completed_on", "forecast_date", "note")


class ControlLevelForm(forms.Form):
    """The dashboard narrowed to the sub-projects of one control level (列管等級): its lights, flags and reviews."""

    control_level = forms.ChoiceField(
        label=_("Control level"), choices=[("", _("All control levels")), *ControlLevel.choices], required=False
    )

    def level(self) -> str:
        return self.cleaned_data["control_level"] if self.is_valid() else ""


def _report_field(name):
    return QuarterlyReport._meta.get_field(name)


def _iso(day) -> str:
    """A date as a date input holds it: ISO 8601 for the browser's date picker, 113/07/01 in the ROC
    calendar (a text input, since the picker writes Gregorian dates only)."""
    return format_date(day) if day else ""


def _date_input(**attrs):
    """The browser's date picker, or a text input for who reads the ROC calendar (it takes either form)."""
    if active() == Calendar.ROC:
        return forms.TextInput(attrs={"placeholder": "113/07/01", "autocomplete": "off", "size": 10, **attrs})
    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


def _changed(typed: str, day) -> bool:
    """Whether the typed date (either calendar) differs from ``day``; text that is no date is a change, for
    the serializer to refuse."""
    try:
        return parse_date(typed) != day
    except CalendarError:
        return True


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [message for item in value.values() for message in _messages(item)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


class ErrorsMixin:
    """Puts ``{"field": ["message", ...]}`` errors (a serializer's or a service's) next to their fields.

    The forms' own fields accept anything: what is wrong is for the API's serializers and the services to say."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def errors_apply(self, errors) -> None:
        if not hasattr(self, "cleaned_data"):
            self.full_clean()
        self._errors_apply(errors)

    def _errors_apply(self, errors) -> None:
        if not isinstance(errors, dict):
            self.add_error(None, _messages(errors))
            return
        for key, value in errors.items():
            if key in self.fields:
                self.add_error(key, _messages(value))
            else:
                self.add_error(None, _messages(value))


class ReportForm(ErrorsMixin, forms.Form):
    """A quarterly report's figures and narrative, one row per milestone and one field per indicator; a
    monthly update's (``monthly``) progress, spent, note and delay reasons only."""

    def __init__(
        self,
        data=None,
        *,
        milestones=(),
        indicators=(),
        report=None,
        periods=None,
        initial_period=None,
        monthly=False,
    ):
        super().__init__(data)
        self.monthly = monthly
        self.figure_names = [name for name in FIGURE_FIELDS if not monthly or name in MONTHLY_FIELDS]
        self.text_names = [name for name in TEXT_FIELDS if not monthly or name in MONTHLY_FIELDS]
        self.milestones = [] if monthly else list(milestones)
        self.indicators = [] if monthly else list(indicators)
        self.section_errors: dict[str, list[str]] = {"milestone_entries": [], "indicator_values": []}
        self._sent_entries: list[int] = []
        self._sent_values: list[int] = []
        if periods is not None:
            self.fields["period"] = forms.CharField(
                label=_("Month") if monthly else _("Quarter"),
                required=False,
                initial=initial_period,
                widget=forms.Select(choices=[(str(p), format_period(p)) for p in periods]),
            )
        for name in self.figure_names:
            self.fields[name] = forms.CharField(
                label=capfirst(_report_field(name).verbose_name),
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
        for name in self.text_names:
            field = _report_field(name)
            self.fields[name] = forms.CharField(
                label=capfirst(field.verbose_name),
                help_text=field.help_text,
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
        for milestone in self.milestones:
            self.fields[f"milestone-{milestone.pk}-completed_on"] = forms.CharField(
                label=capfirst(_("completed on")), required=False, widget=_date_input()
            )
            self.fields[f"milestone-{milestone.pk}-forecast_date"] = forms.CharField(
                label=capfirst(_("new forecast date")), required=False, widget=_date_input()
            )
            self.fields[f"milestone-{milestone.pk}-note"] = forms.CharField(
                label=capfirst(_("note")), required=False, strip=False
            )
        for indicator in self.indicators:
            unit = f" ({indicator.unit})" if indicator.unit else ""
            if indicator.measure == Measure.QUALITATIVE:
                self.fields[f"indicator-{indicator.pk}-text"] = forms.CharField(
                    label=f"{indicator.name}", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2})
                )
            else:
                self.fields[f"indicator-{indicator.pk}-value"] = forms.CharField(
                    label=f"{indicator.name}{unit}",
                    required=False,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                )
        if report is not None and data is None:
            self.initial = self._initial_from(report)

    def _initial_from(self, report) -> dict:
        initial = {name: getattr(report, name) for name in self.text_names}
        for name in self.figure_names:
            value = getattr(report, name)
            initial[name] = "" if value is None else format(value.normalize(), "f")
        for entry in report.milestone_entries.all():
            initial[f"milestone-{entry.milestone_id}-completed_on"] = _iso(entry.completed_on)
            initial[f"milestone-{entry.milestone_id}-forecast_date"] = _iso(entry.forecast_date)
            initial[f"milestone-{entry.milestone_id}-note"] = entry.note
        for item in report.indicator_values.all():
            value = "" if item.value is None else format(item.value.normalize(), "f")
            initial[f"indicator-{item.indicator_id}-value"] = value
            initial[f"indicator-{item.indicator_id}-text"] = item.text
        return initial

    # --- what a serializer reads ----------------------------------------------------------------

    def payload(self) -> dict:
        """The form as the API's request body: empty figures are null, entries only where something was typed."""
        data = self.data
        body = {name: (data.get(name, "").strip() or None) for name in self.figure_names}
        body.update({name: data.get(name, "") for name in self.text_names})
        if "period" in self.fields:
            body["period"] = data.get("period", "")
        entries = []
        for milestone in self.milestones:
            typed = {name: data.get(f"milestone-{milestone.pk}-{name}", "") for name in ENTRY_FIELDS}
            if any(value.strip() for value in typed.values()):
                entries.append(
                    {
                        "milestone": milestone.pk,
                        "completed_on": typed["completed_on"].strip() or None,
                        "forecast_date": typed["forecast_date"].strip() or None,
                        "note": typed["note"],
                    }
                )
        values = []
        for indicator in self.indicators:
            if indicator.measure == Measure.QUALITATIVE:
                text = data.get(f"indicator-{indicator.pk}-text", "")
                if text.strip():
                    values.append({"indicator": indicator.pk, "text": text})
            else:
                value = data.get(f"indicator-{indicator.pk}-value", "").strip()
                if value:
                    values.append({"indicator": indicator.pk, "value": value})
        if not self.monthly:
            body["milestone_entries"] = entries
            body["indicator_values"] = values
        self._sent_entries = [entry["milestone"] for entry in entries]
        self._sent_values = [item["indicator"] for item in values]
        return body

    def _errors_apply(self, errors) -> None:
        if not isinstance(errors, dict):
            return super()._errors_apply(errors)
        errors = dict(errors)
        for section, sent, prefix, value_fields in (
            ("milestone_entries", self._sent_entries, "milestone", ENTRY_FIELDS),
            ("indicator_values", self._sent_values, "indicator", ("value", "text")),
        ):
            found = errors.pop(section, None)
            if found is None:
                continue
            if isinstance(found, list) and any(isinstance(item, dict) for item in found):
                for pk, item in zip(sent, found, strict=False):
                    for key, messages in (item or {}).items():
                        name = f"{prefix}-{pk}-{key}"
                        if key in value_fields and name in self.fields:
                            self.add_error(name, _messages(messages))
                        else:
                            self.section_errors[section] += _messages(messages)
            else:
                self.section_errors[section] += _messages(found)
        super()._errors_apply(errors)

    # --- what the template lays out ---------------------------------------------------------------

    def figure_fields(self):
        return [self[name] for name in self.figure_names]

    def text_fields(self):
        return [self[name] for name in self.text_names]

    def milestone_rows(self):
        return [
            (milestone, [self[f"milestone-{milestone.pk}-{name}"] for name in ENTRY_FIELDS])
            for milestone in self.milestones
        ]

    def indicator_fields(self):
        rows = []
        for indicator in self.indicators:
            name = "text" if indicator.measure == Measure.QUALITATIVE else "value"
            rows.append((indicator, self[f"indicator-{indicator.pk}-{name}"]))
        return rows

    def has_changes(self, report, validated: dict) -> bool:
        """Whether ``validated`` (a serializer's data) differs from the report as stored."""
        for name in CONTENT_FIELDS:
            if name in validated and validated[name] != getattr(report, name):
                return True
        entries = sorted(
            (e.milestone_id, e.completed_on, e.forecast_date, e.note) for e in report.milestone_entries.all()
        )
        wanted = sorted(
            (e["milestone"].pk, e.get("completed_on"), e.get("forecast_date"), e.get("note", ""))
            for e in validated.get("milestone_entries", [])
        )
        values = sorted((v.indicator_id, v.value, v.text) for v in report.indicator_values.all())
        wanted_values = sorted(
            (v["indicator"].pk, v.get("value"), v.get("text", "")) for v in validated.get("indicator_values", [])
        )
        return entries != wanted or values != wanted_values


class ReasonForm(ErrorsMixin, forms.Form):
    """Why a report goes back, or why a flag is resolved."""

    reason = forms.CharField(
        label=capfirst(_("reason")),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "required": True}),
    )

    def __init__(self, data=None, *, with_override=False, optional=False, prefix=None):
        super().__init__(data, prefix=prefix)
        if optional:
            self.fields["reason"].label = _("Reason (optional)")
            self.fields["reason"].widget.attrs.pop("required", None)
        if with_override:
            self.fields["override"] = forms.BooleanField(
                label=_("Override: keep later scans from reopening it unless its severity gets worse"), required=False
            )

    def payload(self) -> dict:
        body = {"reason": self.data.get(self.add_prefix("reason"), "")}
        if "override" in self.fields:
            body["override"] = self.data.get(self.add_prefix("override")) in ("on", "true", "1")
        return body


class CommentForm(ErrorsMixin, forms.Form):
    body = forms.CharField(
        label=capfirst(FlagComment._meta.get_field("body").verbose_name),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "required": True}),
    )

    def __init__(self, data=None, *, with_kind=False, prefix=None):
        super().__init__(data, prefix=prefix)
        if with_kind:
            self.fields["kind"] = forms.CharField(
                label=capfirst(FlagComment._meta.get_field("kind").verbose_name),
                required=False,
                initial=CommentKind.IMPROVEMENT_PLAN,
                widget=forms.Select(choices=CommentKind.choices),
            )

    def payload(self) -> dict:
        body = {"body": self.data.get(self.add_prefix("body"), "")}
        if "kind" in self.fields:
            body["kind"] = self.data.get(self.add_prefix("kind"), CommentKind.COMMENT)
        return body


class EvidenceForm(ErrorsMixin, forms.Form):
    """A file to add to a report's evidence (佐證資料); the service says which kinds and sizes it takes."""

    file = forms.FileField(
        label=capfirst(EvidenceFile._meta.verbose_name),
        required=False,
        help_text=_("PDF, Office or ODF documents, images, CSV or ZIP."),
    )

    def upload(self):
        return self.files.get(self.add_prefix("file"))


class LockForm(ErrorsMixin, forms.Form):
    """A quarter of the plan to close to filing and edits."""

    period = forms.CharField(
        label=_("Quarter"),
        required=False,
        help_text=_("As 2024Q3."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "required": True, "size": 8}),
    )
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data=None, *, prefix="lock"):
        super().__init__(data, prefix=prefix)

    def payload(self, plan) -> dict:
        """The form as ``LockCreateSerializer`` reads it, the plan the page shows."""
        return {
            "plan": plan.pk,
            "period": self.data.get(self.add_prefix("period"), ""),
            "reason": self.data.get(self.add_prefix("reason"), ""),
        }


class LockExceptionForm(ErrorsMixin, forms.Form):
    """A sub-project let into a locked quarter until a date (inclusive)."""

    def __init__(self, data=None, *, subprojects=(), prefix=None):
        super().__init__(data, prefix=prefix)
        self.fields["project"] = forms.CharField(
            label=capfirst(LockException._meta.get_field("node").verbose_name),
            required=False,
            widget=forms.Select(choices=[("", "—"), *((str(node.pk), node.title) for node in subprojects)]),
        )
        self.fields["expires_on"] = forms.CharField(
            label=capfirst(LockException._meta.get_field("expires_on").verbose_name),
            required=False,
            widget=_date_input(required=True),
        )
        self.fields["reason"] = forms.CharField(
            label=_("Reason (optional)"), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 2})
        )

    def payload(self) -> dict:
        """The form as ``LockExceptionCreateSerializer`` reads it."""
        return {name: self.data.get(self.add_prefix(name), "") for name in ("project", "expires_on", "reason")}


BUDGET_FIELDS = ("year", *LEDGER_FIELDS)


class RevisionForm(ErrorsMixin, forms.Form):
    """A lead's request to revise the plan (計畫修正): the new end date, each milestone's planned date and weight,
    one year's budget and schedule, and why. Only what differs from the current baseline is sent."""

    reason = forms.CharField(
        label=capfirst(_("reason")), required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    end_date = forms.CharField(label=_("New end date"), required=False)

    def __init__(self, data=None, *, node, milestones=(), budget_labels=None):
        super().__init__(data)
        self.node = node
        self.milestones = list(milestones)
        self.fields["end_date"].widget = _date_input()
        self.fields["end_date"].initial = _iso(node.end_date)
        for milestone in self.milestones:
            self.fields[f"milestone-{milestone.pk}-planned_date"] = forms.CharField(
                label=_("planned date"), required=False, initial=_iso(milestone.planned_date), widget=_date_input()
            )
            self.fields[f"milestone-{milestone.pk}-weight"] = forms.CharField(
                label=_("weight (%)"),
                required=False,
                initial=format(milestone.weight.normalize(), "f"),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
        for name in BUDGET_FIELDS:
            self.fields[f"budget-{name}"] = forms.CharField(
                label=(budget_labels or {}).get(name, name),
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            )
        self.section_errors: dict[str, list[str]] = {"milestones": [], "budgets": []}

    def payload(self) -> dict:
        """The form as the API's request body: the reason, and each change from the current baseline."""
        data = self.data
        body = {"project": self.node.pk, "reason": data.get("reason", "")}
        end_date = data.get("end_date", "").strip()
        if end_date and _changed(end_date, self.node.end_date):
            body["end_date"] = end_date
        changes = []
        for milestone in self.milestones:
            item = {}
            planned = data.get(f"milestone-{milestone.pk}-planned_date", "").strip()
            weight = data.get(f"milestone-{milestone.pk}-weight", "").strip()
            if planned and _changed(planned, milestone.planned_date):
                item["planned_date"] = planned
            if weight and weight != format(milestone.weight.normalize(), "f"):
                item["weight"] = weight
            if item:
                changes.append({"milestone": milestone.pk, **item})
        if changes:
            body["milestones"] = changes
        budget = {name: data.get(f"budget-{name}", "").strip() for name in BUDGET_FIELDS}
        if budget["year"] or budget["appropriation"]:
            body["budgets"] = [{name: value for name, value in budget.items() if value}]
        return body

    def _errors_apply(self, errors) -> None:
        if isinstance(errors, dict):
            errors = dict(errors)
            for section in ("milestones", "budgets", "indicator_targets"):
                found = errors.pop(section, None)
                if found is not None:
                    self.section_errors.setdefault(section, []).extend(_messages(found))
        super()._errors_apply(errors)

    def milestone_rows(self):
        return [
            (milestone, self[f"milestone-{milestone.pk}-planned_date"], self[f"milestone-{milestone.pk}-weight"])
            for milestone in self.milestones
        ]

    def budget_fields(self):
        return [self[f"budget-{name}"] for name in BUDGET_FIELDS]
