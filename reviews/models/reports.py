import functools
import operator
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.models import BudgetYear

from ..periods import Month, Quarter, today

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
NOT_NEGATIVE = [MinValueValidator(Decimal(0))]
TEXT_MAX_CHARS = 10_000


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    ENDORSED = "endorsed", _("Endorsed by the ministry")  # 初核通過
    RETURNED = "returned", _("Returned")
    ACCEPTED = "accepted", _("Accepted")  # 複核通過


EDITABLE_STATUSES = (ReportStatus.DRAFT, ReportStatus.RETURNED)
# Filed: with a reviewer or accepted. A quarter whose report is in none of these is still owed.
FILED_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.ENDORSED, ReportStatus.ACCEPTED)
# What a lead writes in a report, besides its milestone entries and indicator values.
CONTENT_FIELDS = (
    "planned_progress",
    "actual_progress",
    "budget_spent",
    "budget_payables",
    "budget_savings",
    "budget_forecast_rate",
    "budget_explanation",
    "achievements",
    "delay_reasons",
    "countermeasures",
    "progress_explanation",
)


def executed(*, spent, payables, savings) -> Decimal | None:
    """What the execution rate counts as executed to date: spent, payables (contract retentions included) and
    savings, missing payables and savings as 0; None without a spent figure."""
    if spent is None:
        return None
    return Decimal(spent) + Decimal(payables or 0) + Decimal(savings or 0)


def executed_expression(prefix: str = ""):
    """``executed`` in SQL, on report rows (or on rows reaching them through ``prefix``, e.g. ``"report__"``)."""
    zero = Value(Decimal(0))
    return (
        F(f"{prefix}budget_spent")
        + Coalesce(f"{prefix}budget_payables", zero)
        + Coalesce(f"{prefix}budget_savings", zero)
    )


def execution_rate(*, spent, payables, savings, allocated, places: int | None = 1) -> Decimal | None:
    """經費執行率 as the budget office counts it: (累計實支數 + 應付未付數 + 節餘數) ÷ 累計分配數 × 100, that is
    spent, payables (contract retentions included) and savings to date over the allocation to date, in
    percent; payables and savings count as executed, and missing ones as 0. Rounded half-even to ``places``
    decimals (unrounded with None); None without an allocation (missing or 0) or a spent figure."""
    done = executed(spent=spent, payables=payables, savings=savings)
    if done is None or not allocated:
        return None
    rate = done * 100 / Decimal(allocated)
    return rate if places is None else rate.quantize(Decimal(1).scaleb(-places))


def late_condition() -> Q:
    """Reports that are late (the SQL of ``QuarterlyReport.is_late``): submitted after their due date the
    first time, or not submitted and past it."""
    return Q(submitted_on_time=False) | Q(first_submitted_at__isnull=True, due_on__lt=today())


# Filed: submitted or further, or reopened with its accepted figures in force. A period whose report is not
# filed is still owed; a quarter whose report is filed covers its months (no monthly update is owed for them).
IS_FILED = Q(status__in=FILED_STATUSES) | Q(accepted_content__isnull=False)


def period_condition(period: Quarter | Month) -> Q:
    """The report of ``period``: a month's monthly update, or a quarter's quarterly report."""
    if isinstance(period, Month):
        return Q(year=period.year, month=period.month)
    return Q(year=period.year, quarter=period.quarter, month__isnull=True)


class ReportKind(models.TextChoices):
    QUARTERLY = "quarterly", _("Quarterly report")  # 季報
    MONTHLY = "monthly", _("Monthly update")  # 月報


# The months a monthly update may be for, by quarter: the last month of a quarter is the quarterly report's.
UPDATE_MONTHS = {1: (1, 2), 2: (4, 5), 3: (7, 8), 4: (10, 11)}

# What a monthly update carries: cumulative progress and spending, a short note and, when behind, why (and
# why a cumulative figure fell, when it did).
MONTHLY_FIELDS = (
    "planned_progress",
    "actual_progress",
    "budget_spent",
    "achievements",
    "delay_reasons",
    "countermeasures",
    "progress_explanation",
    "budget_explanation",
)


class QuarterlyReport(models.Model):
    """季報: a sub-project's progress in one quarter, filed by its lead agency and reviewed by the secretariat.

    A row with a ``month`` is a monthly update (月報) of a sub-project whose control level reports monthly:
    the same lifecycle, review chain and rules, with the figures of ``MONTHLY_FIELDS`` only, for a month
    that does not close its quarter (``quarter`` is the month's)."""

    node = models.ForeignKey(
        "projects.PlanNode", verbose_name=_("sub-project"), on_delete=models.PROTECT, related_name="reports"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    month = models.PositiveSmallIntegerField(
        _("month"), null=True, blank=True, help_text=_("A monthly update's month; blank for the quarterly report.")
    )
    status = models.CharField(_("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    planned_progress = models.DecimalField(
        _("planned cumulative progress (%)"), max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    actual_progress = models.DecimalField(
        _("actual cumulative progress (%)"), max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    budget_spent = models.DecimalField(
        _("budget spent to date (TWD)"),
        max_digits=15,
        decimal_places=0,
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
    )  # 累計實支數 of the year
    budget_payables = models.DecimalField(
        _("payables to date (TWD)"),
        max_digits=15,
        decimal_places=0,
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text=_("應付未付數, contract retentions (保留款) included."),
    )
    budget_savings = models.DecimalField(
        _("savings to date (TWD)"), max_digits=15, decimal_places=0, null=True, blank=True, validators=NOT_NEGATIVE
    )  # 節餘數
    budget_forecast_rate = models.DecimalField(
        _("forecast execution rate for the year (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT,
    )  # 預估全年執行率
    budget_explanation = models.TextField(
        _("explanation of lower budget figures"),
        blank=True,
        max_length=TEXT_MAX_CHARS,
        help_text=_("Required when a cumulative budget figure is lower than in the last accepted quarter."),
    )
    achievements = models.TextField(_("achievements"), blank=True, max_length=TEXT_MAX_CHARS)
    delay_reasons = models.TextField(_("delay reasons"), blank=True, max_length=TEXT_MAX_CHARS)
    countermeasures = models.TextField(_("countermeasures"), blank=True, max_length=TEXT_MAX_CHARS)  # 改善措施
    progress_explanation = models.TextField(
        _("explanation of lower progress"),
        blank=True,
        max_length=TEXT_MAX_CHARS,
        help_text=_("Required when actual progress is lower than in the last accepted quarter."),
    )
    due_on = models.DateField(_("due on"))
    submitted_at = models.DateTimeField(_("last submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last submitted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    first_submitted_at = models.DateTimeField(_("first submitted at"), null=True, blank=True)
    submitted_on_time = models.BooleanField(_("submitted on time"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = models.TextField(_("reason for return"), blank=True)
    endorsed_at = models.DateTimeField(_("endorsed at"), null=True, blank=True)
    endorsed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("endorsed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The figures as last accepted: they stay in force while a reopened report is corrected.
    accepted_content = models.JSONField(_("content as accepted"), null=True, blank=True, editable=False)
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    reopen_reason = models.TextField(_("reason for reopening"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("quarterly report")
        verbose_name_plural = _("quarterly reports")
        # Within a sub-project's quarter, its monthly updates, then the quarterly report.
        ordering = ["-year", "-quarter", "node_id", models.F("month").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["node", "year", "quarter"],
                condition=Q(month__isnull=True),
                name="report_one_per_subproject_quarter",
            ),
            models.UniqueConstraint(
                fields=["node", "year", "month"],
                condition=Q(month__isnull=False),
                name="report_one_update_per_subproject_month",
            ),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="report_quarter_range"),
            models.CheckConstraint(
                condition=Q(month__isnull=True)
                | functools.reduce(
                    operator.or_, (Q(quarter=q, month__in=months) for q, months in UPDATE_MONTHS.items())
                ),
                name="report_month_in_its_quarter",
            ),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="report_status_valid"),
            models.CheckConstraint(
                condition=Q(planned_progress__isnull=True) | Q(planned_progress__gte=0, planned_progress__lte=100),
                name="report_planned_progress_range",
            ),
            models.CheckConstraint(
                condition=Q(actual_progress__isnull=True) | Q(actual_progress__gte=0, actual_progress__lte=100),
                name="report_actual_progress_range",
            ),
            models.CheckConstraint(
                condition=Q(budget_spent__isnull=True) | Q(budget_spent__gte=0),
                name="report_budget_spent_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(budget_payables__isnull=True) | Q(budget_payables__gte=0),
                name="report_budget_payables_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(budget_savings__isnull=True) | Q(budget_savings__gte=0),
                name="report_budget_savings_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.ACCEPTED) | Q(accepted_at__isnull=False, accepted_by__isnull=False),
                name="report_accepted_has_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(status=ReportStatus.DRAFT) | Q(first_submitted_at__isnull=False),
                name="report_submitted_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.ENDORSED) | Q(endorsed_at__isnull=False, endorsed_by__isnull=False),
                name="report_endorsed_has_reviewer",
            ),
        ]
        indexes = [models.Index(fields=["status", "year", "quarter"])]

    def __str__(self):
        return f"{self.node} {self.period}"

    @property
    def period(self) -> str:
        return str(self.period_obj)

    @property
    def period_obj(self) -> Quarter | Month:
        """The month of a monthly update, the quarter of a quarterly report."""
        return Month(self.year, self.month) if self.month else Quarter(self.year, self.quarter)

    @property
    def quarter_obj(self) -> Quarter:
        return Quarter(self.year, self.quarter)

    @property
    def kind(self) -> str:
        return ReportKind.MONTHLY if self.month else ReportKind.QUARTERLY

    @property
    def is_monthly(self) -> bool:
        return self.month is not None

    @property
    def is_filed(self) -> bool:
        """In Python, what ``IS_FILED`` says in SQL."""
        return self.status in FILED_STATUSES or self.accepted_content is not None

    @property
    def budget_allocated(self) -> Decimal | None:
        """累計分配數: what the sub-project's budget ledger of the year allocates up to the report's quarter
        (``BudgetYear.allocated_to``), None without a ledger. Lists annotate it (``ledger_allocated``, see
        ``reviews.selectors.with_ledger``); a report read alone asks the ledger once."""
        if "ledger_allocated" not in self.__dict__:
            ledger = BudgetYear.objects.filter(node_id=self.node_id, year=self.year).first()
            self.ledger_allocated = None if ledger is None else ledger.allocated_to(self.quarter)
        return self.ledger_allocated

    @property
    def execution_rate(self) -> Decimal | None:
        """經費執行率 to date, to one decimal (``execution_rate``)."""
        return execution_rate(
            spent=self.budget_spent,
            payables=self.budget_payables,
            savings=self.budget_savings,
            allocated=self.budget_allocated,
        )

    @property
    def is_late(self) -> bool:
        """Submitted after the due date the first time, or not yet submitted and past it (``late_condition``)."""
        if self.submitted_on_time is not None:
            return not self.submitted_on_time
        return self.due_on < today()

    @property
    def is_reopened(self) -> bool:
        """Reopened by the secretariat after acceptance and not accepted again yet."""
        return self.reopened_at is not None and self.status != ReportStatus.ACCEPTED

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'

    # Lists read through ``reviews.selectors.report_list`` come with these prefetched into plain lists
    # (``Prefetch(to_attr=...)``: no queryset built per report); a report from anywhere else reads them now.
    @property
    def milestone_entry_list(self) -> list["ReportMilestoneEntry"]:
        if hasattr(self, "prefetched_milestone_entries"):
            return self.prefetched_milestone_entries
        return list(self.milestone_entries.all())

    @property
    def indicator_value_list(self) -> list["ReportIndicatorValue"]:
        if hasattr(self, "prefetched_indicator_values"):
            return self.prefetched_indicator_values
        return list(self.indicator_values.all())

    def forget_prefetched(self, *, milestone_entries: bool = False, indicator_values: bool = False) -> None:
        """After entries or values were rewritten: the next read gets the saved rows, not a list prefetched before."""
        if milestone_entries:
            self.__dict__.pop("prefetched_milestone_entries", None)
        if indicator_values:
            self.__dict__.pop("prefetched_indicator_values", None)


class ReportMilestoneEntry(models.Model):
    report = models.ForeignKey(QuarterlyReport, on_delete=models.CASCADE, related_name="milestone_entries")
    milestone = models.ForeignKey("projects.Milestone", on_delete=models.PROTECT, related_name="report_entries")
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    forecast_date = models.DateField(_("new forecast date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=2000)

    class Meta:
        verbose_name = _("milestone entry")
        verbose_name_plural = _("milestone entries")
        ordering = ["report_id", "milestone__planned_date", "milestone_id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "milestone"], name="report_milestone_entry_unique"),
        ]

    def __str__(self):
        return f"{self.report}: {self.milestone}"


class ReportIndicatorValue(models.Model):
    report = models.ForeignKey(QuarterlyReport, on_delete=models.CASCADE, related_name="indicator_values")
    indicator = models.ForeignKey("indicators.Indicator", on_delete=models.PROTECT, related_name="report_values")
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4, null=True, blank=True)
    text = models.TextField(_("qualitative result"), blank=True, max_length=2000)

    class Meta:
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        ordering = ["report_id", "indicator_id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "indicator"], name="report_indicator_value_unique"),
        ]

    def __str__(self):
        return f"{self.report}: {self.indicator}"


class ReportAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    SUBMIT = "submit", _("Submitted")
    WITHDRAW = "withdraw", _("Withdrawn")
    ENDORSE = "endorse", _("Endorsed")
    RETURN = "return", _("Returned")
    ACCEPT = "accept", _("Accepted")
    REOPEN = "reopen", _("Reopened")
    ADD_FILE = "add_file", _("File added")
    REMOVE_FILE = "remove_file", _("File removed")


class AppendOnly:
    """A row written once and kept: saving it again or deleting it raises (on PostgreSQL the database refuses
    too, where a trigger says so)."""

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(f"{self._meta.object_name} rows are written once and never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{self._meta.object_name} rows are never deleted.")


class StepEvent(AppendOnly, models.Model):
    """One change or transition of a row that goes through a review chain (a report, a plan revision, an
    assessment): who took it, when, the status before and after, the row's version after it, the fields before
    and after and the reason given. Each kind adds the row it records and its own ``action`` choices."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    version = models.PositiveIntegerField(_("version after"))
    changes = models.JSONField(_("fields before and after"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        abstract = True


class ReportEvent(StepEvent):
    """One change or transition of a report. Append-only: on PostgreSQL the database refuses updates and deletes."""

    report = models.ForeignKey(QuarterlyReport, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=16, choices=ReportAction.choices)

    class Meta:
        verbose_name = _("report event")
        verbose_name_plural = _("report events")
        ordering = ["report_id", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=ReportAction.values), name="report_event_action_valid"),
            models.UniqueConstraint(fields=["report", "version"], name="report_event_one_per_version"),
        ]

    def __str__(self):
        return f"{self.report} {self.get_action_display()} v{self.version}"


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight"
    DONE = "done"


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an ``Idempotency-Key``, replayed to its retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self):
        return self.key


class QuarterLock(models.Model):
    """A quarter closed for a plan: no report of it is filed or edited (review goes on), except for the
    sub-projects granted an exception until it expires."""

    plan = models.ForeignKey("projects.Plan", verbose_name=_("plan"), on_delete=models.CASCADE, related_name="locks")
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    reason = models.TextField(_("reason"), blank=True, max_length=2000)
    locked_at = models.DateTimeField(_("locked at"), auto_now_add=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("locked by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("quarter lock")
        verbose_name_plural = _("quarter locks")
        ordering = ["plan_id", "-year", "-quarter"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "year", "quarter"], name="lock_one_per_plan_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="lock_quarter_range"),
        ]

    def __str__(self):
        return f"{self.plan} {self.period}"

    @property
    def period(self) -> str:
        return str(Quarter(self.year, self.quarter))


class LockException(models.Model):
    """One sub-project allowed to file and edit a locked quarter's report until ``expires_on`` (inclusive)."""

    lock = models.ForeignKey(QuarterLock, on_delete=models.CASCADE, related_name="exceptions")
    node = models.ForeignKey(
        "projects.PlanNode", verbose_name=_("sub-project"), on_delete=models.CASCADE, related_name="lock_exceptions"
    )
    expires_on = models.DateField(_("expires on"))
    reason = models.TextField(_("reason"), blank=True, max_length=2000)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("lock exception")
        verbose_name_plural = _("lock exceptions")
        ordering = ["lock_id", "node_id"]
        constraints = [models.UniqueConstraint(fields=["lock", "node"], name="lock_exception_one_per_subproject")]

    def __str__(self):
        return f"{self.lock}: {self.node} → {self.expires_on}"
