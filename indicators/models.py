from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Measure(models.TextChoices):
    NUMBER = "number", _("Number")
    PERCENTAGE = "percentage", _("Percentage")
    QUALITATIVE = "qualitative", _("Qualitative")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class IndicatorQuerySet(models.QuerySet):
    pass


class Indicator(models.Model):
    """績效指標: at plan level (總體指標), on a plan-tree node, or on a sub-project."""

    plan = models.ForeignKey(
        "projects.Plan", verbose_name=_("plan"), on_delete=models.CASCADE, related_name="indicators"
    )
    node = models.ForeignKey(
        "projects.PlanNode",
        verbose_name=_("plan-tree node"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="indicators",
        help_text=_("Empty for a plan-level (overall) indicator."),
    )
    key = models.CharField(_("key"), max_length=120, help_text=_("Stable identifier within the plan, e.g. overall/1."))
    dimension = models.CharField(_("dimension"), max_length=100, blank=True)  # 面向
    name = models.CharField(_("name"), max_length=300)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    measure = models.CharField(_("measure"), max_length=16, choices=Measure.choices, default=Measure.NUMBER)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    is_cumulative = models.BooleanField(_("cumulative"), default=False)
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"), null=True, blank=True)
    baseline_value = models.DecimalField(_("baseline value"), max_digits=20, decimal_places=4, null=True, blank=True)
    note = models.TextField(_("definition and source"), blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # The status the daily evaluation last found. The evaluation also follows the calendar (a target date
    # passes, the line to the target moves on): when the day alone changes the status, the daily job records
    # the new one and marks the indicator changed, for ``updated_since`` (``indicator_statuses_refresh``).
    evaluated_status = models.CharField(max_length=16, blank=True, default="", editable=False)

    objects = IndicatorQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["plan_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="indicator_key_unique_per_plan"),
            models.CheckConstraint(condition=Q(measure__in=Measure.values), name="indicator_measure_valid"),
            models.CheckConstraint(condition=Q(direction__in=Direction.values), name="indicator_direction_valid"),
            models.CheckConstraint(
                condition=Q(baseline_year__isnull=True, baseline_value__isnull=True)
                | Q(baseline_year__isnull=False, baseline_value__isnull=False),
                name="indicator_baseline_complete",
            ),
        ]

    def __str__(self):
        return self.name


class IndicatorTarget(models.Model):
    """目標值 for a year, or for one quarter of it."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"), default=0, help_text=_("0 for the whole year"))
    value = models.DecimalField(_("target"), max_digits=20, decimal_places=4)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("indicator target")
        verbose_name_plural = _("indicator targets")
        ordering = ["indicator_id", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "year", "quarter"], name="indicator_target_unique"),
            models.CheckConstraint(condition=Q(quarter__gte=0, quarter__lte=4), name="indicator_target_quarter_range"),
        ]

    def __str__(self):
        period = f"{self.year}Q{self.quarter}" if self.quarter else str(self.year)
        return f"{self.indicator}: {self.value} ({period})"


class IndicatorActual(models.Model):
    """達成值 recorded for a year (or an estimate of it, 預估值), with its source."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="actuals")
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"), default=0, help_text=_("0 for the whole year"))
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4, null=True, blank=True)
    text = models.TextField(_("qualitative result"), blank=True)
    is_estimate = models.BooleanField(_("estimate"), default=False)  # 預估值
    as_of = models.DateField(_("as of"), null=True, blank=True, help_text=_("The date the figure refers to."))
    source = models.CharField(_("source"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("indicator actual")
        verbose_name_plural = _("indicator actuals")
        ordering = ["indicator_id", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "year", "quarter"], name="indicator_actual_unique"),
            models.CheckConstraint(condition=Q(quarter__gte=0, quarter__lte=4), name="indicator_actual_quarter_range"),
        ]

    def __str__(self):
        return f"{self.indicator}: {self.value} ({self.year})"
