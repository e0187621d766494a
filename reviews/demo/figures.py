"""The demo sub-projects' figures: how each one runs (its profile), its milestones, its indicator, and what
its report says each quarter."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from simple_history.utils import bulk_create_with_history

from indicators.models import Indicator, IndicatorTarget, Measure
from projects.models import BudgetYear, Milestone

from ..periods import Quarter, quarters_between
from ..rules import decimal_text
from .calendar import HISTORY, SPAN, DemoCalendar, shifted


@dataclass(frozen=True)
class Profile:
    name: str
    gap: Decimal = Decimal(0)  # actual minus planned progress, in points
    spent: Decimal = Decimal("0.96")  # 實支數 over allocated to date
    payables: Decimal = Decimal("0.01")  # 應付未付數 (contract retentions included) over allocated to date
    savings: Decimal = Decimal(0)  # 節餘數 over allocated to date
    days_late: int = 0  # submitted this many days after the due date (negative: before)
    slipping_milestone: bool = False

    @property
    def execution(self) -> Decimal:
        """The execution rate as a share: spent, payables and savings over allocated."""
        return self.spent + self.payables + self.savings


PROFILES = [
    Profile("on plan"),
    Profile("on plan", gap=Decimal("1.5"), spent=Decimal("0.95"), payables=Decimal(0)),
    # Paid for only part of what it owes on delivered work: 84 % spent, 93 % executed.
    Profile("on plan, payables due", spent=Decimal("0.84"), payables=Decimal("0.09")),
    Profile("behind plan", gap=Decimal("-6.5")),
    Profile("on plan"),
    Profile("far behind plan", gap=Decimal("-12"), slipping_milestone=True),
    Profile("under-spending", spent=Decimal("0.80"), payables=Decimal("0.06")),
    # Holds contract retentions (保留款) until acceptance and finished a tender below its estimate.
    Profile(
        "on plan, retentions held",
        gap=Decimal("0.5"),
        spent=Decimal("0.78"),
        payables=Decimal("0.12"),
        savings=Decimal("0.05"),
    ),
    Profile("severely under-spending", spent=Decimal("0.72"), payables=Decimal(0)),
    # Spent a little less than allocated, the rest saved.
    Profile("late submitter", days_late=14, spent=Decimal("0.88"), payables=Decimal(0), savings=Decimal("0.04")),
    Profile("on plan", spent=Decimal("0.95"), payables=Decimal(0)),
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


def demo_ledgers(node, budget: Decimal, calendar: DemoCalendar) -> dict[int, BudgetYear]:
    """The sub-project's budget ledger of each of its years, by year: its budget spread evenly over its
    quarters, each year appropriating what its quarters are allocated."""
    per_quarter = (budget / SPAN).quantize(Decimal(1))
    ledgers = {}
    for period in quarters_between(calendar.first, calendar.last):
        ledger = ledgers.setdefault(period.year, BudgetYear(node=node, year=period.year, appropriation=Decimal(0)))
        setattr(ledger, f"allocation_q{period.quarter}", per_quarter)
        ledger.appropriation += per_quarter
    BudgetYear.history.bulk_history_create(BudgetYear.objects.bulk_create(ledgers.values()))
    return ledgers


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


def report_content(period: Quarter, step: int, profile: Profile, allocated: Decimal) -> dict:
    """What the lead writes in the quarter's report: progress and, against what the year's ledger allocated
    to date, spending, payables and savings to date; behind plan, why."""
    planned = (Decimal(100) * step / SPAN).quantize(Decimal("0.01"))
    actual = max(Decimal(0), min(Decimal(100), planned + profile.gap))
    behind = actual < planned
    forecast = min(Decimal(100), profile.execution * 100 + 2)
    return {
        "planned_progress": planned,
        "actual_progress": actual,
        "budget_spent": (allocated * profile.spent).quantize(Decimal(1)),
        "budget_payables": (allocated * profile.payables).quantize(Decimal(1)),
        "budget_savings": (allocated * profile.savings).quantize(Decimal(1)),
        "budget_forecast_rate": forecast.quantize(Decimal("0.01")),
        "achievements": f"{period} 依計畫推動，累計完成 {decimal_text(actual)}%。",
        "delay_reasons": "採購作業延宕，系統整合測試較預期費時。" if behind else "",
        "countermeasures": "增派人力並調整驗收時程，按月追蹤。" if behind else "",
    }
