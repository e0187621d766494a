from django.contrib import admin

from gstp.admin import ReadOnlyInline

from .models import Indicator, IndicatorActual, IndicatorTarget


class IndicatorTargetInline(admin.TabularInline):
    model = IndicatorTarget
    extra = 1


class IndicatorActualInline(ReadOnlyInline):
    """Actuals are recorded through the API (plan and group level) and accepted reports (sub-projects)."""

    model = IndicatorActual


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "node", "dimension", "unit", "measure", "direction"]
    list_filter = ["plan", "measure", "direction", "is_cumulative"]
    search_fields = ["name", "key", "dimension"]
    autocomplete_fields = ["node"]
    inlines = [IndicatorTargetInline, IndicatorActualInline]
