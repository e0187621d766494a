"""The year's assessment in the admin: the secretariat opens a plan's year and changes its criteria, grade bands
and calendar here, through ``services.scheme_open`` and ``services.scheme_update`` (which check who and when,
and record the change in history); the assessments, scores, events and files are shown, changed only through
the chain's services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from simple_history.admin import SimpleHistoryAdmin

from gstp.admin import ReadOnlyInline
from gstp.exceptions import ApplicationError

from . import access, services
from .models import (
    Assessment,
    AssessmentEvent,
    AssessmentFile,
    AssessmentScheme,
    Criterion,
    GradeBand,
    Score,
)

CALENDAR_FIELDS = list(services.CALENDAR_FIELDS)


class ViewOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CriterionInline(admin.TabularInline):
    model = Criterion
    fields = ["position", "key", "name", "weight", "source", "description"]
    extra = 0
    formfield_overrides = {
        Criterion._meta.get_field("description").__class__: {"widget": forms.Textarea(attrs={"rows": 1})}
    }


class GradeBandInline(admin.TabularInline):
    model = GradeBand
    fields = ["name", "minimum"]
    extra = 0


def _refusal(exc) -> list[str]:
    if isinstance(exc, ApplicationError):
        return [str(exc.detail)]
    if hasattr(exc, "error_dict"):
        return [f"{field}: {message}" for field, items in exc.message_dict.items() for message in items]
    return list(exc.messages)


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(SimpleHistoryAdmin):
    """A plan's assessment of a year. Opening one creates every running sub-project's assessment with the
    usual criteria and grades; they are changed below until the assessment is published (the criteria only
    until a self-assessment is submitted)."""

    list_display = ["plan", "year", *CALENDAR_FIELDS, "published_at"]
    list_filter = ["plan", "year", ("published_at", admin.EmptyFieldListFilter)]
    list_select_related = ["plan"]
    readonly_fields = ["published_at", "published_by", "version"]

    def get_fields(self, request, obj=None):
        return ["plan", "year", *CALENDAR_FIELDS] if obj is None else [*CALENDAR_FIELDS, *self.readonly_fields]

    def get_inlines(self, request, obj):
        return [] if obj is None else [CriterionInline, GradeBandInline]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and access.can_set_scheme(request.user)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj) and access.can_set_scheme(request.user)
        return allowed and (obj is None or not obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        pass  # written by the services in ``save_related``, with the criteria and bands, as one change

    def save_related(self, request, form, formsets, change):
        data = {name: form.cleaned_data[name] for name in CALENDAR_FIELDS if name in form.cleaned_data}
        for formset in formsets:
            # written by the service, not the formset: nothing for the admin's change message to list
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            rows = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            if formset.model is Criterion:
                rows.sort(key=lambda row: row.get("position") or 0)
                data["criteria"] = [
                    {name: row.get(name) for name in ("key", "name", "weight", "source", "description")} for row in rows
                ]
            elif formset.model is GradeBand:
                data["bands"] = [{"name": row.get("name"), "minimum": row.get("minimum")} for row in rows]
        try:
            with transaction.atomic():
                if change:
                    services.scheme_update(actor=request.user, scheme=form.instance, expected_version=None, data=data)
                else:
                    scheme = services.scheme_open(
                        actor=request.user, plan=form.cleaned_data["plan"], year=form.cleaned_data["year"], data=data
                    )
                    form.instance.pk = scheme.pk
        except (ValidationError, ApplicationError) as exc:
            request.assessment_refused = True
            for message in _refusal(exc):
                messages.error(request, message)

    def log_addition(self, request, obj, message):
        if not getattr(request, "assessment_refused", False):
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if not getattr(request, "assessment_refused", False):
            return super().log_change(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "assessment_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "assessment_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


@admin.register(Criterion)
class CriterionAdmin(ViewOnlyAdmin, SimpleHistoryAdmin):
    """Each criterion with its history; changed on its assessment's page."""

    list_display = ["scheme", "position", "name", "weight", "source"]
    list_filter = ["scheme__plan", "scheme__year"]
    list_select_related = ["scheme__plan"]


@admin.register(GradeBand)
class GradeBandAdmin(ViewOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["scheme", "name", "minimum"]
    list_filter = ["scheme__plan", "scheme__year"]
    list_select_related = ["scheme__plan"]


class ScoreInline(ReadOnlyInline):
    model = Score
    fields = ["criterion", "suggested", "self_score", "self_note", "review_score", "review_note", "final_score"]
    readonly_fields = fields


class AssessmentEventInline(ReadOnlyInline):
    model = AssessmentEvent
    fields = ["at", "action", "actor", "from_status", "to_status", "version", "reason", "changes"]
    readonly_fields = fields
    ordering = ["at", "id"]


class AssessmentFileInline(ReadOnlyInline):
    model = AssessmentFile
    fields = ["name", "size", "content_type", "sha256", "uploaded_by", "uploaded_at", "frozen_at"]
    readonly_fields = fields


@admin.register(Assessment)
class AssessmentAdmin(ViewOnlyAdmin, SimpleHistoryAdmin):
    """Assessments change only through the chain (the console and the API); the admin shows them whole."""

    list_display = ["node", "scheme", "status", "self_total", "review_total", "final_total", "grade"]
    list_filter = ["status", "scheme__plan", "scheme__year", "grade"]
    search_fields = ["node__title"]
    list_select_related = ["node", "scheme__plan"]
    inlines = [ScoreInline, AssessmentFileInline, AssessmentEventInline]


@admin.register(AssessmentEvent)
class AssessmentEventAdmin(ViewOnlyAdmin):
    list_display = ["assessment", "action", "actor", "at", "from_status", "to_status", "version"]
    list_filter = ["action", "to_status"]
    search_fields = ["assessment__node__title", "actor__username", "reason"]
    list_select_related = ["assessment__node", "assessment__scheme__plan", "actor"]
