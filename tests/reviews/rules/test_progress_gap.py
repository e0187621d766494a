"""Progress gap (actual - planned cumulative %, latest accepted report): at or below -5 points yellow, at or below
-10 red; both thresholds are the plan's settings."""

import datetime
from decimal import Decimal

import pytest

from reviews.models import ReportKind, ReportStatus
from reviews.periods import Month, Quarter
from reviews.rules import progress_gap
from tests.reviews.factories import QuarterlyReportFactory, of_kind

from .builders import batch_of, only, subprojects

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2024, 11, 15)
Q2, Q3 = Quarter(2024, 2), Quarter(2024, 3)


def accepted(sub, *, planned="60", actual, period=Q3, **fields):
    return QuarterlyReportFactory(
        node=sub, period=period, accepted=True, planned_progress=D(planned), actual_progress=D(actual), **fields
    )


@pytest.mark.parametrize(
    "actual, severity",
    [
        ("60", None),  # on plan
        ("55.01", None),  # -4.99
        ("55", "yellow"),  # -5: at the yellow threshold
        ("50.01", "yellow"),  # -9.99
        ("50", "red"),  # -10: at the red threshold
        ("12", "red"),  # -48
        ("75", None),  # ahead of plan
    ],
)
def test_default_thresholds(actual, severity):
    # given a sub-project whose latest accepted report is 60 % planned
    (sub,) = subprojects()
    report = accepted(sub, actual=actual)

    # when
    findings = progress_gap.evaluate(batch_of([sub], as_of=AS_OF))

    # then
    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    gap = D(actual) - D(60)
    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (sub.pk, "progress_gap", Q3, severity)
    assert finding.score == -gap
    assert finding.evidence == {
        "rule": "progress_gap",
        "period": "2024Q3",
        "report": report.pk,
        "planned_progress": "60",
        "actual_progress": format(D(actual).normalize(), "f"),
        "gap": format(gap.normalize(), "f"),
        "yellow_at_or_below": "-5",
        "red_at_or_below": "-10",
    }


@pytest.mark.parametrize(
    "actual, severity",
    [
        ("57.01", None),  # -2.99
        ("57", "yellow"),  # -3
        ("54.01", "yellow"),  # -5.99
        ("55", "yellow"),  # -5: yellow under these settings, as by default
        ("54", "red"),  # -6
    ],
)
def test_the_plans_own_thresholds(actual, severity):
    # given a plan that warns at -3 and alarms at -6
    (sub,) = subprojects(progress_gap_yellow=D(-3), progress_gap_red=D(-6))
    accepted(sub, actual=actual)

    findings = progress_gap.evaluate(batch_of([sub], as_of=AS_OF))

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == severity
    assert (finding.evidence["yellow_at_or_below"], finding.evidence["red_at_or_below"]) == ("-3", "-6")


def test_each_subproject_is_judged_by_its_own_plans_thresholds():
    # given the same -4 point gap in a default plan and in a plan warning at -3
    (default_sub,) = subprojects()
    (strict_sub,) = subprojects(progress_gap_yellow=D(-3), progress_gap_red=D(-6))
    accepted(default_sub, actual="56")
    accepted(strict_sub, actual="56")

    findings = progress_gap.evaluate(batch_of([default_sub, strict_sub], as_of=AS_OF))

    assert [(f.node_id, f.severity) for f in findings] == [(strict_sub.pk, "yellow")]


def test_only_the_latest_accepted_report_counts():
    # given a Q2 report accepted far behind, a Q3 report accepted on plan and a Q4 report submitted far behind
    (sub,) = subprojects()
    accepted(sub, actual="20", period=Q2)
    accepted(sub, actual="60", period=Q3)
    QuarterlyReportFactory(
        node=sub, period=Quarter(2024, 4), submitted=True, planned_progress=D(80), actual_progress=D(10)
    )

    assert progress_gap.evaluate(batch_of([sub], as_of=AS_OF)) == []


@pytest.mark.parametrize("status", [ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.RETURNED])
def test_a_report_not_accepted_does_not_count(status):
    (sub,) = subprojects()
    traits = {status.value: True} if status != ReportStatus.DRAFT else {}
    QuarterlyReportFactory(node=sub, period=Q3, planned_progress=D(60), actual_progress=D(10), **traits)

    assert progress_gap.evaluate(batch_of([sub], as_of=AS_OF)) == []


def test_a_report_without_progress_figures_is_not_judged():
    (sub,) = subprojects()
    QuarterlyReportFactory(node=sub, period=Q3, accepted=True, planned_progress=None, actual_progress=D(0))

    assert progress_gap.evaluate(batch_of([sub], as_of=AS_OF)) == []


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each 12 points behind
    (one,) = subprojects()
    twenty = subprojects(20)
    for sub in [one, *twenty]:
        accepted(sub, actual="48", period=Q2)
        accepted(sub, actual="48")
    small, large = batch_of([one], as_of=AS_OF), batch_of(twenty, as_of=AS_OF)

    # then one query for each
    with django_assert_num_queries(1):
        assert len(progress_gap.evaluate(small)) == 1
    with django_assert_num_queries(1):
        assert len(progress_gap.evaluate(large)) == 20


def test_the_latest_figures_are_read_a_monthly_updates_or_the_quarters():
    def evaluate(sub):
        return progress_gap.evaluate(batch_of([sub], as_of=AS_OF))

    # given a 院列管 sub-project on plan in its 2024Q2 report, behind in its accepted July update
    (sub,) = subprojects()
    of_kind(sub, ReportKind.MONTHLY)
    accepted(sub, planned="50", actual="50", period=Q2)
    july = accepted(sub, planned="55", actual="43", period=Month(2024, 7))
    # then the gap is July's, flagged in the quarter July belongs to
    finding = only(evaluate(sub))
    assert (finding.period, finding.severity, finding.evidence["period"], finding.evidence["report"]) == (
        Q3,
        "red",
        "2024-07",
        july.pk,
    )
    # and the 2024Q3 report, once accepted, comes after July's update and is read instead
    accepted(sub, planned="60", actual="60", period=Q3)
    assert evaluate(sub) == []
