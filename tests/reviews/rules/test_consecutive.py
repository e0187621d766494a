"""Consecutive slippage: a yellow finding in a quarter, on a rule that flagged the same sub-project in the quarter
before, turns red (when the plan's ``consecutive_yellow_turns_red`` is on, as by default).

``consecutive.escalate(batch, findings)`` works on the other rules' findings; here they come from
``progress_gap.evaluate``: a 2024Q3 report accepted 7 points behind is a yellow finding for 2024Q3."""

import datetime
from decimal import Decimal

import pytest

from reviews.models import FlagResolution, FlagStatus, LagRule
from reviews.periods import Quarter
from reviews.rules import consecutive, progress_gap
from tests.reviews.factories import QuarterlyReportFactory

from .builders import batch_of, flag, only, subprojects, taipei

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2024, 11, 15)
Q1, Q2, Q3 = Quarter(2024, 1), Quarter(2024, 2), Quarter(2024, 3)


def behind(sub, *, gap, period=Q3):
    QuarterlyReportFactory(
        node=sub, period=period, accepted=True, planned_progress=D(60), actual_progress=D(60) + D(gap)
    )


def escalated(subs, as_of=AS_OF):
    batch = batch_of(subs, as_of=as_of)
    return consecutive.escalate(batch, progress_gap.evaluate(batch))


def test_a_yellow_after_a_flag_on_the_same_rule_in_the_quarter_before_turns_red():
    (sub,) = subprojects()
    behind(sub, gap=-7)
    flag(sub, LagRule.PROGRESS_GAP, Q2)

    finding = only(escalated([sub]))

    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (sub.pk, "progress_gap", Q3, "red")
    assert finding.evidence["escalated"] == {"reason": "consecutive_quarters", "previous_period": "2024Q2"}
    # the numbers that made it yellow stay in the evidence
    assert (finding.evidence["gap"], finding.evidence["yellow_at_or_below"]) == ("-7", "-5")
    assert finding.score == 7


@pytest.mark.parametrize(
    "flag_fields",
    [
        {"severity": "red"},
        {"status": FlagStatus.ACKNOWLEDGED},
        {
            "status": FlagStatus.RESOLVED,
            "resolution": FlagResolution.CLEARED,
            "resolved_at": taipei(2024, 8, 1),
        },
    ],
    ids=["red-before", "acknowledged-before", "cleared-before"],
)
def test_any_flag_on_the_rule_in_the_quarter_before_counts(flag_fields):
    (sub,) = subprojects()
    behind(sub, gap=-7)
    flag(sub, LagRule.PROGRESS_GAP, Q2, **flag_fields)

    assert only(escalated([sub])).severity == "red"


def test_across_a_year_end():
    (sub,) = subprojects()
    behind(sub, gap=-7, period=Quarter(2025, 1))
    flag(sub, LagRule.PROGRESS_GAP, Quarter(2024, 4))

    finding = only(escalated([sub], as_of=datetime.date(2025, 5, 1)))

    assert finding.severity == "red"
    assert finding.evidence["escalated"]["previous_period"] == "2024Q4"


@pytest.mark.parametrize(
    "rule, period",
    [
        (LagRule.BUDGET_EXECUTION, Q2),  # another rule
        (LagRule.LATE_REPORT, Q2),
        (LagRule.PROGRESS_GAP, Q1),  # two quarters before
        (LagRule.PROGRESS_GAP, Q3),  # the same quarter
    ],
)
def test_not_after_another_rule_or_another_quarter(rule, period):
    (sub,) = subprojects()
    behind(sub, gap=-7)
    flag(sub, rule, period)

    finding = only(escalated([sub]))

    assert finding.severity == "yellow"
    assert "escalated" not in finding.evidence


def test_not_after_another_subprojects_flag():
    (sub, neighbour) = subprojects(2)
    behind(sub, gap=-7)
    flag(neighbour, LagRule.PROGRESS_GAP, Q2)

    assert only(escalated([sub, neighbour])).severity == "yellow"


def test_not_when_the_plans_setting_is_off():
    (sub,) = subprojects(consecutive_yellow_turns_red=False)
    behind(sub, gap=-7)
    flag(sub, LagRule.PROGRESS_GAP, Q2)

    finding = only(escalated([sub]))

    assert finding.severity == "yellow"
    assert "escalated" not in finding.evidence


def test_each_subproject_by_its_own_plans_setting():
    (on,) = subprojects()
    (off,) = subprojects(consecutive_yellow_turns_red=False)
    for sub in (on, off):
        behind(sub, gap=-7)
        flag(sub, LagRule.PROGRESS_GAP, Q2)

    findings = escalated([on, off])

    assert sorted((f.node_id, f.severity) for f in findings) == [(on.pk, "red"), (off.pk, "yellow")]


def test_a_red_finding_is_left_as_it_is():
    (sub,) = subprojects()
    behind(sub, gap=-12)
    flag(sub, LagRule.PROGRESS_GAP, Q2)

    finding = only(escalated([sub]))

    assert finding.severity == "red"
    assert "escalated" not in finding.evidence


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each yellow on progress after a flag the quarter before
    (one,) = subprojects()
    twenty = subprojects(20)
    for sub in [one, *twenty]:
        behind(sub, gap=-7)
        flag(sub, LagRule.PROGRESS_GAP, Q2)
    small, large = batch_of([one], as_of=AS_OF), batch_of(twenty, as_of=AS_OF)
    small_findings, large_findings = progress_gap.evaluate(small), progress_gap.evaluate(large)

    with django_assert_num_queries(1):
        assert [f.severity for f in consecutive.escalate(small, small_findings)] == ["red"]
    with django_assert_num_queries(1):
        assert [f.severity for f in consecutive.escalate(large, large_findings)] == ["red"] * 20


def test_no_query_without_a_yellow_finding(django_assert_num_queries):
    (sub,) = subprojects()
    behind(sub, gap=-12)
    batch = batch_of([sub], as_of=AS_OF)
    findings = progress_gap.evaluate(batch)

    with django_assert_num_queries(0):
        consecutive.escalate(batch, findings)
