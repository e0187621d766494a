"""The demo's quarters, counted back from the day it is loaded."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from ..periods import Quarter, quarters_between

HISTORY = 8  # quarters reported: enough for every lag rule to have its evidence at the first scan
SPAN = 12  # quarters a demo sub-project runs: the history, then the quarters still to report
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))


def shifted(quarter: Quarter, quarters: int) -> Quarter:
    """The quarter ``quarters`` after (or, negative, before) ``quarter``."""
    index = quarter.year * 4 + quarter.quarter - 1 + quarters
    return Quarter(index // 4, index % 4 + 1)


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    """``hour`` o'clock on ``day`` in Taipei."""
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TAIPEI)


@dataclass(frozen=True)
class DemoCalendar:
    """The demo's quarters as seen on a day."""

    first: Quarter  # the sub-projects' first quarter, the first one reported
    latest: Quarter  # the last quarter reported: the latest whose report fell due before the day
    last: Quarter  # the sub-projects' last quarter

    @property
    def start(self) -> datetime.date:
        return self.first.start

    @property
    def end(self) -> datetime.date:
        return self.last.end

    def step(self, period: Quarter) -> int:
        """The period's place in the sub-projects' quarters, the first being 1."""
        return (period.year - self.first.year) * 4 + period.quarter - self.first.quarter + 1

    def reported(self):
        return quarters_between(self.first, self.latest)


def demo_calendar(day: datetime.date, *, due_days: int) -> DemoCalendar:
    """Eight quarters reported up to the latest one due before ``day``; the current quarter and the next
    are still to report, within the sub-projects' twelve quarters."""
    latest = Quarter.containing(day).previous()
    while latest.due_date(due_days) >= day:
        latest = latest.previous()
    first = shifted(latest, 1 - HISTORY)
    return DemoCalendar(first=first, latest=latest, last=shifted(first, SPAN - 1))
