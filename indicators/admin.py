from django.contrib import admin

from .models import Indicator, IndicatorActual, IndicatorTarget


class IndicatorTargetInline(admin.TabularInline):
    model = IndicatorTarget
    extra = 1


class IndicatorActualInline(admin.TabularInline):
    model = IndicatorActual
    extra = 1
    readonly_fields = ["recorded_at"]


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "node", "dimension", "unit", "measure", "direction"]
    list_filter = ["plan", "measure", "direction", "is_cumulative"]
    search_fields = ["name", "key", "dimension"]
    autocomplete_fields = ["node"]
    inlines = [IndicatorTargetInline, IndicatorActualInline]
