"""Overdue milestone: planned date passed and not done (yellow); over 90 days, or a critical milestone, or a forecast
beyond the sub-project's end (red). One finding per sub-project, in the quarter of the scan, for its worst milestone.
The sub-projects run from 2021-01-01 to 2025-12-31."""

import datetime

import pytest

from reviews.periods import Quarter
from reviews.rules import milestone_overdue
from tests.projects.factories import MilestoneFactory

from .builders import batch_of, only, subprojects

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2024, 11, 15)
Q4 = Quarter(2024, 4)


def days_before(days):
    return AS_OF - datetime.timedelta(days=days)


def evaluate(*subs, as_of=AS_OF):
    return milestone_overdue.evaluate(batch_of(list(subs), as_of=as_of))


@pytest.mark.parametrize(
    "days, severity",
    [
        (0, None),  # due today
        (1, "yellow"),
        (30, "yellow"),
        (90, "yellow"),
        (91, "red"),
        (400, "red"),
    ],
)
def test_a_milestone_past_its_planned_date(days, severity):
    (sub,) = subprojects()
    milestone = MilestoneFactory(node=sub, title="資料平臺上線", planned_date=days_before(days))

    findings = evaluate(sub)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    red = severity == "red"
    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (
        sub.pk,
        "milestone_overdue",
        Q4,
        severity,
    )
    assert finding.score == days + (1000 if red else 0)
    assert finding.evidence == {
        "rule": "milestone_overdue",
        "period": "2024Q4",
        "milestone": milestone.pk,
        "title": "資料平臺上線",
        "planned_date": days_before(days).isoformat(),
        "forecast_date": None,
        "days_overdue": days,
        "is_critical": False,
        "red_over_days": 90,
        "red_because": ["over_red_days"] if red else [],
    }


@pytest.mark.parametrize("days, severity", [(0, None), (1, "red"), (91, "red")])
def test_a_critical_milestone_is_red_from_its_first_day_late(days, severity):
    (sub,) = subprojects()
    MilestoneFactory(node=sub, planned_date=days_before(days), is_critical=True)

    findings = evaluate(sub)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == "red"
    assert finding.evidence["is_critical"] is True
    assert "critical" in finding.evidence["red_because"]


def test_a_forecast_beyond_the_subprojects_end_is_red_even_if_not_yet_due():
    # given a milestone planned for mid-2025, now forecast a month after the sub-project ends
    (sub,) = subprojects()
    MilestoneFactory(node=sub, planned_date=datetime.date(2025, 6, 30), forecast_date=datetime.date(2026, 1, 31))

    finding = only(evaluate(sub))

    assert (finding.severity, finding.period) == ("red", Q4)
    assert finding.evidence["days_overdue"] == 0
    assert finding.evidence["forecast_date"] == "2026-01-31"
    assert finding.evidence["red_because"] == ["forecast_beyond_end"]
    assert finding.score == 1000


def test_a_forecast_on_the_subprojects_last_day_is_fine():
    (sub,) = subprojects()
    MilestoneFactory(node=sub, planned_date=datetime.date(2025, 6, 30), forecast_date=datetime.date(2025, 12, 31))

    assert evaluate(sub) == []


def test_completed_milestones_never_count():
    # given milestones that would be red on every count, but completed
    (sub,) = subprojects()
    MilestoneFactory(
        node=sub,
        planned_date=days_before(200),
        is_critical=True,
        forecast_date=datetime.date(2026, 6, 30),
        completed_on=days_before(5),
    )
    MilestoneFactory(node=sub, planned_date=days_before(3), completed_on=days_before(10))

    assert evaluate(sub) == []


def test_the_worst_milestone_speaks_for_the_subproject():
    # given three late milestones: 10 days, 95 days, and 40 days
    (sub,) = subprojects()
    MilestoneFactory(node=sub, title="A", planned_date=days_before(10))
    worst = MilestoneFactory(node=sub, title="B", planned_date=days_before(95))
    MilestoneFactory(node=sub, title="C", planned_date=days_before(40))
    MilestoneFactory(node=sub, title="D", planned_date=AS_OF + datetime.timedelta(days=30))  # not due

    finding = only(evaluate(sub))

    assert finding.severity == "red"
    assert (finding.evidence["milestone"], finding.evidence["days_overdue"]) == (worst.pk, 95)
    assert finding.evidence["overdue_milestones"] == 3


def test_a_red_milestone_outranks_a_longer_overdue_yellow_one():
    # given a milestone 60 days late, and a critical one planned later, 5 days late
    (sub,) = subprojects()
    MilestoneFactory(node=sub, planned_date=days_before(60))
    critical = MilestoneFactory(node=sub, planned_date=days_before(5), is_critical=True)

    finding = only(evaluate(sub))

    assert (finding.severity, finding.evidence["milestone"]) == ("red", critical.pk)
    assert finding.evidence["overdue_milestones"] == 2


def test_the_period_is_the_quarter_of_the_scan():
    (sub,) = subprojects()
    MilestoneFactory(node=sub, planned_date=datetime.date(2024, 3, 1))

    finding = only(evaluate(sub, as_of=datetime.date(2025, 1, 2)))

    assert finding.period == Quarter(2025, 1)
    assert finding.evidence["period"] == "2025Q1"


@pytest.mark.parametrize("days, severity", [(1, "yellow"), (30, "yellow"), (31, "red")])
def test_the_plans_own_red_threshold(days, severity):
    # given a plan for which a milestone over 30 days late is red
    (sub,) = subprojects(milestone_red_days=30)
    MilestoneFactory(node=sub, planned_date=days_before(days))

    finding = only(evaluate(sub))

    assert finding.severity == severity
    assert finding.evidence["red_over_days"] == 30


def test_each_subproject_is_judged_by_its_own_plans_threshold():
    (default_sub,) = subprojects()
    (strict_sub,) = subprojects(milestone_red_days=30)
    for sub in (default_sub, strict_sub):
        MilestoneFactory(node=sub, planned_date=days_before(45))

    findings = evaluate(default_sub, strict_sub)

    assert sorted((f.node_id, f.severity) for f in findings) == [(default_sub.pk, "yellow"), (strict_sub.pk, "red")]


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each with a late, a critical and a slipping milestone
    (one,) = subprojects()
    twenty = subprojects(20)
    for sub in [one, *twenty]:
        MilestoneFactory(node=sub, planned_date=days_before(20))
        MilestoneFactory(node=sub, planned_date=days_before(2), is_critical=True)
        MilestoneFactory(node=sub, planned_date=datetime.date(2025, 9, 1), forecast_date=datetime.date(2026, 3, 1))
    small, large = batch_of([one], as_of=AS_OF), batch_of(twenty, as_of=AS_OF)

    with django_assert_num_queries(1):
        assert len(milestone_overdue.evaluate(small)) == 1
    with django_assert_num_queries(1):
        assert len(milestone_overdue.evaluate(large)) == 20
