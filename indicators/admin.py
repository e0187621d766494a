from django.contrib import admin

from .models import Indicator, IndicatorActual, IndicatorTarget


class IndicatorTargetInline(admin.TabularInline):
    model = IndicatorTarget
    extra = 1


class IndicatorActualInline(admin.TabularInline):
    """Actuals are recorded through the API (plan and group level) and accepted reports (sub-projects)."""

    model = IndicatorActual
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "node", "dimension", "unit", "measure", "direction"]
    list_filter = ["plan", "measure", "direction", "is_cumulative"]
    search_fields = ["name", "key", "dimension"]
    autocomplete_fields = ["node"]
    inlines = [IndicatorTargetInline, IndicatorActualInline]
