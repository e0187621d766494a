"""Reporting periods: quarters written ``2024Q3``, and when their reports are due."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

PERIOD_PATTERN = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = PERIOD_PATTERN.match(text.strip().upper()) if isinstance(text, str) else None
        if not match:
            raise ValueError(text)
        return cls(int(match.group(1)), int(match.group(2)))

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
