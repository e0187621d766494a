"""The plan's overall indicators (總體指標) against their final targets."""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from indicators.models import IndicatorActual
from indicators.selectors import plan_indicator_summary
from projects.selectors import plan_list

from .. import charts
from ..selectors import default_plan
from .base import console_page


@console_page
def plan_default(request):
    plan = default_plan(request.user)
    if plan is None:
        raise Http404
    return redirect("console:plan", pk=plan.pk)


def _note(year, estimate: bool) -> str:
    if year is None:
        return ""
    if estimate:
        return f"({year}, {IndicatorActual._meta.get_field('is_estimate').verbose_name})"
    return f"({year})"


@console_page
def plan_page(request, pk):
    plan = get_object_or_404(plan_list(user=request.user), pk=pk)
    rows = plan_indicator_summary(plan=plan, user=request.user)
    chart_rows = [
        charts.TargetRow(
            name=row.indicator.name,
            unit=row.indicator.unit,
            result=row.result,
            result_note=_note(row.result_year, row.result_is_estimate),
            target=row.target,
            target_note=_note(row.target_year, False),
        )
        for row in rows
    ]
    target_years = sorted({row.target_year for row in rows if row.target_year})
    context = {
        "plan": plan,
        "rows": rows,
        "target_year": target_years[-1] if target_years else plan.end_year,
        "chart": charts.target_bars(
            chart_rows, chart_id="overall-indicators", title=_("Overall indicators against their targets")
        )
        if chart_rows
        else None,
    }
    return render(request, "console/plan.html", context)
