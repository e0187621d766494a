"""What an indicator's numbers mean: actual and expected value at a date, progress ratio and status.

Pure functions over plain values, so they are specified and tested on their own
(``tests/indicators/test_semantics.py``, with hypothesis).

- A *cumulative* indicator's actual is a running total: its value at a date is
  the latest actual recorded at or before it; its targets are levels to reach
  by the end of their period.
- A *per-period* indicator's actuals are amounts within a period: its value at
  a date is the sum of that year's actuals up to the date; its yearly target
  is the amount for the year, a quarterly target the amount for the quarter.
- *Expected* at a date: the period's own target when the date ends a period
  that has one; otherwise linear from the last anchor (the baseline or the
  previous target) to the next target.
- *Progress ratio*: (actual - baseline) / (expected - baseline); for a
  lower-is-better indicator the same, read the other way round, and when
  there is no baseline to measure a fall from, expected / actual.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from decimal import Decimal

ON_TRACK_RATIO = Decimal("0.9")


class Status(enum.StrEnum):
    MET = "met"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    CANNOT_REACH = "cannot_reach"
    NO_DATA = "no_data"
    QUALITATIVE = "qualitative"


@dataclass(frozen=True)
class Point:
    """A value at the end of a period (or on a date)."""

    on: datetime.date
    value: Decimal


def period_end(year: int, quarter: int = 0) -> datetime.date:
    if quarter == 0 or quarter == 4:
        return datetime.date(year, 12, 31)
    return datetime.date(year, 3 * quarter + 1, 1) - datetime.timedelta(days=1)


def period_start(year: int, quarter: int = 0) -> datetime.date:
    return datetime.date(year, 1 if quarter == 0 else 3 * quarter - 2, 1)


def _fraction(start: datetime.date, end: datetime.date, on: datetime.date) -> Decimal:
    total = (end - start).days
    if total <= 0:
        return Decimal(1)
    return min(Decimal(1), max(Decimal(0), Decimal((on - start).days) / Decimal(total)))


def actual_at(actuals: list[tuple[int, int, Decimal]], on: datetime.date, *, cumulative: bool) -> Decimal | None:
    """The actual as of ``on`` from (year, quarter, value) rows; quarter 0 is the whole year."""
    known = [(period_end(year, quarter), year, quarter, value) for year, quarter, value in actuals if value is not None]
    known = [row for row in known if row[0] <= on]
    if not known:
        return None
    if cumulative:
        return max(known, key=lambda row: (row[0], row[2] == 0))[3]
    year_rows = [row for row in known if row[1] == on.year]
    if not year_rows:
        return None  # nothing reported yet this year
    whole_year = [row for row in year_rows if row[2] == 0]
    if whole_year:
        return whole_year[0][3]
    return sum((row[3] for row in year_rows), Decimal(0))


def expected_at(
    targets: list[tuple[int, int, Decimal]],
    on: datetime.date,
    *,
    cumulative: bool,
    baseline: Point | None,
) -> Decimal | None:
    """The value the indicator should have on ``on`` (see the module docstring); None with no target ahead."""
    if not targets:
        return None
    if cumulative:
        for year, quarter, value in targets:
            if period_end(year, quarter) == on:
                return value
        anchors = sorted(
            [Point(period_end(year, quarter), value) for year, quarter, value in targets]
            + ([baseline] if baseline else []),
            key=lambda point: point.on,
        )
        before = [point for point in anchors if point.on <= on]
        after = [point for point in anchors if point.on > on]
        if not after:
            return anchors[-1].value
        nxt = after[0]
        if not before:
            return nxt.value
        last = before[-1]
        return last.value + (nxt.value - last.value) * _fraction(last.on, nxt.on, on)
    # Per period: the amount expected so far within the year of ``on``.
    quarterly = {quarter: value for year, quarter, value in targets if year == on.year and quarter}
    if quarterly:
        expected = Decimal(0)
        for quarter, value in quarterly.items():
            expected += value * _fraction(period_start(on.year, quarter), period_end(on.year, quarter), on)
        return expected
    yearly = [value for year, quarter, value in targets if year == on.year and quarter == 0]
    if not yearly:
        return None
    return yearly[0] * _fraction(period_start(on.year), period_end(on.year), on)


def progress_ratio(actual: Decimal, expected: Decimal, baseline: Decimal | None, *, lower_is_better: bool) -> Decimal:
    """How far the actual has come of the way expected by now; 1 is exactly on plan."""
    base = baseline if baseline is not None else Decimal(0)
    if expected == base:
        # Nothing was due to change: on plan if the actual did not slip the wrong way.
        return Decimal(1) if (actual <= expected if lower_is_better else actual >= expected) else Decimal(0)
    if lower_is_better and baseline is None:
        if actual <= 0:
            return Decimal(1) if expected >= actual else Decimal(0)
        return expected / actual
    return (actual - base) / (expected - base)


def target_reached(actual: Decimal, target: Decimal, *, lower_is_better: bool) -> bool:
    return actual <= target if lower_is_better else actual >= target


def status_of(
    *,
    actual: Decimal | None,
    expected: Decimal | None,
    target: Decimal | None,
    baseline: Decimal | None,
    lower_is_better: bool,
    projected: Decimal | None = None,
    deadline_passed: bool = False,
) -> Status:
    """met: the target is reached; cannot_reach: its date has passed, or at the current rate it would be
    missed at its date; on_track: progress ratio >= 0.9; behind: below that."""
    if actual is None or target is None:
        return Status.NO_DATA
    if target_reached(actual, target, lower_is_better=lower_is_better):
        return Status.MET
    if deadline_passed:
        return Status.CANNOT_REACH
    if projected is not None and not target_reached(projected, target, lower_is_better=lower_is_better):
        return Status.CANNOT_REACH
    if expected is None:
        return Status.BEHIND
    ratio = progress_ratio(actual, expected, baseline, lower_is_better=lower_is_better)
    return Status.ON_TRACK if ratio >= ON_TRACK_RATIO else Status.BEHIND


def projected_at(points: list[Point], on: datetime.date) -> Decimal | None:
    """Where the indicator will be on ``on`` if it keeps the rate between its last two known points."""
    if len(points) < 2:
        return None
    first, last = points[-2], points[-1]
    days = (last.on - first.on).days
    if days <= 0:
        return None
    rate = (last.value - first.value) / Decimal(days)
    return last.value + rate * Decimal(max(0, (on - last.on).days))
