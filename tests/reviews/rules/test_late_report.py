"""Late or missing report: not submitted by its due date (yellow); not submitted 30 days after the quarter ended, or
returned and not resubmitted within 10 days (red). The due date is the plan's (quarter end + ``report_due_days``,
10 by default); the 30 and 10 days are its lag settings. 2024Q3 ends 2024-09-30 and is due 2024-10-10."""

import datetime

import pytest

from projects.models import PlanNode
from reviews.models import LagRule, ReportKind, ReportStatus
from reviews.periods import Month, Quarter
from reviews.rules import late_report
from tests.projects.factories import PlanFactory
from tests.reviews.factories import QuarterlyReportFactory, of_kind

from .builders import batch_of, flag, only, subprojects, taipei

pytestmark = pytest.mark.django_db

Q2, Q3 = Quarter(2024, 2), Quarter(2024, 3)
DUE_Q3 = datetime.date(2024, 10, 10)


def day(month, dom):
    return datetime.date(2024, month, dom)


@pytest.fixture
def sub():
    """A sub-project whose 2024Q2 report was accepted, so that only 2024Q3 is in question."""
    (node,) = subprojects()
    QuarterlyReportFactory(node=node, period=Q2, accepted=True)
    return node


def evaluate(*subs, as_of):
    return late_report.evaluate(batch_of(list(subs), as_of=as_of))


def test_nothing_on_the_due_day_itself(sub):
    assert evaluate(sub, as_of=DUE_Q3) == []


@pytest.mark.parametrize(
    "as_of, severity",
    [
        (day(10, 11), "yellow"),  # one day after due
        (day(10, 30), "yellow"),  # quarter end + 30 days
        (day(10, 31), "red"),  # quarter end + 31 days
        (day(12, 31), "red"),
    ],
)
def test_a_missing_report(sub, as_of, severity):
    finding = only(evaluate(sub, as_of=as_of))

    days_late = (as_of - DUE_Q3).days
    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (sub.pk, "late_report", Q3, severity)
    assert finding.score == days_late
    assert finding.evidence == {
        "rule": "late_report",
        "period": "2024Q3",
        "report_status": "missing",
        "due_on": "2024-10-10",
        "days_late": days_late,
        "red_after": "2024-10-30",
    }


@pytest.mark.parametrize("as_of, severity", [(day(10, 11), "yellow"), (day(10, 31), "red")])
def test_a_draft_counts_as_not_submitted(sub, as_of, severity):
    QuarterlyReportFactory(node=sub, period=Q3)

    finding = only(evaluate(sub, as_of=as_of))

    assert finding.severity == severity
    assert finding.evidence["report_status"] == "draft"


@pytest.mark.parametrize("as_of", [day(10, 25), day(12, 31)])
def test_submitted_late_then_no_flag(sub, as_of):
    # given the Q3 report submitted ten days late
    QuarterlyReportFactory(
        node=sub, period=Q3, submitted=True, submitted_at=taipei(2024, 10, 20), submitted_on_time=False
    )

    assert evaluate(sub, as_of=as_of) == []


def test_accepted_then_no_flag(sub):
    QuarterlyReportFactory(node=sub, period=Q3, accepted=True)

    assert evaluate(sub, as_of=day(12, 31)) == []


@pytest.mark.parametrize(
    "as_of, severity",
    [
        (day(10, 25), None),  # 10 days after it was returned: still within the window
        (day(10, 26), "red"),  # 11 days
    ],
)
def test_returned_and_not_resubmitted(sub, as_of, severity):
    # given the Q3 report submitted on time and returned at noon on 2024-10-15
    QuarterlyReportFactory(node=sub, period=Q3, returned=True, returned_at=taipei(2024, 10, 15, 12))

    findings = evaluate(sub, as_of=as_of)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert (finding.period, finding.severity) == (Q3, "red")
    assert finding.evidence == {
        "rule": "late_report",
        "period": "2024Q3",
        "report_status": "returned",
        "due_on": "2024-10-10",
        "days_late": 16,
        "red_after": "2024-10-30",
        "returned_on": "2024-10-15",
        "days_since_returned": 11,
        "threshold_days": 10,
    }


def test_returned_and_resubmitted_then_no_flag(sub):
    QuarterlyReportFactory(
        node=sub, period=Q3, submitted=True, returned_at=taipei(2024, 10, 15), submitted_at=taipei(2024, 11, 20)
    )

    assert evaluate(sub, as_of=day(12, 31)) == []


def test_days_since_returned_are_counted_in_taipei(sub):
    # given the Q3 report returned at 07:30 on 2024-10-15 in Taipei (23:30 on the 14th in UTC)
    QuarterlyReportFactory(node=sub, period=Q3, returned=True, returned_at=taipei(2024, 10, 15, 7, 30))

    # then on 2024-10-25 it has waited 10 days (Asia/Taipei is the day deadlines are counted in): not red yet
    assert evaluate(sub, as_of=day(10, 25)) == []
    finding = only(evaluate(sub, as_of=day(10, 26)))
    assert (finding.evidence["returned_on"], finding.evidence["days_since_returned"]) == ("2024-10-15", 11)


class TestThePlansOwnSettings:
    """A plan whose reports are due 20 days after quarter end, red 40 days after it, or 5 days after a return."""

    @pytest.fixture
    def sub(self):
        plan = PlanFactory(report_due_days=20)
        (node,) = subprojects(plan=plan, late_red_days_after_quarter_end=40, returned_red_days=5)
        QuarterlyReportFactory(node=node, period=Q2, accepted=True)
        return node

    @pytest.mark.parametrize(
        "as_of, severity",
        [
            (day(10, 20), None),  # the due day
            (day(10, 21), "yellow"),
            (day(10, 31), "yellow"),  # red by default, not here
            (day(11, 9), "yellow"),  # quarter end + 40
            (day(11, 10), "red"),  # quarter end + 41
        ],
    )
    def test_a_missing_report(self, sub, as_of, severity):
        findings = evaluate(sub, as_of=as_of)

        if severity is None:
            assert findings == []
            return
        finding = only(findings)
        assert finding.severity == severity
        assert finding.evidence["due_on"] == "2024-10-20"
        assert finding.evidence["red_after"] == "2024-11-09"
        assert finding.evidence["days_late"] == (as_of - day(10, 20)).days

    @pytest.mark.parametrize("as_of, severity", [(day(10, 30), None), (day(10, 31), "red")])
    def test_returned_and_not_resubmitted(self, sub, as_of, severity):
        QuarterlyReportFactory(node=sub, period=Q3, returned=True, returned_at=taipei(2024, 10, 25, 12))

        findings = evaluate(sub, as_of=as_of)

        assert [f.severity for f in findings] == ([severity] if severity else [])
        if severity:
            assert findings[0].evidence["threshold_days"] == 5
            assert findings[0].evidence["days_since_returned"] == 6


def test_only_the_latest_quarter_due_is_looked_at(sub):
    # given the Q3 report missing, and the Q4 report not yet due on 2025-01-10
    findings = evaluate(sub, as_of=datetime.date(2025, 1, 10))

    assert [(f.period, f.severity) for f in findings] == [(Q3, "red")]


def test_a_quarter_flagged_before_stays_under_watch_until_its_report_comes_in(sub):
    # given an open flag on the missing Q1 report, whose quarter is no longer the latest due
    flag(sub, LagRule.LATE_REPORT, Quarter(2024, 1), severity="red")

    findings = evaluate(sub, as_of=day(10, 11))

    assert [(f.period, f.severity) for f in findings] == [(Quarter(2024, 1), "red"), (Q3, "yellow")]
    assert findings[0].evidence["due_on"] == "2024-04-10"

    # when the Q1 report is submitted, only Q3 is left
    QuarterlyReportFactory(node=sub, period=Quarter(2024, 1), submitted=True)
    assert [f.period for f in evaluate(sub, as_of=day(10, 11))] == [Q3]


def test_nothing_before_a_subproject_has_a_quarter_due():
    # given a sub-project starting in 2024Q3
    (sub,) = subprojects()
    PlanNode.objects.filter(pk=sub.pk).update(start_date=datetime.date(2024, 7, 1))
    sub.refresh_from_db()

    assert evaluate(sub, as_of=day(10, 10)) == []
    assert [f.period for f in evaluate(sub, as_of=day(10, 11))] == [Q3]


@pytest.mark.parametrize("status", [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED])
def test_a_subproject_filing_on_time_has_no_flag(status):
    (sub,) = subprojects()
    QuarterlyReportFactory(node=sub, period=Q3, **{status.value: True})

    assert evaluate(sub, as_of=day(10, 11)) == []


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each missing its Q3 report and with an old flag on Q2 still open
    (one,) = subprojects()
    twenty = subprojects(20)
    for node in [one, *twenty]:
        flag(node, LagRule.LATE_REPORT, Q2, severity="red")
        QuarterlyReportFactory(node=node, period=Q3)
    small, large = batch_of([one], as_of=day(11, 15)), batch_of(twenty, as_of=day(11, 15))

    # then two queries for each: the flags under watch, then the reports of every quarter in question
    with django_assert_num_queries(2):
        assert len(late_report.evaluate(small)) == 2
    with django_assert_num_queries(2):
        assert len(late_report.evaluate(large)) == 40


# --------------------------------------------------------------------------- monthly updates (月報)

JULY, AUGUST = Month(2024, 7), Month(2024, 8)


@pytest.fixture
def monthly():
    """A 院列管 sub-project, which gives a monthly update for the first two months of each quarter; its 2024Q2
    report was accepted."""
    (node,) = subprojects()
    node = of_kind(node, ReportKind.MONTHLY)
    QuarterlyReportFactory(node=node, period=Q2, accepted=True)
    return node


@pytest.mark.parametrize(
    "as_of, severity",
    [
        (day(8, 11), "yellow"),  # a day after July's update fell due (08-10)
        (day(8, 30), "yellow"),  # the month's end + 30 days
        (day(8, 31), "red"),
    ],
)
def test_a_missing_monthly_update_is_late_by_the_months_due_date(monthly, as_of, severity):
    finding = only(evaluate(monthly, as_of=as_of))

    days_late = (as_of - day(8, 10)).days
    assert (finding.period, finding.severity, finding.score) == (Q3, severity, days_late)
    assert finding.evidence == {
        "rule": "late_report",
        "period": "2024-07",
        "kind": "monthly",
        "report_status": "missing",
        "due_on": "2024-08-10",
        "days_late": days_late,
        "red_after": "2024-08-30",
    }


def test_a_quarterly_sub_project_owes_no_monthly_update(sub):
    assert evaluate(sub, as_of=day(8, 20)) == []


def test_a_submitted_update_or_the_quarters_report_filed_ends_the_months_lateness(monthly):
    # given July's update submitted: August's is not due before 09-10
    QuarterlyReportFactory(node=monthly, period=JULY, submitted=True)
    assert evaluate(monthly, as_of=day(9, 10)) == []
    # August's, once due, is late
    assert only(evaluate(monthly, as_of=day(9, 11))).evidence["period"] == "2024-08"
    # until the quarter's own report is filed: it covers the months before it
    QuarterlyReportFactory(node=monthly, period=Q3, submitted=True)
    assert evaluate(monthly, as_of=day(9, 11)) == []


def test_a_month_flagged_before_stays_under_watch_and_the_quarters_own_lateness_takes_the_flag(monthly):
    # given July's update flagged late, and never filed
    flag(monthly, rule=LagRule.LATE_REPORT, period=Q3, evidence={"period": "2024-07", "kind": "monthly"})
    QuarterlyReportFactory(node=monthly, period=AUGUST, submitted=True)
    # then July is still late once August's update is in
    assert only(evaluate(monthly, as_of=day(9, 20))).evidence["period"] == "2024-07"
    # and once the quarter's report is due and missing, the flag is about the quarter
    finding = only(evaluate(monthly, as_of=day(10, 11)))
    assert (finding.period, finding.evidence["period"], "kind" in finding.evidence) == (Q3, "2024Q3", False)
