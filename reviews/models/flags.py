from __future__ import annotations

import copy
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.models import ControlLevel

from ..periods import Quarter


class LagRule(models.TextChoices):
    LATE_REPORT = "late_report", _("Late or missing report")
    MILESTONE_OVERDUE = "milestone_overdue", _("Overdue milestone")
    PROGRESS_GAP = "progress_gap", _("Progress behind plan")
    BUDGET_EXECUTION = "budget_execution", _("Budget execution below plan")
    INDICATOR_BEHIND = "indicator_behind", _("Indicator behind its trajectory")
    REVIEW_OVERDUE = "review_overdue", _("Ministry review overdue")
    REBASELINED = "rebaselined", _("Drifted from the original plan")


class Severity(models.TextChoices):
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


SEVERITY_RANK = {None: 0, "green": 0, Severity.YELLOW: 1, Severity.RED: 2}


class FlagStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


ACTIVE_STATUSES = (FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED)


class FlagResolution(models.TextChoices):
    CLEARED = "cleared", _("Condition cleared")
    RESOLVED = "resolved", _("Resolved by the secretariat")
    OVERRIDDEN = "overridden", _("Overridden by the secretariat")


def _percent(default):
    return models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )


class LagSettings(models.Model):
    """A plan's lag thresholds (落後警示門檻); the defaults are the programme's. Changes are recorded."""

    plan = models.OneToOneField("projects.Plan", on_delete=models.CASCADE, related_name="lag_settings")
    late_red_days_after_quarter_end = models.PositiveSmallIntegerField(
        _("late report: red when not submitted this many days after quarter end"), default=30
    )
    returned_red_days = models.PositiveSmallIntegerField(
        _("late report: red when returned and not resubmitted within (days)"), default=10
    )
    milestone_red_days = models.PositiveSmallIntegerField(_("milestone: red when overdue over (days)"), default=90)
    progress_gap_yellow = models.DecimalField(
        _("progress gap: yellow at or below (points)"), max_digits=5, decimal_places=2, default=Decimal(-5)
    )
    progress_gap_red = models.DecimalField(
        _("progress gap: red at or below (points)"), max_digits=5, decimal_places=2, default=Decimal(-10)
    )
    budget_yellow_below = _percent(90)
    budget_red_below = _percent(80)
    indicator_yellow_ratio = models.DecimalField(
        _("indicator: yellow below progress ratio"), max_digits=4, decimal_places=2, default=Decimal("0.9")
    )
    indicator_red_ratio = models.DecimalField(
        _("indicator: red below progress ratio"), max_digits=4, decimal_places=2, default=Decimal("0.7")
    )
    consecutive_yellow_turns_red = models.BooleanField(
        _("the same yellow rule two quarters running turns red"), default=True
    )
    reminder_days_before_due = models.PositiveSmallIntegerField(_("remind leads this many days before due"), default=7)
    endorsement_required = models.BooleanField(
        _("reports are endorsed by the lead agency's ministry (初核) before the secretariat's review"), default=False
    )
    endorsement_days = models.PositiveSmallIntegerField(
        _("ministry review: remind the reviewer after (days); flag after twice as long"),
        default=7,
        validators=[MinValueValidator(1)],
    )
    rebaselined_yellow_days = models.PositiveSmallIntegerField(
        _("plan revisions: yellow when the end date moved more than (days) from the original"), default=90
    )
    rebaselined_red_days = models.PositiveSmallIntegerField(
        _("plan revisions: red when the end date moved more than (days) from the original"), default=180
    )
    rebaselined_red_revisions = models.PositiveSmallIntegerField(
        _("plan revisions: red from this many approved revisions"), default=3, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lag settings")
        verbose_name_plural = _("lag settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_gap_red__lte=models.F("progress_gap_yellow")), name="lag_gap_red_below_yellow"
            ),
            models.CheckConstraint(
                condition=Q(budget_red_below__lte=models.F("budget_yellow_below")), name="lag_budget_red_below_yellow"
            ),
            models.CheckConstraint(
                condition=Q(indicator_red_ratio__lte=models.F("indicator_yellow_ratio")),
                name="lag_indicator_red_below_yellow",
            ),
            models.CheckConstraint(
                condition=Q(rebaselined_red_days__gte=models.F("rebaselined_yellow_days")),
                name="lag_rebaselined_red_after_yellow",
            ),
        ]

    def __str__(self):
        return str(self.plan)

    def for_level(self, level: str) -> LagSettings:
        """The settings a sub-project of this control level is judged by: the plan's, with the level's own
        (``LevelSettings``) in place of any it tightens, and the level's reporting rhythm and due days.
        The copy is not saved; it is cached per level on this instance."""
        cache = self.__dict__.setdefault("_by_level", {})
        if level not in cache:
            rows = self.__dict__.get("_prefetched_objects_cache", {}).get("levels")
            if rows is None:
                rows = list(self.levels.all()) if self.pk else []
            row = next((row for row in rows if row.level == level), None) or LevelSettings.default(self, level)
            effective = copy.copy(self)
            effective.__dict__.pop("_by_level", None)
            effective.pk = None  # a copy to read: saved by mistake, it could not write over the plan's row
            for name in LEVEL_THRESHOLD_FIELDS:
                value = getattr(row, name)
                if value is not None:
                    setattr(effective, name, value)
            effective.level = level
            effective.rhythm = row.rhythm
            effective.report_due_days = (
                row.report_due_days if row.report_due_days is not None else self.plan.report_due_days
            )
            effective.monthly_due_days = row.monthly_due_days
            cache[level] = effective
        return cache[level]

    @classmethod
    def endorsement_required_for(cls, plan_id) -> bool:
        """Whether the plan's reports are endorsed by a ministry before the secretariat reviews them."""
        return cls.objects.filter(plan_id=plan_id, endorsement_required=True).exists()

    budget_yellow_below.verbose_name = _("budget execution: yellow below (%)")
    budget_red_below.verbose_name = _("budget execution: red below (%)")


class Rhythm(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")  # 月報 between the quarterly reports
    QUARTERLY = "quarterly", _("Quarterly")


DEFAULT_RHYTHM = {ControlLevel.EXECUTIVE_YUAN: Rhythm.MONTHLY}

# The plan's thresholds a control level may tighten, and which way is tighter: ``1`` when a higher value
# is stricter (a gap flagged sooner, a higher budget line), ``-1`` when a lower one is (fewer days allowed).
LEVEL_THRESHOLD_FIELDS = {
    "late_red_days_after_quarter_end": -1,
    "returned_red_days": -1,
    "milestone_red_days": -1,
    "progress_gap_yellow": 1,
    "progress_gap_red": 1,
    "budget_yellow_below": 1,
    "budget_red_below": 1,
    "indicator_yellow_ratio": 1,
    "indicator_red_ratio": 1,
}


def _tightened(name):
    field = LagSettings._meta.get_field(name)
    return type(field)(
        field.verbose_name,
        null=True,
        blank=True,
        validators=field._validators,  # its own, not the database's ranges
        help_text=_("Blank: the plan's."),
        **(
            {"max_digits": field.max_digits, "decimal_places": field.decimal_places}
            if field.get_internal_type() == "DecimalField"
            else {}
        ),
    )


class LevelSettings(models.Model):
    """A control level's reporting rhythm, due days and tightened thresholds within a plan's lag settings.

    A level without a row reports at its default rhythm (院列管 monthly, the others quarterly), by the plan's
    due days and thresholds."""

    lag_settings = models.ForeignKey(LagSettings, on_delete=models.CASCADE, related_name="levels")
    level = models.CharField(_("control level"), max_length=16, choices=ControlLevel.choices)
    rhythm = models.CharField(_("reporting rhythm"), max_length=16, choices=Rhythm.choices)
    report_due_days = models.PositiveSmallIntegerField(
        _("quarterly report due (days after quarter end)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(120)],
        help_text=_("Blank: the plan's."),
    )
    monthly_due_days = models.PositiveSmallIntegerField(
        _("monthly update due (days after month end)"), default=10, validators=[MaxValueValidator(60)]
    )
    late_red_days_after_quarter_end = _tightened("late_red_days_after_quarter_end")
    returned_red_days = _tightened("returned_red_days")
    milestone_red_days = _tightened("milestone_red_days")
    progress_gap_yellow = _tightened("progress_gap_yellow")
    progress_gap_red = _tightened("progress_gap_red")
    budget_yellow_below = _tightened("budget_yellow_below")
    budget_red_below = _tightened("budget_red_below")
    indicator_yellow_ratio = _tightened("indicator_yellow_ratio")
    indicator_red_ratio = _tightened("indicator_red_ratio")

    class Meta:
        verbose_name = _("control level settings")
        verbose_name_plural = _("control level settings")
        ordering = ["lag_settings", "level"]
        constraints = [
            models.UniqueConstraint(fields=["lag_settings", "level"], name="level_settings_one_per_level"),
            models.CheckConstraint(condition=Q(level__in=ControlLevel.values), name="level_settings_level_valid"),
            models.CheckConstraint(condition=Q(rhythm__in=Rhythm.values), name="level_settings_rhythm_valid"),
        ]

    def __str__(self):
        return f"{self.lag_settings} {self.get_level_display()}"

    @classmethod
    def default(cls, lag_settings: LagSettings, level: str) -> LevelSettings:
        return cls(lag_settings=lag_settings, level=level, rhythm=DEFAULT_RHYTHM.get(level, Rhythm.QUARTERLY))

    def clean(self):
        """A level may tighten the plan's thresholds, never loosen them; red stays beyond yellow."""
        super().clean()
        errors = {}
        plan = self.lag_settings
        for name, stricter in LEVEL_THRESHOLD_FIELDS.items():
            value = getattr(self, name)
            if value is not None and (value - getattr(plan, name)) * stricter < 0:
                errors[name] = _("A control level may tighten the plan's threshold (%(plan)s), not loosen it.") % {
                    "plan": getattr(plan, name)
                }
        effective = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(plan, name)
            for name in LEVEL_THRESHOLD_FIELDS
        }
        for red, yellow in (
            ("progress_gap_red", "progress_gap_yellow"),
            ("budget_red_below", "budget_yellow_below"),
            ("indicator_red_ratio", "indicator_yellow_ratio"),
        ):
            if red not in errors and effective[red] > effective[yellow]:
                errors[red] = _("Red must lie beyond yellow.")
        if errors:
            raise ValidationError(errors)


class LagSettingsChange(models.Model):
    lag_settings = models.ForeignKey(LagSettings, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(_("fields before and after"))

    class Meta:
        verbose_name = _("lag settings change")
        verbose_name_plural = _("lag settings changes")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.lag_settings} {self.at:%Y-%m-%d %H:%M}"


class LagFlag(models.Model):
    """落後警示: a sub-project lagging by one rule in one quarter, with the numbers that decided it."""

    node = models.ForeignKey(
        "projects.PlanNode", verbose_name=_("sub-project"), on_delete=models.CASCADE, related_name="flags"
    )
    rule = models.CharField(_("rule"), max_length=32, choices=LagRule.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    evidence = models.JSONField(_("evidence"), default=dict)
    score = models.DecimalField(
        _("how far past the threshold"),
        max_digits=14,
        decimal_places=4,
        default=Decimal(0),
        help_text=_("Higher is worse; an overridden flag reopens only when its severity grows."),
    )
    opened_at = models.DateTimeField(_("opened at"))
    severity_raised_at = models.DateTimeField(_("severity raised at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("resolution"), max_length=16, choices=FlagResolution.choices, blank=True)
    resolution_reason = models.TextField(_("reason"), blank=True)
    overridden_severity = models.CharField(max_length=8, choices=Severity.choices, blank=True)
    # The score the secretariat saw when it overrode the flag: a record, not a line; a worse severity alone reopens.
    overridden_score = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lag flag")
        verbose_name_plural = _("lag flags")
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["node", "rule", "year", "quarter"], name="flag_one_per_rule_and_quarter"),
            models.CheckConstraint(condition=Q(rule__in=LagRule.values), name="flag_rule_valid"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="flag_severity_valid"),
            models.CheckConstraint(condition=Q(status__in=FlagStatus.values), name="flag_status_valid"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="flag_quarter_range"),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.RESOLVED) | Q(resolved_at__isnull=False),
                name="flag_resolved_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "severity"]), models.Index(fields=["node", "status"])]

    def __str__(self):
        return f"{self.node} {self.get_rule_display()} {self.period}"

    @property
    def period(self) -> str:
        return str(Quarter(self.year, self.quarter))


class CommentKind(models.TextChoices):
    COMMENT = "comment", _("Comment")
    IMPROVEMENT_PLAN = "improvement_plan", _("Improvement plan")  # 改善措施


class FlagComment(models.Model):
    flag = models.ForeignKey(LagFlag, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=CommentKind.choices, default=CommentKind.COMMENT)
    body = models.TextField(_("text"), max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("flag comment")
        verbose_name_plural = _("flag comments")
        ordering = ["flag_id", "created_at", "id"]

    def __str__(self):
        return f"{self.flag}: {self.body[:30]}"
