"""The meaning of an indicator's numbers, specified on hand-worked cases and by properties (hypothesis)."""

import datetime
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from indicators.semantics import (
    Point,
    Status,
    actual_at,
    expected_at,
    progress_ratio,
    projected_at,
    status_of,
)

D = Decimal
values = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=D("0.01"), max_value=1000, places=2, allow_nan=False, allow_infinity=False)
dates = st.dates(min_value=datetime.date(2021, 1, 1), max_value=datetime.date(2025, 12, 31))


# actual at a date


def test_cumulative_actual_is_the_latest_value_at_or_before_the_date():
    actuals = [(2023, 4, D(30)), (2024, 2, D(41)), (2024, 4, D(48))]

    assert actual_at(actuals, datetime.date(2024, 6, 29), cumulative=True) == D(30)
    assert actual_at(actuals, datetime.date(2024, 6, 30), cumulative=True) == D(41)
    assert actual_at(actuals, datetime.date(2025, 3, 1), cumulative=True) == D(48)
    assert actual_at(actuals, datetime.date(2023, 1, 1), cumulative=True) is None


def test_per_period_actual_is_the_years_sum_so_far():
    actuals = [(2023, 4, D(9)), (2024, 1, D(5)), (2024, 2, D(7)), (2024, 3, D(6))]

    assert actual_at(actuals, datetime.date(2024, 7, 15), cumulative=False) == D(12)
    assert actual_at(actuals, datetime.date(2024, 9, 30), cumulative=False) == D(18)
    assert actual_at(actuals, datetime.date(2024, 3, 1), cumulative=False) is None  # nothing reported yet this year


def test_a_whole_year_figure_stands_for_the_year():
    actuals = [(2024, 1, D(5)), (2024, 0, D(30))]

    assert actual_at(actuals, datetime.date(2024, 12, 31), cumulative=False) == D(30)
    assert actual_at(actuals, datetime.date(2025, 1, 1), cumulative=False) is None
    assert actual_at(actuals, datetime.date(2025, 1, 1), cumulative=True) == D(30)


# expected at a date


def test_expected_is_linear_from_the_baseline_to_the_next_target():
    baseline = Point(datetime.date(2021, 12, 31), D(10))
    targets = [(2025, 0, D(50))]
    halfway = datetime.date(2023, 12, 31)  # 730 of 1461 days

    expected = expected_at(targets, halfway, cumulative=True, baseline=baseline)

    assert expected == D(10) + D(40) * D(730) / D(1461)


def test_expected_is_the_periods_own_target_when_it_has_one():
    baseline = Point(datetime.date(2021, 12, 31), D(10))
    targets = [(2023, 0, D(45)), (2025, 0, D(50))]

    assert expected_at(targets, datetime.date(2023, 12, 31), cumulative=True, baseline=baseline) == D(45)
    # between two targets the line runs from the earlier to the later one
    mid_2024 = expected_at(targets, datetime.date(2024, 12, 31), cumulative=True, baseline=baseline)
    assert D(45) < mid_2024 < D(50)


def test_per_period_expected_runs_through_the_year_or_its_quarterly_targets():
    yearly = [(2024, 0, D(100))]
    quarterly = [(2024, 1, D(10)), (2024, 2, D(20)), (2024, 3, D(30)), (2024, 4, D(40))]

    assert expected_at(yearly, datetime.date(2024, 12, 31), cumulative=False, baseline=None) == D(100)
    assert expected_at(yearly, datetime.date(2024, 1, 1), cumulative=False, baseline=None) == D(0)
    assert expected_at(quarterly, datetime.date(2024, 6, 30), cumulative=False, baseline=None) == D(30)
    assert expected_at(yearly, datetime.date(2023, 6, 30), cumulative=False, baseline=None) is None


# progress ratio


def test_ratio_is_progress_over_what_was_expected():
    assert progress_ratio(D(30), D(40), D(10), lower_is_better=False) == D("0.6666666666666666666666666667")
    assert progress_ratio(D(8), D(5), D(10), lower_is_better=True) == D("0.4")
    assert progress_ratio(D(5), D(10), None, lower_is_better=True) == D(2)  # half the allowed amount


@given(base=values, expected=values, actual=values)
def test_direction_inversion(base, expected, actual):
    """Mirroring every value and flipping the direction gives the same ratio."""
    assume(expected != base)

    higher = progress_ratio(actual, expected, base, lower_is_better=False)
    lower = progress_ratio(-actual, -expected, -base, lower_is_better=True)

    assert higher == lower


@given(base=values, expected=values, actual=values, more=positive)
def test_monotonic_in_the_actual(base, expected, actual, more):
    assume(expected > base)

    assert progress_ratio(actual + more, expected, base, lower_is_better=False) > progress_ratio(
        actual, expected, base, lower_is_better=False
    )
    # lower is better with the expected value below the baseline: less is better
    assert progress_ratio(-actual - more, -expected, -base, lower_is_better=True) > progress_ratio(
        -actual, -expected, -base, lower_is_better=True
    )


@given(level=values, actual=values, lower=st.booleans())
def test_no_division_by_zero_when_nothing_was_due_to_change(level, actual, lower):
    ratio = progress_ratio(actual, level, level, lower_is_better=lower)

    on_the_right_side = actual <= level if lower else actual >= level
    assert ratio == (D(1) if on_the_right_side else D(0))


@given(expected=values, actual=values)
def test_no_division_by_zero_without_a_baseline(expected, actual):
    for lower in (False, True):
        progress_ratio(actual, expected, None, lower_is_better=lower)


@given(base=values, target=values, on=dates, actual=values)
def test_expected_never_divides_by_zero_when_baseline_equals_target(base, target, on, actual):
    baseline = Point(datetime.date(2021, 12, 31), base)
    expected = expected_at([(2025, 0, base)], on, cumulative=True, baseline=baseline)

    assert expected == base
    status_of(actual=actual, expected=expected, target=base, baseline=base, lower_is_better=False)


# status


def test_status_met_on_track_behind_and_cannot_reach():
    common = {"target": D(50), "baseline": D(10), "lower_is_better": False}

    assert status_of(actual=D(50), expected=D(30), **common) == Status.MET
    assert status_of(actual=D(29), expected=D(30), **common) == Status.ON_TRACK  # ratio 0.95
    assert status_of(actual=D(25), expected=D(30), **common) == Status.BEHIND  # ratio 0.75
    assert status_of(actual=D(29), expected=D(30), projected=D(45), **common) == Status.CANNOT_REACH
    assert status_of(actual=D(49), expected=D(50), deadline_passed=True, **common) == Status.CANNOT_REACH
    assert status_of(actual=None, expected=D(30), **common) == Status.NO_DATA


def test_lower_is_better_status():
    common = {"target": D(5), "baseline": D(20), "lower_is_better": True}

    assert status_of(actual=D(4), expected=D(10), **common) == Status.MET
    assert status_of(actual=D(10), expected=D(10), **common) == Status.ON_TRACK
    assert status_of(actual=D(15), expected=D(10), **common) == Status.BEHIND


@given(base=values, target=values, expected=values, actual=values, more=positive)
def test_a_better_actual_never_gets_a_worse_status(base, target, expected, actual, more):
    order = [Status.CANNOT_REACH, Status.BEHIND, Status.ON_TRACK, Status.MET]
    assume(expected != base)

    def rank(value):
        return order.index(
            status_of(actual=value, expected=expected, target=target, baseline=base, lower_is_better=False)
        )

    if expected > base:
        assert rank(actual + more) >= rank(actual)


def test_projection_follows_the_last_two_points():
    points = [Point(datetime.date(2023, 12, 31), D(30)), Point(datetime.date(2024, 12, 31), D(36.6))]

    projected = projected_at(points, datetime.date(2025, 12, 31))

    assert round(projected, 1) == D("43.2")
    assert projected_at(points[:1], datetime.date(2025, 12, 31)) is None
