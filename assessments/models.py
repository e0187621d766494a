"""年度考評: each year, after the fourth quarter, every sub-project is assessed.

- ``AssessmentScheme``: a plan's assessment of one year: its weighted criteria (``Criterion``), its grade bands
  (``GradeBand``), its calendar (self-assessment, ministry review and secretariat review due, publication) and,
  once the secretariat publishes it, when and by whom.
- ``Assessment``: one sub-project's assessment in a scheme, going through the chain: the lead agency scores
  itself (自評), its ministry's reviewer adjusts (初核), the secretariat sets the final scores (複核); each step
  may return it to the one below.
- ``Score``: one criterion of one assessment: the score GSTP suggests from its own data with the evidence
  behind it, then each level's score and reason.
- ``AssessmentEvent``: every change and transition, append-only; ``AssessmentFile``: the lead's evidence files.

A score is out of 100; an assessment's total is the criteria's scores weighted by their weights (which add up
to 100), and its grade the highest band whose minimum the final total reaches.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reviews.models.files import StoredEvidence
from reviews.models.reports import StepEvent

SCORE = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
WEIGHT = [MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))]
NOTE_MAX_CHARS = 2_000
TWO_PLACES = Decimal("0.01")


class CriterionSource(models.TextChoices):
    """Which of GSTP's figures a criterion's suggested score comes from."""

    PROGRESS = "progress", _("Progress against the approved baseline")
    BUDGET = "budget", _("Budget execution rate")
    TARGETS = "targets", _("Indicators met")
    MANAGEMENT = "management", _("Reports on time and lag flags")
    NONE = "", _("No suggestion (judged by the reviewers)")


# The secretariat's usual criteria (計畫執行進度 30, 經費執行 20, 目標達成 30, 作業管理 20) and grades.
DEFAULT_CRITERIA = (
    ("progress", "計畫執行進度", Decimal(30), CriterionSource.PROGRESS),
    ("budget", "經費執行", Decimal(20), CriterionSource.BUDGET),
    ("targets", "目標達成", Decimal(30), CriterionSource.TARGETS),
    ("management", "作業管理", Decimal(20), CriterionSource.MANAGEMENT),
)
DEFAULT_BANDS = (("優等", Decimal(90)), ("甲等", Decimal(80)), ("乙等", Decimal(70)), ("丙等", Decimal(0)))


def default_calendar(year: int) -> dict[str, datetime.date]:
    """The usual calendar of ``year``'s assessment, in the following January to April."""
    following = year + 1
    return {
        "self_due": datetime.date(following, 2, 15),
        "review_due": datetime.date(following, 3, 15),
        "final_due": datetime.date(following, 4, 15),
        "publish_on": datetime.date(following, 4, 30),
    }


class AssessmentScheme(models.Model):
    plan = models.ForeignKey(
        "projects.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="assessment_schemes"
    )
    year = models.PositiveSmallIntegerField(_("year assessed"))
    self_due = models.DateField(_("self-assessment due"))
    review_due = models.DateField(_("ministry review due"))
    final_due = models.DateField(_("secretariat review due"))
    publish_on = models.DateField(_("publication planned on"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["plan_id", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "year"], name="assessment_scheme_one_per_plan_year"),
            models.CheckConstraint(
                condition=Q(self_due__lte=F("review_due"))
                & Q(review_due__lte=F("final_due"))
                & Q(final_due__lte=F("publish_on")),
                name="assessment_scheme_calendar_in_order",
            ),
        ]

    def __str__(self):
        return f"{self.plan.code} {self.year}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def etag(self) -> str:
        return f'"s{self.pk}-{self.version}"'

    def grade_for(self, total: Decimal | None, bands=None) -> str:
        """The name of the highest band whose minimum ``total`` reaches ("" without a total)."""
        if total is None:
            return ""
        bands = sorted(self.bands.all() if bands is None else bands, key=lambda band: band.minimum, reverse=True)
        return next((band.name for band in bands if total >= band.minimum), "")


class Criterion(models.Model):
    scheme = models.ForeignKey(AssessmentScheme, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(_("key"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, validators=WEIGHT)
    source = models.CharField(
        _("suggested from"), max_length=16, choices=CriterionSource.choices, blank=True, default=""
    )
    description = models.TextField(_("description"), blank=True, max_length=NOTE_MAX_CHARS)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assessment criterion")
        verbose_name_plural = _("assessment criteria")
        ordering = ["scheme_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "key"], name="criterion_key_unique_in_scheme"),
            models.CheckConstraint(condition=Q(weight__gt=0) & Q(weight__lte=100), name="criterion_weight_range"),
        ]

    def __str__(self):
        return f"{self.name} ({self.weight})"


class GradeBand(models.Model):
    scheme = models.ForeignKey(AssessmentScheme, on_delete=models.CASCADE, related_name="bands")
    name = models.CharField(_("grade"), max_length=20)
    minimum = models.DecimalField(_("lowest total"), max_digits=5, decimal_places=2, validators=SCORE)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("grade band")
        verbose_name_plural = _("grade bands")
        ordering = ["scheme_id", "-minimum"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "name"], name="grade_band_name_unique_in_scheme"),
            models.UniqueConstraint(fields=["scheme", "minimum"], name="grade_band_minimum_unique_in_scheme"),
            models.CheckConstraint(condition=Q(minimum__gte=0) & Q(minimum__lte=100), name="grade_band_range"),
        ]

    def __str__(self):
        return f"{self.name} ≥ {self.minimum}"


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", _("Self-assessment in progress")
    SUBMITTED = "submitted", _("Self-assessed, with the ministry")  # 自評送出, 待初核
    ENDORSED = "endorsed", _("Reviewed by the ministry")  # 初核完成, 待複核
    RETURNED = "returned", _("Returned to the lead")
    FINALIZED = "finalized", _("Final scores set")  # 複核完成


EDITABLE_STATUSES = (AssessmentStatus.DRAFT, AssessmentStatus.RETURNED)


class Level(models.TextChoices):
    """The three levels that score: a score's column and who writes it."""

    SELF = "self", _("Self-assessment")  # 自評
    REVIEW = "review", _("Ministry review")  # 初核
    FINAL = "final", _("Secretariat review")  # 複核


def weighted_total(pairs) -> Decimal | None:
    """Σ score × weight ÷ 100 over ``(score, weight)`` pairs, to two places; None while any score is missing."""
    pairs = list(pairs)
    if not pairs or any(score is None for score, _weight in pairs):
        return None
    total = sum((Decimal(score) * Decimal(weight) for score, weight in pairs), Decimal(0)) / 100
    return total.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


class Assessment(models.Model):
    scheme = models.ForeignKey(
        AssessmentScheme, verbose_name=_("assessment scheme"), on_delete=models.PROTECT, related_name="assessments"
    )
    node = models.ForeignKey(
        "projects.PlanNode", verbose_name=_("sub-project"), on_delete=models.PROTECT, related_name="assessments"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    self_total = models.DecimalField(_("self-assessed total"), max_digits=5, decimal_places=2, null=True, blank=True)
    review_total = models.DecimalField(_("reviewed total"), max_digits=5, decimal_places=2, null=True, blank=True)
    final_total = models.DecimalField(_("final total"), max_digits=5, decimal_places=2, null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    suggested_at = models.DateTimeField(_("suggestions worked out at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    endorsed_at = models.DateTimeField(_("reviewed by the ministry at"), null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finalized_at = models.DateTimeField(_("final scores set at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["scheme_id", "node__path", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "node"], name="assessment_one_per_subproject_and_scheme"),
            models.CheckConstraint(condition=Q(status__in=AssessmentStatus.values), name="assessment_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=AssessmentStatus.FINALIZED) | Q(final_total__isnull=False),
                name="assessment_finalized_has_total",
            ),
        ]

    def __str__(self):
        return f"{self.scheme} {self.node}"

    @property
    def etag(self) -> str:
        return f'"a{self.pk}-{self.version}"'

    @property
    def withdrawable(self) -> bool:
        """Submitted, and not reviewed by the ministry since: a lead may take it back."""
        if self.status != AssessmentStatus.SUBMITTED:
            return False
        return self.endorsed_at is None or (self.submitted_at is not None and self.submitted_at > self.endorsed_at)


class Score(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, verbose_name=_("criterion"), on_delete=models.PROTECT, related_name="+")
    suggested = models.DecimalField(
        _("suggested score"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    evidence = models.JSONField(_("what the suggestion is worked out from"), default=dict, blank=True)
    self_score = models.DecimalField(
        _("self-assessed score"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    self_note = models.TextField(_("justification"), blank=True, max_length=NOTE_MAX_CHARS)
    review_score = models.DecimalField(
        _("ministry's score"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    review_note = models.TextField(_("ministry's reason"), blank=True, max_length=NOTE_MAX_CHARS)
    final_score = models.DecimalField(
        _("final score"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE
    )
    final_note = models.TextField(_("secretariat's reason"), blank=True, max_length=NOTE_MAX_CHARS)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["assessment_id", "criterion__position", "criterion_id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "criterion"], name="score_one_per_criterion"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__gte": 0, f"{column}__lte": 100}),
                    name=f"score_{column}_range",
                )
                for column in ("suggested", "self_score", "review_score", "final_score")
            ),
        ]

    def __str__(self):
        return f"{self.assessment} {self.criterion.name}"

    def score_at(self, level: Level) -> Decimal | None:
        return getattr(self, f"{level}_score")

    def note_at(self, level: Level) -> str:
        return getattr(self, f"{level}_note")


class AssessmentAction(models.TextChoices):
    CREATE = "create", _("Opened")
    SUGGEST = "suggest", _("Suggestions worked out")
    SCORE = "score", _("Scored")
    SUBMIT = "submit", _("Submitted")
    WITHDRAW = "withdraw", _("Withdrawn")
    ENDORSE = "endorse", _("Reviewed by the ministry")
    RETURN = "return", _("Returned")
    FINALIZE = "finalize", _("Final scores set")
    REOPEN = "reopen", _("Reopened")
    ADD_FILE = "add_file", _("File added")
    REMOVE_FILE = "remove_file", _("File removed")
    PUBLISH = "publish", _("Published")


class AssessmentEvent(StepEvent):
    """One change or transition of an assessment, with the fields before and after and the reason given."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=16, choices=AssessmentAction.choices)

    class Meta:
        verbose_name = _("assessment event")
        verbose_name_plural = _("assessment events")
        ordering = ["assessment_id", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AssessmentAction.values), name="assessment_event_action_valid"
            ),
        ]

    def __str__(self):
        return f"{self.assessment} {self.get_action_display()} v{self.version}"


def assessment_file_path(evidence: AssessmentFile, _name: str) -> str:
    """A random name, never the uploader's (kept in ``name``)."""
    return f"evidence/assessments/{evidence.assessment_id}/{uuid.uuid4().hex}"


class AssessmentFile(StoredEvidence):
    """佐證資料 behind a self-assessment: added and removed by the sub-project's leads while it is editable,
    frozen once the ministry has reviewed it."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="files")
    content = models.FileField(_("content"), upload_to=assessment_file_path, max_length=255)

    class Meta:
        verbose_name = _("assessment evidence file")
        verbose_name_plural = _("assessment evidence files")
        ordering = ["uploaded_at", "id"]
