"""The demo's monthly updates (月報): each sub-project whose control level reports monthly gave an update for
the first two months of every quarter it reported and of the quarter under way, as far as they fell due
before the demo's day. Its figures lie on the way from the quarter before to the quarter's own, its spending
against what the year's ledger allocated by then. The latest update due is, by the sub-project's place in
the outline, missing (so the late-report rule flags it by its level's thresholds), a draft, waiting for the
ministry, or accepted like all the earlier ones."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..models import QuarterlyReport, Rhythm
from ..models.reports import UPDATE_MONTHS
from ..periods import Month, Quarter
from ..rules import decimal_text
from ..selectors import plan_settings
from . import histories
from .calendar import SPAN, DemoCalendar
from .figures import Profile

# The latest update due, by the monthly sub-project's place among them (modulo 5); the others accepted.
LATEST_UPDATE_STORY = {0: None, 1: histories.DRAFT, 2: histories.WAITING}


def update_months(calendar: DemoCalendar, on: datetime.date, due_days: int) -> list[Month]:
    """The months a monthly sub-project gave an update for by ``on``: within its reported quarters and the
    quarter under way, each month not closing its quarter whose update fell due before ``on``."""
    months = []
    quarter = calendar.first
    while quarter <= min(Quarter.containing(on), calendar.last):
        months += [
            month
            for month in (Month(quarter.year, number) for number in UPDATE_MONTHS[quarter.quarter])
            if month.due_date(due_days) < on
        ]
        quarter = quarter.next()
    return months


def update_content(month: Month, calendar: DemoCalendar, profile: Profile, allocated: Decimal) -> dict:
    """Progress and spending a month into its quarter (or two), on the profile's course."""
    share = Decimal(month.month - (month.quarter.quarter - 1) * 3) / 3
    planned = (Decimal(100) * (calendar.step(month.quarter) - 1 + share) / SPAN).quantize(Decimal("0.01"))
    actual = max(Decimal(0), min(Decimal(100), planned + profile.gap))
    behind = actual < planned
    return {
        "planned_progress": planned,
        "actual_progress": actual,
        "budget_spent": (allocated * profile.spent).quantize(Decimal(1)),
        "achievements": f"{month} 累計完成 {decimal_text(actual)}%。",
        "delay_reasons": "採購作業延宕，系統整合測試較預期費時。" if behind else "",
    }


def demo_monthly_updates(nodes, *, calendars, casts, ledgers, profiles, on: datetime.date):
    """The monthly updates of ``nodes`` (those of a monthly level), opened and taken through their stories
    (``histories.replay``), not saved: ``[(report, events, uploads)]``."""
    settings = plan_settings({node.plan_id for node in nodes})
    made = []
    monthly = [node for node in nodes if settings[node.plan_id].for_level(node.control_level).rhythm == Rhythm.MONTHLY]
    for place, node in enumerate(monthly):
        level = settings[node.plan_id].for_level(node.control_level)
        calendar, cast, profile = calendars[node.plan_id], casts[node.pk], profiles[node.pk]
        months = update_months(calendar, on, level.monthly_due_days)
        for month in months:
            story = histories.ACCEPTED
            if month == months[-1]:
                story = LATEST_UPDATE_STORY.get(place % 5, histories.ACCEPTED)
                if story is None:
                    continue  # not filed: late
            quarter = month.quarter
            ledger = ledgers[node.pk][month.year]
            # What the year's ledger allocated by the month: the quarters before, and the month's share of its own.
            allocated = ledger.allocated_to(quarter.quarter - 1) if quarter.quarter > 1 else Decimal(0)
            allocated += ledger.allocation(quarter.quarter) * (month.month - (quarter.quarter - 1) * 3) / 3
            report = QuarterlyReport(
                node=node,
                year=month.year,
                quarter=quarter.quarter,
                month=month.month,
                due_on=month.due_date(level.monthly_due_days),
                created_by=cast.lead,
                **update_content(month, calendar, profile, allocated),
            )
            events, uploads = histories.replay(
                report, story, cast, evidence=[], days_late=min(profile.days_late, 5), on=on, index=node.pk
            )
            made.append((report, events, uploads))
    return made
