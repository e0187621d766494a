"""The year's assessment (年度考評) on the pages: the scoring form of the level whose turn it is, and the words
for a suggestion's evidence. The form collects what was typed; ``assessments.services`` validates it, and
``errors_apply`` puts its messages (``scores[1].note``) next to the criterion's fields."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessments.models import Level
from console.charts import number_text

from .forms import ErrorsMixin, _messages

SCORE_ERROR = re.compile(r"^scores\[(\d+)\]\.(score|note|criterion)$")

SCORE_LABELS = {
    Level.SELF: (gettext_lazy("Self-assessed score"), gettext_lazy("Justification")),
    Level.REVIEW: (gettext_lazy("Ministry's score"), gettext_lazy("Reason for the change")),
    Level.FINAL: (gettext_lazy("Final score"), gettext_lazy("Reason for the change")),
}


def _plain(value) -> str:
    return "" if value is None else format(value.normalize(), "f")


class ScoreForm(ErrorsMixin, forms.Form):
    """One score and one note per criterion, at ``level``: the lead's own, or (for the ministry and the
    secretariat) a change to the level below's, which a blank score keeps."""

    def __init__(self, data=None, *, scores, level: Level):
        super().__init__(data)
        self.scores, self.level = list(scores), level
        score_label, note_label = SCORE_LABELS[level]
        for score in self.scores:
            key = score.criterion.key
            below = _effective_below(score, level)
            self.fields[f"score-{key}"] = forms.CharField(
                label=f"{score_label}（{score.criterion.name}）",
                required=False,
                widget=forms.TextInput(
                    attrs={
                        "inputmode": "decimal",
                        "autocomplete": "off",
                        "size": 6,
                        "data-weight": str(score.criterion.weight),
                        **({"placeholder": _plain(below)} if below is not None else {}),
                    }
                ),
            )
            self.fields[f"note-{key}"] = forms.CharField(
                label=f"{note_label}（{score.criterion.name}）",
                required=False,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            if data is None:
                self.initial[f"score-{key}"] = _plain(score.score_at(level))
                self.initial[f"note-{key}"] = score.note_at(level)

    def entries(self) -> list[dict]:
        """The form as the service's ``entries``: every criterion, in the scheme's order (so an error's index
        names the same criterion whether it comes from scoring or from submitting)."""
        return [
            {
                "criterion": score.criterion.key,
                "score": self.data.get(f"score-{score.criterion.key}", "").strip(),
                "note": self.data.get(f"note-{score.criterion.key}", ""),
            }
            for score in self.scores
        ]

    def has_changes(self) -> bool:
        for entry, score in zip(self.entries(), self.scores, strict=True):
            try:
                typed = Decimal(entry["score"]) if entry["score"] else None
            except InvalidOperation:
                return True
            if typed != score.score_at(self.level) or entry["note"].strip() != score.note_at(self.level):
                return True
        return False

    def _errors_apply(self, errors) -> None:
        if not isinstance(errors, dict):
            return super()._errors_apply(errors)
        rest = {}
        for key, value in errors.items():
            match = SCORE_ERROR.match(key)
            if match and int(match.group(1)) < len(self.scores):
                criterion = self.scores[int(match.group(1))].criterion.key
                name = f"note-{criterion}" if match.group(2) == "note" else f"score-{criterion}"
                self.add_error(name, _messages(value))
            else:
                rest[key] = value
        super()._errors_apply(rest)

    def rows(self):
        """Per criterion: the score row, its fields and the suggestion's evidence in words."""
        return [
            (score, self[f"score-{score.criterion.key}"], self[f"note-{score.criterion.key}"], evidence_lines(score))
            for score in self.scores
        ]


def _effective_below(score, level: Level):
    if level == Level.SELF:
        return None
    below = Level.SELF if level == Level.REVIEW else Level.REVIEW
    value = score.score_at(below)
    if value is None and below == Level.REVIEW:
        value = score.score_at(Level.SELF)
    return value


# --- a suggestion's evidence, in words ---------------------------------------------------------------------

PERCENT = "%"
POINTS = "points"
EVIDENCE_WORDS = {
    "period": (gettext_lazy("period"), None),
    "planned_progress": (gettext_lazy("planned"), PERCENT),
    "actual_progress": (gettext_lazy("actual"), PERCENT),
    "baseline_version": (gettext_lazy("baseline version"), None),
    "execution_rate": (gettext_lazy("execution rate"), PERCENT),
    "full_marks_from": (gettext_lazy("full marks from"), PERCENT),
    "budget_allocated": (gettext_lazy("allocated (TWD)"), None),
    "budget_spent": (gettext_lazy("spent (TWD)"), None),
    "budget_payables": (gettext_lazy("payables (TWD)"), None),
    "budget_savings": (gettext_lazy("savings (TWD)"), None),
    "with_target": (gettext_lazy("indicators with a target"), None),
    "met": (gettext_lazy("met"), None),
    "reports_due": (gettext_lazy("reports due"), None),
    "reports_on_time": (gettext_lazy("filed on time"), None),
    "red_flags": (gettext_lazy("red flags"), None),
    "yellow_flags": (gettext_lazy("yellow flags"), None),
    "red_flags_without_improvement_plan": (gettext_lazy("red flags without an improvement plan"), None),
    "months_open": (gettext_lazy("months flags stayed open"), None),
}
# Figures of the working that a reader does not need beside the score (the module's docstring has the rules).
EVIDENCE_HIDDEN = {
    "basis",
    "report",
    "points_per_point_behind",
    "points_per_point_below",
    "reports_points",
    "flags_points",
    "worked_out_on",
}
# Why there is no suggestion (``evidence["basis"]`` of a suggestion without a score).
NO_SUGGESTION = {
    "no_accepted_report": gettext_lazy("No accepted quarterly report of the year yet."),
    "no_progress_figures": gettext_lazy("The year's accepted report has no progress figures."),
    "no_budget_spent": gettext_lazy("The year's accepted report has no spent figure."),
    "no_allocation": gettext_lazy("No budget allocated for the year."),
    "no_indicator_with_target": gettext_lazy("No indicator with a target for the year."),
    "not_running_in_year": gettext_lazy("The sub-project did not run that year."),
}


EVIDENCE_ORDER = {key: place for place, key in enumerate([*list(EVIDENCE_WORDS)[:3], "gap", *list(EVIDENCE_WORDS)[3:]])}


def _number(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def evidence_lines(score) -> list[str]:
    """The figures a suggestion was worked out from, as a reader says them: 預定 80.00%、實際 76.00%、落後 4.00 個
    百分點. A gap is said as ahead or behind; an unknown key is shown by its name."""
    lines = []
    evidence = score.evidence or {}
    if score.suggested is None and evidence.get("basis") in NO_SUGGESTION:
        return [str(NO_SUGGESTION[evidence["basis"]])]
    # In a set order: PostgreSQL's jsonb keeps its keys in an order of its own.
    for key in sorted(evidence, key=lambda key: (EVIDENCE_ORDER.get(key, len(EVIDENCE_ORDER)), key)):
        value = evidence[key]
        if key in EVIDENCE_HIDDEN or isinstance(value, dict | list):
            continue
        number = _number(value) if not isinstance(value, bool) else None
        if key == "gap" and number is not None:
            words = _("behind by %(points)s points") if number < 0 else _("ahead by %(points)s points")
            lines.append(words % {"points": f"{abs(number):,.2f}"})
            continue
        label, unit = EVIDENCE_WORDS.get(key, (key.replace("_", " "), None))
        if number is None:
            text = str(value)
        elif unit == PERCENT:
            text = f"{number:,.2f}%"
        else:
            text = number_text(number, 2 if number != number.to_integral_value() else 0)
        lines.append(f"{label} {text}")
    return lines
