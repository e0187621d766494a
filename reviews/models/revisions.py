"""計畫修正: a lead's request to change a sub-project's approved baseline (its end date, its milestones'
planned dates and weights, a year's budget, its indicator targets), the review it goes through, and the
baseline versions (基準版本) approval makes. Version 1 is the original plan (原計畫); every approved revision
adds the next version, and no version is ever changed or deleted."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .reports import AppendOnly, StepEvent


class RevisionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ENDORSED = "endorsed", _("Endorsed by the ministry")  # 初核通過
    APPROVED = "approved", _("Approved")  # 核定
    REJECTED = "rejected", _("Rejected")  # 駁回
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Waiting for a decision: a sub-project has at most one such revision at a time.
OPEN_REVISION_STATUSES = (RevisionStatus.REQUESTED, RevisionStatus.ENDORSED)
# What a revision may change, as keys of ``PlanRevision.changes``.
CHANGE_KEYS = ("end_date", "milestones", "budgets", "indicator_targets")


class PlanRevision(models.Model):
    """A request to revise a sub-project's baseline, with the changes it proposes (``changes``):

    - ``end_date``: the new end date (ISO);
    - ``milestones``: ``[{"milestone": id, "planned_date": ISO, "weight": "25.00"}]`` (either may be left out);
    - ``budgets``: ``[{"year": 2025, "appropriation": "...", "allocation_q1": "...", ..., "allocation_q4": "..."}]``;
    - ``indicator_targets``: ``[{"indicator": id, "year": 2025, "quarter": 0, "value": "..."}]``.
    """

    node = models.ForeignKey(
        "projects.PlanNode", verbose_name=_("sub-project"), on_delete=models.PROTECT, related_name="revisions"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RevisionStatus.choices, default=RevisionStatus.REQUESTED
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    reason = models.TextField(_("reason"), max_length=5000)
    changes = models.JSONField(_("proposed changes"), default=dict)
    decision_reason = models.TextField(_("reason for the decision"), blank=True, max_length=5000)
    baseline_version = models.PositiveIntegerField(
        _("baseline version"), null=True, blank=True, help_text=_("The baseline version its approval made.")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("endorsed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    endorsed_at = models.DateTimeField(_("endorsed at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("plan revision")
        verbose_name_plural = _("plan revisions")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RevisionStatus.values), name="revision_status_valid"),
            models.UniqueConstraint(
                fields=["node"],
                condition=Q(status__in=OPEN_REVISION_STATUSES),
                name="revision_one_open_per_subproject",
                violation_error_message=_("This sub-project already has a revision waiting for a decision."),
            ),
            models.CheckConstraint(
                condition=~Q(status=RevisionStatus.ENDORSED) | Q(endorsed_at__isnull=False, endorsed_by__isnull=False),
                name="revision_endorsed_has_reviewer",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[RevisionStatus.APPROVED, RevisionStatus.REJECTED])
                | Q(decided_at__isnull=False, decided_by__isnull=False),
                name="revision_decided_has_decider",
            ),
            models.CheckConstraint(
                condition=~Q(status=RevisionStatus.APPROVED) | Q(baseline_version__isnull=False),
                name="revision_approved_has_baseline",
            ),
        ]
        indexes = [models.Index(fields=["status", "node"])]

    def __str__(self):
        return f"{self.node} #{self.pk}"

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REVISION_STATUSES


class RevisionAction(models.TextChoices):
    REQUEST = "request", _("Requested")
    UPDATE = "update", _("Updated")
    WITHDRAW = "withdraw", _("Withdrawn")
    ENDORSE = "endorse", _("Endorsed")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")


class RevisionEvent(StepEvent):
    """One step of a revision. Append-only."""

    revision = models.ForeignKey(PlanRevision, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=16, choices=RevisionAction.choices)
    changes = models.JSONField(_("proposed changes before and after"), default=dict, blank=True)

    class Meta:
        verbose_name = _("revision event")
        verbose_name_plural = _("revision events")
        ordering = ["revision_id", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=RevisionAction.values), name="revision_event_action_valid"),
            models.UniqueConstraint(fields=["revision", "version"], name="revision_event_one_per_version"),
        ]

    def __str__(self):
        return f"{self.revision} {self.get_action_display()} v{self.version}"


class Baseline(AppendOnly, models.Model):
    """基準版本: a sub-project's baseline as it stood at one version. ``content`` holds it whole:
    ``{"start_date", "end_date", "milestones": [{"id", "title", "planned_date", "weight"}],
    "budgets": [{"year", "appropriation", "allocations": [q1, q2, q3, q4]}],
    "indicator_targets": [{"indicator", "year", "quarter", "value"}]}``. Append-only."""

    node = models.ForeignKey(
        "projects.PlanNode", verbose_name=_("sub-project"), on_delete=models.PROTECT, related_name="baselines"
    )
    version = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    revision = models.OneToOneField(
        PlanRevision,
        verbose_name=_("revision"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="baseline",
        help_text=_("The approved revision that made this version; none for the original plan (version 1)."),
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("baseline version")
        verbose_name_plural = _("baseline versions")
        ordering = ["node_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["node", "version"], name="baseline_one_per_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="baseline_version_positive"),
            models.CheckConstraint(
                condition=Q(version=1, revision__isnull=True) | Q(version__gt=1, revision__isnull=False),
                name="baseline_original_has_no_revision",
            ),
        ]

    def __str__(self):
        return f"{self.node} v{self.version}"
