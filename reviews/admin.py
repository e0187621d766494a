from django.contrib import admin

from .models import QuarterlyReport, ReportEvent, ReportIndicatorValue, ReportMilestoneEntry


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MilestoneEntryInline(ReadOnlyInline):
    model = ReportMilestoneEntry


class IndicatorValueInline(ReadOnlyInline):
    model = ReportIndicatorValue


class ReportEventInline(ReadOnlyInline):
    model = ReportEvent
    fields = ["at", "action", "actor", "from_status", "to_status", "version", "reason", "changes"]
    ordering = ["at", "id"]


@admin.register(QuarterlyReport)
class QuarterlyReportAdmin(admin.ModelAdmin):
    """Reports change only through the API's lifecycle; the admin shows them with their history."""

    list_display = ["node", "period", "status", "actual_progress", "planned_progress", "due_on", "submitted_on_time"]
    list_filter = ["status", "year", "quarter", "submitted_on_time", "node__plan"]
    search_fields = ["node__title"]
    list_select_related = ["node"]
    inlines = [MilestoneEntryInline, IndicatorValueInline, ReportEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReportEvent)
class ReportEventAdmin(admin.ModelAdmin):
    list_display = ["report", "action", "actor", "at", "from_status", "to_status", "version"]
    list_filter = ["action", "to_status"]
    search_fields = ["report__node__title", "actor__username", "reason"]
    list_select_related = ["report__node", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
