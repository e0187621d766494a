from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import access
from .models import Agency, AgencyAlias, Milestone, NodeAgency, NodeKind, Plan, PlanNode


class AgencyAliasInline(admin.TabularInline):
    model = AgencyAlias
    extra = 1


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "parent", "updated_at"]
    list_filter = [("parent", admin.EmptyFieldListFilter)]
    search_fields = ["name", "short_name", "aliases__alias"]
    autocomplete_fields = ["parent"]
    inlines = [AgencyAliasInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "start_year", "end_year", "report_due_days", "calendar"]
    search_fields = ["name", "code"]


class NodeAgencyInline(admin.TabularInline):
    model = NodeAgency
    extra = 1
    autocomplete_fields = ["agency"]


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ["title", "planned_date", "forecast_date", "completed_on", "weight", "is_critical"]


@admin.register(PlanNode)
class PlanNodeAdmin(SimpleHistoryAdmin):
    """A node's history (its History page) is its change log too: what each import changed ("imported: renamed",
    "imported: moved") and what was edited here."""

    list_display = ["__str__", "kind", "plan", "parent", "control_level", "updated_at"]
    list_filter = ["plan", "kind", "control_level"]
    search_fields = ["title", "outline_key"]
    autocomplete_fields = ["parent", "convening_agency"]
    readonly_fields = ["outline_key", "created_at", "updated_at"]
    inlines = [NodeAgencyInline, MilestoneInline]
    list_select_related = ["plan", "parent"]

    def get_readonly_fields(self, request, obj=None):
        # 列管等級 is a sub-project's, set by the secretariat (``access.can_set_control_level``).
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None or obj.kind != NodeKind.SUBPROJECT or not access.can_set_control_level(request.user, obj):
            fields.append("control_level")
        return fields


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["title", "node", "planned_date", "forecast_date", "completed_on", "weight", "is_critical"]
    list_filter = ["is_critical", ("completed_on", admin.EmptyFieldListFilter)]
    search_fields = ["title", "node__title"]
    autocomplete_fields = ["node"]
    date_hierarchy = "planned_date"
