"""Budget execution (經費執行率: spent, payables and savings over the ledger's allocation to date, latest accepted
report): below 90 % yellow, below 80 % red; both thresholds are the plan's settings."""

import datetime
from decimal import Decimal

import pytest

from reviews.models import ReportKind
from reviews.periods import Month, Quarter
from reviews.rules import budget_execution
from reviews.selectors import latest_accepted_reports
from tests.projects.factories import BudgetYearFactory, allocate
from tests.reviews.factories import QuarterlyReportFactory, of_kind

from .builders import batch_of, only, subprojects

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2024, 11, 15)
Q2, Q3 = Quarter(2024, 2), Quarter(2024, 3)


def accepted(sub, *, allocated, spent, period=Q3, payables=None, savings=None):
    return QuarterlyReportFactory(
        node=sub,
        period=period,
        accepted=True,
        planned_progress=D(60),
        actual_progress=D(60),
        budget_allocated=None if allocated is None else D(allocated),
        budget_spent=None if spent is None else D(spent),
        budget_payables=None if payables is None else D(payables),
        budget_savings=None if savings is None else D(savings),
    )


@pytest.mark.parametrize(
    "spent, severity, rate",
    [
        ("10000", None, None),  # 100 %
        ("9000", None, None),  # 90 %: not below 90
        ("8999", "yellow", "89.99"),
        ("8000", "yellow", "80"),  # 80 %: not below 80
        ("7999", "red", "79.99"),
        ("0", "red", "0"),
    ],
)
def test_default_thresholds(spent, severity, rate):
    # given a sub-project allocated 10,000 TWD to date
    (sub,) = subprojects()
    report = accepted(sub, allocated="10000", spent=spent)

    # when
    findings = budget_execution.evaluate(batch_of([sub], as_of=AS_OF))

    # then
    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (
        sub.pk,
        "budget_execution",
        Q3,
        severity,
    )
    assert finding.score == D(90) - D(rate)
    assert finding.evidence == {
        "rule": "budget_execution",
        "period": "2024Q3",
        "report": report.pk,
        "budget_spent": spent,
        "budget_payables": "0",
        "budget_savings": "0",
        "budget_allocated": "10000",
        "execution_rate": rate,
        "yellow_below": "90",
        "red_below": "80",
    }


@pytest.mark.parametrize(
    "allocated, spent",
    [
        ("0", "0"),  # nothing allocated yet: no rate to judge
        ("0", "500"),
        (None, "500"),
        ("10000", None),
    ],
)
def test_nothing_to_judge_without_an_allocation_or_a_spend(allocated, spent):
    (sub,) = subprojects()
    accepted(sub, allocated=allocated, spent=spent)

    assert budget_execution.evaluate(batch_of([sub], as_of=AS_OF)) == []


@pytest.mark.parametrize(
    "spent, severity",
    [
        ("9500", None),  # 95 %
        ("9499", "yellow"),  # 94.99 %
        ("8500", "yellow"),  # 85 %
        ("8499", "red"),  # 84.99 %
        ("8999", "yellow"),  # yellow here as by default
    ],
)
def test_the_plans_own_thresholds(spent, severity):
    # given a plan that warns below 95 % and alarms below 85 %
    (sub,) = subprojects(budget_yellow_below=D(95), budget_red_below=D(85))
    accepted(sub, allocated="10000", spent=spent)

    findings = budget_execution.evaluate(batch_of([sub], as_of=AS_OF))

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == severity
    assert (finding.evidence["yellow_below"], finding.evidence["red_below"]) == ("95", "85")
    assert finding.score == D(95) - D(finding.evidence["execution_rate"])


def test_only_the_latest_accepted_report_counts():
    (sub,) = subprojects()
    accepted(sub, allocated="10000", spent="1000", period=Q2)
    accepted(sub, allocated="20000", spent="19000")

    assert budget_execution.evaluate(batch_of([sub], as_of=AS_OF)) == []


@pytest.mark.parametrize("spent, severity", [("899999", "yellow"), ("799999", "red"), ("899950", "yellow")])
def test_a_rate_just_below_a_threshold_is_below_it(spent, severity):
    # given spending a hair under 90 % (or 80 %) of 1,000,000 TWD
    (sub,) = subprojects()
    accepted(sub, allocated="1000000", spent=spent)

    findings = budget_execution.evaluate(batch_of([sub], as_of=AS_OF))

    # then it is below the threshold, whatever two decimals it shows as
    assert [f.severity for f in findings] == [severity]


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each having spent 70 %
    (one,) = subprojects()
    twenty = subprojects(20)
    for sub in [one, *twenty]:
        accepted(sub, allocated="10000", spent="7000")
    small, large = batch_of([one], as_of=AS_OF), batch_of(twenty, as_of=AS_OF)

    with django_assert_num_queries(1):
        assert len(budget_execution.evaluate(small)) == 1
    with django_assert_num_queries(1):
        assert len(budget_execution.evaluate(large)) == 20


@pytest.mark.parametrize(
    "spent, payables, savings, severity, rate",
    [
        # (7,000 + 1,500 + 600) / 10,000 x 100 = 91 %: spent alone (70 %) would be red; executed, on track
        ("7000", "1500", "600", None, None),
        # (7,000 + 1,000 + 0) / 10,000 x 100 = 80 %: not below 80, so yellow; savings not given count as 0
        ("7000", "1000", None, "yellow", "80"),
        # (6,000 + 1,000 + 999) / 10,000 x 100 = 79.99 %: red
        ("6000", "1000", "999", "red", "79.99"),
        # (8,000 + 0 + 1,000) / 10,000 x 100 = 90 %: savings alone lift 80 % to on track
        ("8000", None, "1000", None, None),
    ],
)
def test_payables_and_savings_count_as_executed(spent, payables, savings, severity, rate):
    # given a sub-project allocated 10,000 TWD to date, with payables (retentions included) and savings
    (sub,) = subprojects()
    report = accepted(sub, allocated="10000", spent=spent, payables=payables, savings=savings)

    findings = budget_execution.evaluate(batch_of([sub], as_of=AS_OF))

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == severity
    assert finding.evidence == {
        "rule": "budget_execution",
        "period": "2024Q3",
        "report": report.pk,
        "budget_spent": spent,
        "budget_payables": payables or "0",
        "budget_savings": savings or "0",
        "budget_allocated": "10000",
        "execution_rate": rate,
        "yellow_below": "90",
        "red_below": "80",
    }


def test_the_allocation_is_the_ledgers_to_the_reports_quarter():
    # given a ledger allocating 4,000 in each quarter: 12,000 up to the third
    (sub,) = subprojects()
    BudgetYearFactory(
        node=sub,
        year=2024,
        appropriation=D(16000),
        allocation_q1=D(4000),
        allocation_q2=D(4000),
        allocation_q3=D(4000),
        allocation_q4=D(4000),
    )
    # and a 2024Q3 report with 10,000 spent and 500 payables: (10,000 + 500) / 12,000 x 100 = 87.5 %
    accepted(sub, allocated=None, spent="10000", payables="500")

    finding = only(budget_execution.evaluate(batch_of([sub], as_of=AS_OF)))

    assert (finding.severity, finding.evidence["budget_allocated"], finding.evidence["execution_rate"]) == (
        "yellow",
        "12000",
        "87.5",
    )


def test_the_databases_shortlist_counts_payables_and_savings():
    # given one sub-project 70 % spent but 91 % executed, and one 70 % spent with nothing else
    on_track, lagging = subprojects(2)
    accepted(on_track, allocated="10000", spent="7000", payables="1500", savings="600")
    accepted(lagging, allocated="10000", spent="7000")

    # when the scan asks the database for the reports below 90 %
    shortlist = latest_accepted_reports([on_track.pk, lagging.pk], execution_below=D(90))

    # then only the one executed below 90 % is read
    assert [(r.node_id, r.execution_rate()) for r in shortlist] == [(lagging.pk, D("70.0"))]


def test_a_monthly_update_is_not_judged_on_the_quarters_allocation():
    # given a 院列管 sub-project whose 2024Q2 report executes its allocation in full, and whose July update
    # (spent alone, a month into the quarter's allocation) would be far below it
    (sub,) = subprojects()
    of_kind(sub, ReportKind.MONTHLY)
    QuarterlyReportFactory(node=sub, period=Quarter(2024, 2), accepted=True, budget_spent=D(500000))
    QuarterlyReportFactory(node=sub, period=Month(2024, 7), accepted=True, budget_spent=D(510000))
    allocate(sub, 2024, 3, D(2000000))
    # then the budget is judged on the latest quarterly report: on plan
    assert budget_execution.evaluate(batch_of([sub], as_of=datetime.date(2024, 8, 20))) == []
