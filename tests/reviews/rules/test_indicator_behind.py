"""Indicator behind its trajectory: a sub-project indicator's progress ratio below 0.9 (yellow), below 0.7 or unable
to reach its target at the current rate (red); met and qualitative indicators never. Both ratios are the plan's.

Most cases use a per-period indicator with a 2024 target of 100 (no baseline), judged on 2024-12-31: the
expected value is then the target itself and the ratio is the actual over 100.
"""

import datetime
from decimal import Decimal

import pytest

from indicators.models import Direction, Measure
from reviews.periods import Quarter
from reviews.rules import indicator_behind

from .builders import batch_of, indicator, only, subprojects

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2024, 12, 31)
Q4 = Quarter(2024, 4)


def yearly(sub, actual, *, target="100", **fields):
    return indicator(sub, targets=[(2024, 0, target)], actuals=[(2024, 4, actual)], **fields)


def evaluate(*subs, as_of=AS_OF):
    return indicator_behind.evaluate(batch_of(list(subs), as_of=as_of))


@pytest.mark.parametrize(
    "actual, severity",
    [
        ("100", None),  # met
        ("120", None),  # met, beyond
        ("90", None),  # ratio 0.9: on track
        ("89.99", "yellow"),  # 0.8999
        ("70", "yellow"),  # 0.7: not below 0.7
        ("69.99", "red"),  # 0.6999
        ("0", "red"),
    ],
)
def test_default_ratios(actual, severity):
    (sub,) = subprojects()
    measured = yearly(sub, actual, name="開放資料集數")

    findings = evaluate(sub)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    ratio = D(actual) / 100
    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (
        sub.pk,
        "indicator_behind",
        Q4,
        severity,
    )
    assert finding.score == 1 - ratio
    assert finding.evidence == {
        "rule": "indicator_behind",
        "period": "2024Q4",
        "indicator": measured.pk,
        "name": "開放資料集數",
        "actual": format(D(actual).normalize(), "f"),
        "expected": "100",
        "target": "100",
        "target_year": 2024,
        "ratio": format(ratio.normalize(), "f"),
        "status": "behind",
        "yellow_below": "0.9",
        "red_below": "0.7",
    }


def test_cannot_reach_is_red_whatever_the_ratio():
    # given a cumulative indicator (baseline 0 at the end of 2022, 100 by the end of 2025) well ahead of its
    # straight line in mid-2024, but whose last half-year added a single point: at that rate it ends near 64
    (sub,) = subprojects()
    measured = indicator(
        sub,
        is_cumulative=True,
        baseline_year=2022,
        baseline_value=D(0),
        targets=[(2025, 0, "100")],
        actuals=[(2023, 0, "60"), (2024, 2, "61")],
    )

    finding = only(evaluate(sub, as_of=datetime.date(2024, 6, 30)))

    assert finding.severity == "red"
    assert finding.evidence["status"] == "cannot_reach"
    assert finding.evidence["indicator"] == measured.pk
    assert D(finding.evidence["ratio"]) > 1
    assert finding.evidence["target_year"] == 2025
    # out of reach weighs 10 on top of the shortfall, so it outranks any indicator merely behind
    assert finding.score.quantize(D("0.0001")) == 10 + 1 - D(finding.evidence["ratio"])


def test_a_target_whose_year_is_over_cannot_be_reached():
    # given 95 of a 2023 target of 100, judged in 2024: ratio 0.95, but the year is over
    (sub,) = subprojects()
    indicator(sub, targets=[(2023, 0, "100")], actuals=[(2023, 0, "95")])

    finding = only(evaluate(sub, as_of=datetime.date(2024, 3, 31)))

    assert finding.severity == "red"
    assert (finding.evidence["status"], finding.evidence["ratio"]) == ("cannot_reach", "0.95")
    assert finding.score == D("10.05")


def test_a_lower_is_better_indicator():
    # given a fall from 100 (2023) to 50 wanted in 2024, and 60 reached: 40 of the 50 points, ratio 0.8
    (sub,) = subprojects()
    indicator(
        sub,
        direction=Direction.LOWER,
        baseline_year=2023,
        baseline_value=D(100),
        targets=[(2024, 0, "50")],
        actuals=[(2024, 4, "60")],
    )

    finding = only(evaluate(sub))

    assert (finding.severity, finding.evidence["ratio"]) == ("yellow", "0.8")


def test_qualitative_indicators_are_never_judged():
    (sub,) = subprojects()
    yearly(sub, "0", measure=Measure.QUALITATIVE)

    assert evaluate(sub) == []


def test_an_indicator_without_actuals_or_targets_is_not_judged():
    (sub,) = subprojects()
    indicator(sub, targets=[(2024, 0, "100")])
    indicator(sub, actuals=[(2024, 4, "1")])

    assert evaluate(sub) == []


def test_the_worst_indicator_speaks_for_the_subproject():
    (sub,) = subprojects()
    yearly(sub, "85")
    worst = yearly(sub, "40")
    yearly(sub, "75")

    finding = only(evaluate(sub))

    assert (finding.severity, finding.evidence["indicator"]) == ("red", worst.pk)


@pytest.mark.parametrize(
    "actual, severity",
    [
        ("95", None),
        ("94.99", "yellow"),  # nothing by default
        ("80", "yellow"),
        ("79.99", "red"),  # yellow by default
    ],
)
def test_the_plans_own_ratios(actual, severity):
    # given a plan that warns below 0.95 and alarms below 0.8
    (sub,) = subprojects(indicator_yellow_ratio=D("0.95"), indicator_red_ratio=D("0.8"))
    yearly(sub, actual)

    findings = evaluate(sub)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == severity
    assert (finding.evidence["yellow_below"], finding.evidence["red_below"]) == ("0.95", "0.8")


def test_the_score_fits_the_flags_column():
    (sub,) = subprojects()
    yearly(sub, "60", target="90")  # ratio 2/3

    finding = only(evaluate(sub))

    assert finding.score == finding.score.quantize(D("0.0001"))


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each with two indicators behind and a qualitative one
    (one,) = subprojects()
    twenty = subprojects(20)
    for sub in [one, *twenty]:
        yearly(sub, "80")
        yearly(sub, "50")
        yearly(sub, "0", measure=Measure.QUALITATIVE)
    small, large = batch_of([one], as_of=AS_OF), batch_of(twenty, as_of=AS_OF)

    # then three queries for each: the indicators, their targets, their actuals
    with django_assert_num_queries(3):
        assert len(indicator_behind.evaluate(small)) == 1
    with django_assert_num_queries(3):
        assert len(indicator_behind.evaluate(large)) == 20
