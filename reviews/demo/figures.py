"""The demo sub-projects' figures: how each one runs (its profile), its milestones, its indicator, and what
its report says each quarter."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from simple_history.utils import bulk_create_with_history

from indicators.models import Indicator, IndicatorTarget, Measure
from projects.models import Milestone

from ..periods import Quarter
from ..rules import decimal_text
from .calendar import HISTORY, SPAN, DemoCalendar, shifted


@dataclass(frozen=True)
class Profile:
    name: str
    gap: Decimal = Decimal(0)  # actual minus planned progress, in points
    execution: Decimal = Decimal("0.97")  # spent over allocated
    days_late: int = 0  # submitted this many days after the due date (negative: before)
    slipping_milestone: bool = False


PROFILES = [
    Profile("on plan"),
    Profile("on plan", gap=Decimal("1.5")),
    Profile("on plan", execution=Decimal("0.93")),
    Profile("behind plan", gap=Decimal("-6.5")),
    Profile("on plan"),
    Profile("far behind plan", gap=Decimal("-12"), slipping_milestone=True),
    Profile("under-spending", execution=Decimal("0.86")),
    Profile("on plan", gap=Decimal("0.5")),
    Profile("severely under-spending", execution=Decimal("0.72")),
    Profile("late submitter", days_late=14),
    Profile("on plan", execution=Decimal("0.95")),
]
# (title, the quarter it is planned to end, by its place in the sub-project's quarters, weight, critical)
MILESTONES = [
    ("需求訪談與規劃完成", 2, Decimal(20), False),
    ("系統建置完成", 4, Decimal(30), True),
    ("試營運", 7, Decimal(20), False),
    ("驗收結案", SPAN, Decimal(30), True),
]
# Planned growth of the demo indicator per quarter; on plan it grows faster, behind plan slower.
INDICATOR_PLAN_STEP = Decimal(150)


def budget_of(index: int) -> Decimal:
    return Decimal((index % 7 + 3) * 10_000_000)


def indicator_baseline(index: int) -> Decimal:
    return Decimal(1000 + 100 * (index % 9))


def indicator_value(index: int, profile: Profile, step: int) -> Decimal:
    # On plan it stays ahead of the targets (INDICATOR_PLAN_STEP a quarter), on track whatever the day even when
    # its latest report is still in review; behind plan it falls behind them.
    return indicator_baseline(index) + Decimal(step) * Decimal(110 if profile.gap < 0 else 190)


def demo_indicator(node, index: int, calendar: DemoCalendar) -> Indicator:
    """A cumulative indicator from a baseline at the end of the year before the sub-project, with a target for
    each of its years: INDICATOR_PLAN_STEP for each of its quarters up to the year's end."""
    baseline = indicator_baseline(index)
    indicator = Indicator.objects.create(
        plan=node.plan,
        node=node,
        key=f"{node.outline_key or node.pk}/usage",
        name="服務使用人次",
        unit="人次",
        measure=Measure.NUMBER,
        is_cumulative=True,
        baseline_year=calendar.first.year - 1,
        baseline_value=baseline,
    )
    bulk_create_with_history(
        [
            IndicatorTarget(
                indicator=indicator,
                year=year,
                value=baseline + INDICATOR_PLAN_STEP * calendar.step(min(Quarter(year, 4), calendar.last)),
            )
            for year in range(calendar.first.year, calendar.last.year + 1)
        ],
        IndicatorTarget,
    )
    return indicator


def demo_milestones(node, profile: Profile, calendar: DemoCalendar) -> None:
    """Those planned within the quarters reported are done, but for a slipping sub-project's 試營運, forecast
    beyond the end; those planned later are still to come."""
    rows = []
    for title, step, weight, critical in MILESTONES:
        planned = shifted(calendar.first, step - 1).end
        done, forecast = step <= HISTORY, None
        if profile.slipping_milestone and title == "試營運":
            done, forecast = False, shifted(calendar.last, 1).end
        rows.append(
            Milestone(
                node=node,
                title=title,
                planned_date=planned,
                weight=weight,
                is_critical=critical,
                completed_on=planned - datetime.timedelta(days=5) if done else None,
                forecast_date=forecast,
            )
        )
    bulk_create_with_history(rows, Milestone)


def report_content(period: Quarter, step: int, profile: Profile, budget: Decimal) -> dict:
    """What the lead writes in the quarter's report: progress and spending to date, and, behind plan, why."""
    planned = (Decimal(100) * step / SPAN).quantize(Decimal("0.01"))
    actual = max(Decimal(0), min(Decimal(100), planned + profile.gap))
    allocated = (budget * step / SPAN).quantize(Decimal(1))
    behind = actual < planned
    return {
        "planned_progress": planned,
        "actual_progress": actual,
        "budget_allocated": allocated,
        "budget_spent": (allocated * profile.execution).quantize(Decimal(1)),
        "achievements": f"{period} 依計畫推動，累計完成 {decimal_text(actual)}%。",
        "delay_reasons": "採購作業延宕，系統整合測試較預期費時。" if behind else "",
        "countermeasures": "增派人力並調整驗收時程，按月追蹤。" if behind else "",
    }
