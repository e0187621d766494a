from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat import models as beat_models

from gstp.admin import ReadOnlyInline
from indicators import admin as indicator_admin
from indicators.models import Indicator
from projects import admin as project_admin
from projects.models import LEDGER_FIELDS, BudgetYear, ControlLevel, Milestone, PlanNode

from . import access
from .models import (
    Baseline,
    EmailLog,
    EvidenceFile,
    FlagComment,
    LagFlag,
    LagSettings,
    LagSettingsChange,
    LevelSettings,
    LockException,
    OutboxMessage,
    PlanRevision,
    QuarterLock,
    QuarterlyReport,
    ReportEvent,
    ReportIndicatorValue,
    ReportMilestoneEntry,
    RevisionEvent,
    ScanBatch,
    ScanRun,
    WebhookDelivery,
    WebhookSubscription,
)
from .models.flags import LEVEL_THRESHOLD_FIELDS
from .services import budget_year_create, budget_year_update, lag_settings_update, notifications
from .services.budgets import budget_validate


class MilestoneEntryInline(ReadOnlyInline):
    model = ReportMilestoneEntry


class IndicatorValueInline(ReadOnlyInline):
    model = ReportIndicatorValue


class EvidenceFileInline(ReadOnlyInline):
    """The report's files as uploaded: names, kinds and hashes; their content is downloaded through the API."""

    model = EvidenceFile
    fk_name = "report"
    fields = ["name", "size", "content_type", "sha256", "uploaded_by", "uploaded_at", "frozen_at"]
    readonly_fields = fields
    ordering = ["uploaded_at", "id"]


class ReportEventInline(ReadOnlyInline):
    model = ReportEvent
    fields = ["at", "action", "actor", "from_status", "to_status", "version", "reason", "changes"]
    ordering = ["at", "id"]


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows that change only through the services (and their audit): the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QuarterlyReport)
class QuarterlyReportAdmin(ViewOnlyAdmin):
    """Reports change only through the API's lifecycle; the admin shows them with their history."""

    list_display = ["node", "period", "status", "actual_progress", "planned_progress", "due_on", "submitted_on_time"]
    list_filter = ["status", "year", "quarter", "submitted_on_time", "node__plan"]
    search_fields = ["node__title"]
    list_select_related = ["node"]
    inlines = [MilestoneEntryInline, IndicatorValueInline, EvidenceFileInline, ReportEventInline]


@admin.register(ReportEvent)
class ReportEventAdmin(ViewOnlyAdmin):
    list_display = ["report", "action", "actor", "at", "from_status", "to_status", "version"]
    list_filter = ["action", "to_status"]
    search_fields = ["report__node__title", "actor__username", "reason"]
    list_select_related = ["report__node", "actor"]


class LockExceptionInline(ReadOnlyInline):
    model = LockException
    fields = ["node", "expires_on", "reason", "granted_by", "granted_at"]


@admin.register(QuarterLock)
class QuarterLockAdmin(ViewOnlyAdmin):
    """Quarters are locked and exceptions granted in the console or the API, which check and record them."""

    list_display = ["plan", "period", "reason", "locked_by", "locked_at"]
    list_filter = ["plan", "year"]
    list_select_related = ["plan", "locked_by"]
    inlines = [LockExceptionInline]


class LagSettingsChangeInline(ReadOnlyInline):
    model = LagSettingsChange
    fields = ["at", "actor", "changes"]
    readonly_fields = ["at", "actor", "changes"]
    ordering = ["-at"]


LEVEL_ORDER = Case(
    *(When(level=level, then=Value(place)) for place, level in enumerate(ControlLevel.values)),
    output_field=IntegerField(),
)


class LevelSettingsForm(forms.ModelForm):
    class Meta:
        model = LevelSettings
        fields = ["level", "rhythm", "report_due_days", "monthly_due_days", *LEVEL_THRESHOLD_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].disabled = True  # one row per level, always


class LevelSettingsFormSet(forms.BaseInlineFormSet):
    """The three control levels, always: a level's row where it has one, else a row of its defaults (saved
    only once something in it is changed). A blank threshold is the plan's, shown as the placeholder."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        present = {row.level for row in self.get_queryset()}
        self.initial_extra = [
            {
                "level": level,
                "rhythm": LevelSettings.default(self.instance, level).rhythm,
                "monthly_due_days": LevelSettings._meta.get_field("monthly_due_days").default,
            }
            for level in ControlLevel.values
            if level not in present
        ]
        self.extra = len(self.initial_extra)

    def get_queryset(self):
        if not hasattr(self, "_level_rows"):
            self._level_rows = super().get_queryset().order_by(LEVEL_ORDER)
        return self._level_rows

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        plan_values = {name: getattr(self.instance, name) for name in LEVEL_THRESHOLD_FIELDS}
        plan_values["report_due_days"] = self.instance.plan.report_due_days if self.instance.plan_id else None
        for name, value in plan_values.items():
            if value is not None:
                form.fields[name].widget.attrs["placeholder"] = str(value)
        return form


class LevelSettingsInline(admin.TabularInline):
    """列管等級: each level's reporting rhythm, due days and the thresholds it tightens, one row per level. They
    are part of the plan's lag settings: whoever changes those changes them, and each change is recorded
    with the settings' own."""

    model = LevelSettings
    form = LevelSettingsForm
    formset = LevelSettingsFormSet
    can_delete = False
    min_num = 0
    max_num = len(ControlLevel.values)
    verbose_name = _("control level")
    verbose_name_plural = _("Control levels (列管等級)")

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("reviews.change_lagsettings")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("reviews.change_lagsettings")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("reviews.view_lagsettings") or self.has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LagSettings)
class LagSettingsAdmin(admin.ModelAdmin):
    """The secretariat changes a plan's thresholds, reminders and review chain (whether its ministries endorse
    reports first) here; every change is recorded with who made it."""

    list_display = [
        "plan",
        "progress_gap_yellow",
        "progress_gap_red",
        "budget_yellow_below",
        "budget_red_below",
        "endorsement_required",
    ]
    list_filter = ["endorsement_required"]
    fieldsets = [
        (None, {"fields": ["plan"]}),
        (
            _("Lag thresholds"),
            {
                "fields": [
                    "late_red_days_after_quarter_end",
                    "returned_red_days",
                    "milestone_red_days",
                    ("progress_gap_yellow", "progress_gap_red"),
                    ("budget_yellow_below", "budget_red_below"),
                    ("indicator_yellow_ratio", "indicator_red_ratio"),
                    "consecutive_yellow_turns_red",
                ]
            },
        ),
        (
            _("Plan revisions"),
            {
                "fields": [("rebaselined_yellow_days", "rebaselined_red_days"), "rebaselined_red_revisions"],
                "description": _(
                    "The rebaselined rule measures how far approved revisions (計畫修正) moved a sub-project's end "
                    "date from its original plan (原計畫), and how many were approved."
                ),
            },
        ),
        (_("Reminders"), {"fields": ["reminder_days_before_due"]}),
        (
            _("Review chain"),
            {
                "fields": ["endorsement_required", "endorsement_days"],
                "description": _(
                    "With endorsement on, a submitted report goes to its ministry's reviewer (初核) before the "
                    "Executive Secretariat; the reviewer is reminded after the days given, and a report waiting "
                    "twice as long is flagged."
                ),
            },
        ),
    ]
    inlines = [LevelSettingsInline, LagSettingsChangeInline]

    def save_model(self, request, obj, form, change):
        pass  # saved with its levels' rows in ``save_related``, as one recorded change

    def save_related(self, request, form, formsets, change):
        values = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if not change:
            values = {name: form.cleaned_data[name] for name in form.cleaned_data}
        levels = {}
        for formset in formsets:
            if formset.model is not LevelSettings:
                continue
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for level_form in formset.forms:
                if not level_form.has_changed():
                    continue
                levels[level_form.cleaned_data["level"]] = {
                    name: level_form.cleaned_data[name] for name in level_form.changed_data if name != "level"
                }
                if level_form.instance.pk is None:
                    formset.new_objects.append(level_form.instance)
                else:
                    formset.changed_objects.append((level_form.instance, level_form.changed_data))
        lag_settings_update(lag_settings=form.instance, actor=request.user, values=values, levels=levels)
        for formset in formsets:
            if formset.model is not LevelSettings:
                self.save_formset(request, form, formset, change)


class FlagCommentInline(admin.TabularInline):
    model = FlagComment
    extra = 0
    fields = ["created_at", "author", "kind", "body"]
    readonly_fields = ["created_at", "author", "kind", "body"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LagFlag)
class LagFlagAdmin(ViewOnlyAdmin):
    """Flags are raised by the scan and worked through the API's queue; the admin shows them."""

    list_display = ["node", "rule", "period", "severity", "status", "opened_at", "resolved_at"]
    list_filter = ["severity", "status", "rule", "year", "quarter", "node__plan"]
    search_fields = ["node__title"]
    list_select_related = ["node"]
    inlines = [FlagCommentInline]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class DeliveryStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", _("Pending")), ("delivered", _("Delivered")), ("abandoned", _("Abandoned"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.pending()
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "abandoned":
            return queryset.abandoned()
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every delivery with its attempts; an abandoned one (its last attempt failed) is sent again from here."""

    list_display = [
        "subscription",
        "event",
        "event_id",
        "attempts",
        "last_status",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "abandoned_at",
        "created_at",
    ]
    list_filter = [DeliveryStateFilter, "event", "subscription"]
    list_select_related = ["subscription"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_resend_permission(self, request):
        return access.can_resend_webhook(request.user)

    @admin.action(description=_("Send again"), permissions=["resend"])
    def send_again(self, request, queryset):
        sent = skipped = 0
        for delivery in queryset:
            try:
                notifications.webhook_delivery_resend(delivery=delivery, actor=request.user)
            except notifications.NotAbandoned:
                skipped += 1
            else:
                sent += 1
        if sent:
            messages.success(request, _("%(count)d deliveries will be sent again.") % {"count": sent})
        if skipped:
            messages.warning(
                request, _("%(count)d deliveries were not abandoned and were left as they are.") % {"count": skipped}
            )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["task", "created_at", "attempts", "sent_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False


class ScanBatchInline(ReadOnlyInline):
    model = ScanBatch
    fields = [
        "number",
        "first_node_id",
        "last_node_id",
        "subprojects",
        "attempts",
        "started_at",
        "last_started_at",
        "finished_at",
        "worker",
        "result",
    ]
    readonly_fields = fields


@admin.register(ScanRun)
class ScanRunAdmin(ViewOnlyAdmin):
    """The lag scan's runs on the workers: how far each got, and when its batches started, were redone, ended."""

    list_display = ["id", "as_of", "created_at", "batches_done", "batches_total", "finished_at"]
    list_filter = [("finished_at", admin.EmptyFieldListFilter)]
    fields = ["key", "as_of", "batch_size", "batches_total", "batches_done", "result", "created_at", "finished_at"]
    readonly_fields = fields
    inlines = [ScanBatchInline]


@admin.register(EmailLog)
class EmailLogAdmin(admin.ModelAdmin):
    list_display = ["subject", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject", "key"]
    readonly_fields = ["key", "recipients", "subject", "status", "attempts", "last_error", "created_at", "sent_at"]

    def has_add_permission(self, request):
        return False


class BudgetYearForm(forms.ModelForm):
    """Checks what the API checks (``services.budgets``), so a refusal shows next to its field."""

    class Meta:
        model = BudgetYear
        fields = ["node", "year", *LEDGER_FIELDS]

    def clean(self):
        cleaned = super().clean()
        node = cleaned.get("node") or (self.instance.node if self.instance.node_id else None)
        year = cleaned.get("year")
        if node is None or year is None or self.errors:
            return cleaned
        if access.baseline_frozen(node, year=year):
            raise ValidationError(access.BUDGET_YEAR_FROZEN % {"year": year})
        ledger = BudgetYear(pk=self.instance.pk, node=node, year=year, **{n: cleaned.get(n) for n in LEDGER_FIELDS})
        budget_validate(ledger)
        return cleaned


@admin.register(BudgetYear)
class BudgetYearAdmin(admin.ModelAdmin):
    """Sub-projects' budgets by year (預算數, 分配數). The Executive Secretariat sets them here or through
    ``/api/v1/budgets/``; once a report of the year is accepted, only a plan revision changes them."""

    form = BudgetYearForm
    list_display = ["node", "year", "appropriation", *LEDGER_FIELDS[1:], "updated_at"]
    list_filter = ["year", "node__plan"]
    list_select_related = ["node"]
    search_fields = ["node__title", "node__number"]
    raw_id_fields = ["node"]

    # The model permission lets a staff user in, as for other models; the access module says who sets budgets.
    def has_add_permission(self, request):
        return super().has_add_permission(request) and access.can_set_budget(request.user)

    def has_change_permission(self, request, obj=None):
        if not (super().has_change_permission(request, obj) and access.can_set_budget(request.user)):
            return False
        return obj is None or not access.baseline_frozen(obj.node_id, year=obj.year)

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ledger = self.get_object(request, object_id)
        if ledger is not None and access.baseline_frozen(ledger.node_id, year=ledger.year):
            messages.warning(request, access.BUDGET_YEAR_FROZEN % {"year": ledger.year})
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in LEDGER_FIELDS}
        if change:
            saved = budget_year_update(actor=request.user, budget_year=obj, expected_etag=None, values=values)
        else:
            saved = budget_year_create(actor=request.user, node=obj.node, year=obj.year, values=values)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at


# --- the baseline, frozen once a sub-project has an accepted report ---------------------------------------
#
# The plan structure's and the indicators' admin pages are those apps' own; reviews knows when a sub-project's
# baseline is frozen (``access.baseline_frozen``), so it registers them again here with that check on their
# forms: once frozen, the baseline fields change only through a plan revision (計畫修正).


def _frozen_form(base, fields: tuple[str, ...], node_of):
    """``base`` (a model form) refusing changes to ``fields`` of a row whose sub-project's baseline is frozen,
    and new rows under such a sub-project."""

    class FrozenBaselineForm(base):
        def clean(self):
            cleaned = super().clean()
            changed = [name for name in fields if name in self.changed_data]
            adding = self.instance.pk is None and self.has_changed()
            if changed or adding:
                node = node_of(self.instance, cleaned)
                if node is not None and access.baseline_frozen(node):
                    raise forms.ValidationError(access.baseline_frozen_message(), code="baseline_frozen")
            return cleaned

    return FrozenBaselineForm


def _node_of_node(instance, cleaned):
    return instance if instance.pk else None


def _node_of_milestone(instance, cleaned):
    return cleaned.get("node") or (instance.node if instance.node_id else None)


def _node_of_target(instance, cleaned):
    indicator = cleaned.get("indicator") or (instance.indicator if instance.indicator_id else None)
    return indicator.node if indicator is not None and indicator.node_id else None


class FrozenDeletion:
    """No deleting a row of a frozen baseline either (a milestone, a target): ``frozen_node`` names the
    sub-project of the page's object (the row itself, or an inline's parent)."""

    @staticmethod
    def frozen_node(obj):
        return obj.node if obj.node_id else None

    def has_delete_permission(self, request, obj=None):
        node = None if obj is None else self.frozen_node(obj)
        return super().has_delete_permission(request, obj) and not (node is not None and access.baseline_frozen(node))


class FrozenMilestoneInline(FrozenDeletion, project_admin.MilestoneInline):
    form = _frozen_form(forms.ModelForm, ("planned_date", "weight"), _node_of_milestone)

    @staticmethod
    def frozen_node(node):
        return node


class FrozenPlanNodeAdmin(project_admin.PlanNodeAdmin):
    form = _frozen_form(forms.ModelForm, ("end_date", "start_date"), _node_of_node)
    inlines = [project_admin.NodeAgencyInline, FrozenMilestoneInline]


class FrozenMilestoneAdmin(FrozenDeletion, project_admin.MilestoneAdmin):
    form = _frozen_form(forms.ModelForm, ("planned_date", "weight"), _node_of_milestone)


class FrozenTargetInline(FrozenDeletion, indicator_admin.IndicatorTargetInline):
    form = _frozen_form(forms.ModelForm, ("value", "year", "quarter"), _node_of_target)


class FrozenIndicatorAdmin(indicator_admin.IndicatorAdmin):
    inlines = [FrozenTargetInline, indicator_admin.IndicatorActualInline]


for _model, _admin in (
    (PlanNode, FrozenPlanNodeAdmin),
    (Milestone, FrozenMilestoneAdmin),
    (Indicator, FrozenIndicatorAdmin),
):
    admin.site.unregister(_model)
    admin.site.register(_model, _admin)


class RevisionEventInline(ReadOnlyInline):
    model = RevisionEvent
    fields = ["at", "action", "actor", "from_status", "to_status", "version", "reason", "changes"]
    ordering = ["at", "id"]


@admin.register(PlanRevision)
class PlanRevisionAdmin(ViewOnlyAdmin):
    """Revisions change only through the API's and the console's lifecycle; the admin shows them with their steps."""

    list_display = ["node", "status", "requested_by", "requested_at", "decided_at", "baseline_version"]
    list_filter = ["status", "node__plan"]
    search_fields = ["node__title", "reason"]
    list_select_related = ["node", "requested_by"]
    inlines = [RevisionEventInline]


@admin.register(Baseline)
class BaselineAdmin(ViewOnlyAdmin):
    """Baseline versions are recorded by approved revisions and never changed."""

    list_display = ["node", "version", "revision", "created_at"]
    search_fields = ["node__title"]
    list_select_related = ["node"]


# --- the schedule of periodic jobs ------------------------------------------------------------------------
# django-celery-beat's own admin pages, changed only by whom ``access.can_change_schedule`` names; beat reads
# a change within seconds (gstp/beat.py). A job's schedule and whether it runs are what changes here: which
# job, its arguments and its queue are GSTP's own (reviews/migrations/0019_periodic_tasks.py), and the jobs
# every email and webhook depends on (``access.SCHEDULE_FIXED``) are shown, not changed. Nothing is run from
# here. Sun-based schedules have no use here.


class ScheduleAccess:
    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and access.can_change_schedule(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and access.can_change_schedule(request.user)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and access.can_change_schedule(request.user)


class PeriodicTaskForm(forms.ModelForm):
    class Meta:
        model = beat_models.PeriodicTask
        fields = ["enabled", "description", "interval", "crontab", "clocked", "start_time", "one_off"]


class PeriodicTaskAdmin(ScheduleAccess, admin.ModelAdmin):
    form = PeriodicTaskForm
    list_display = ["name", "task", "enabled", "scheduler", "last_run_at", "description"]
    search_fields = ["name", "task"]
    fieldsets = [
        (None, {"fields": ["name", "task", "enabled", "description"]}),
        (_("Schedule"), {"fields": ["interval", "crontab", "clocked", "start_time", "one_off", "last_run_at"]}),
    ]
    readonly_fields = ["name", "task", "last_run_at"]
    actions = None

    def has_add_permission(self, request):
        return False  # the jobs are GSTP's own; their schedule is what changes

    def has_delete_permission(self, request, obj=None):
        return False  # a job not wanted is disabled, and can be enabled again

    def has_change_permission(self, request, obj=None):
        fixed = obj is not None and obj.name in access.SCHEDULE_FIXED
        return super().has_change_permission(request, obj) and not fixed


class CrontabScheduleAdmin(ScheduleAccess, beat_admin.CrontabScheduleAdmin):
    pass


class IntervalScheduleAdmin(ScheduleAccess, beat_admin.IntervalScheduleAdmin):
    pass


class ClockedScheduleAdmin(ScheduleAccess, beat_admin.ClockedScheduleAdmin):
    pass


admin.site.unregister(beat_models.SolarSchedule)
for _model, _admin in (
    (beat_models.PeriodicTask, PeriodicTaskAdmin),
    (beat_models.CrontabSchedule, CrontabScheduleAdmin),
    (beat_models.IntervalSchedule, IntervalScheduleAdmin),
    (beat_models.ClockedSchedule, ClockedScheduleAdmin),
):
    admin.site.unregister(_model)
    admin.site.register(_model, _admin)
