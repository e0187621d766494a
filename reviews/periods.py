"""Reporting periods: quarters written ``2024Q3``, months written ``2024-07``, and when their reports are due.

Both read the ROC calendar too (``113年第3季``, ``113年7月``: ``gstp.calendar``); ``str()`` is always the
Gregorian form the API writes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from gstp import calendar


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2024Q3``, ``113Q3``, ``113年第3季`` or ``民國113年第3季``; a ``ValueError`` (``CalendarError``,
        whose message lists the forms) for anything else."""
        return cls(*calendar.parse_quarter(text))

    @classmethod
    def containing(cls, day: datetime.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> datetime.date:
        return self.next().start - datetime.timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.quarter == 4 else Quarter(self.year, self.quarter + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    def due_date(self, days_after_end: int) -> datetime.date:
        return self.end + datetime.timedelta(days=days_after_end)

    @property
    def rank(self) -> int:
        """Reports' order in time (``period_rank``): a quarter after its months' monthly updates."""
        return self.year * 12 + self.quarter * 3


@dataclass(frozen=True, order=True)
class Month:
    """A month of monthly progress (月報), written ``2024-07`` (ISO 8601)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2024-07``, ``113/07``, ``113年7月`` or ``民國113年7月``; a ``ValueError`` (``CalendarError``) for
        anything else."""
        return cls(*calendar.parse_month(text))

    @classmethod
    def containing(cls, day: datetime.date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def quarter(self) -> Quarter:
        return Quarter(self.year, (self.month - 1) // 3 + 1)

    @property
    def closes_quarter(self) -> bool:
        """The last month of a quarter is reported by the quarterly report, not by a monthly update."""
        return self.month % 3 == 0

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def end(self) -> datetime.date:
        return self.next().start - datetime.timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def due_date(self, days_after_end: int) -> datetime.date:
        return self.end + datetime.timedelta(days=days_after_end)

    @property
    def rank(self) -> int:
        return self.year * 12 + self.month


def running_months(start: datetime.date | None, end: datetime.date | None, first: Quarter, last: Quarter):
    """The first and last month of what runs from ``start`` to ``end``; without a date, from its first
    quarter's first month or to its last quarter's last month."""
    return (
        Month.containing(start) if start else Month(first.year, first.quarter * 3 - 2),
        Month.containing(end) if end else Month(last.year, last.quarter * 3),
    )


def parse_period(text: str) -> Quarter | Month:
    """A quarter (a quarterly report's period) or a month (a monthly update's); ValueError for neither."""
    try:
        return Quarter.parse(text)
    except ValueError:
        return Month.parse(text)


def period_rank() -> models.Expression:
    """Reports' periods in time, in SQL (``Quarter.rank``, ``Month.rank``): a monthly update ranks by its
    month, a quarterly report by its quarter's last month, so after the quarter's monthly updates."""
    return F("year") * 12 + Coalesce(F("month"), F("quarter") * 3)


def in_quarters(quarters) -> Q:
    """Rows (with ``year`` and ``quarter`` columns) of any of these quarters; none for none."""
    condition = Q(pk__in=[])
    for quarter in quarters:
        condition |= Q(year=quarter.year, quarter=quarter.quarter)
    return condition


def today() -> datetime.date:
    """Today in Asia/Taipei, the day deadlines are counted in."""
    return timezone.localdate()


def quarters_between(first: Quarter, last: Quarter):
    quarter = first
    while quarter <= last:
        yield quarter
        quarter = quarter.next()
