"""經費執行率 as the budget office counts it: (累計實支數 + 應付未付數 + 節餘數) ÷ 累計分配數 × 100, worked by hand."""

from decimal import Decimal

import pytest

from reviews.models import execution_rate
from reviews.periods import Quarter
from tests.projects.factories import AgencyFactory, BudgetYearFactory, make_tree
from tests.reviews.factories import QuarterlyReportFactory

D = Decimal


@pytest.mark.parametrize(
    ("spent", "payables", "savings", "allocated", "rate"),
    [
        # 4,600,000 / 5,000,000 x 100 = 92.0: nothing owed, nothing saved
        ("4600000", "0", "0", "5000000", "92.0"),
        # (3,900,000 + 600,000 + 0) / 5,000,000 x 100 = 4,500,000 / 5,000,000 x 100 = 90.0
        ("3900000", "600000", "0", "5000000", "90.0"),
        # (7,200,000 + 1,500,000 (retentions included) + 300,000) / 10,000,000 x 100 = 9,000,000 / 10,000,000 x 100
        # = 90.0, where spent alone is 72.0
        ("7200000", "1500000", "300000", "10000000", "90.0"),
        # (2,000,000 + 0 + 250,000) / 3,000,000 x 100 = 2,250,000 / 3,000,000 x 100 = 75.0
        ("2000000", "0", "250000", "3000000", "75.0"),
        # (1,000 + 1 + 1) / 3,000 x 100 = 1,002 / 3,000 x 100 = 33.4
        ("1000", "1", "1", "3000", "33.4"),
        # (2,999 + 0 + 0) / 3,000 x 100 = 99.9666...: 100.0 to one decimal
        ("2999", "0", "0", "3000", "100.0"),
        # payables and savings beyond the allocation: (900 + 200 + 100) / 1,000 x 100 = 120.0
        ("900", "200", "100", "1000", "120.0"),
        # missing payables and savings count as 0: 450 / 600 x 100 = 75.0
        ("450", None, None, "600", "75.0"),
    ],
)
def test_the_rate_on_hand_worked_examples(spent, payables, savings, allocated, rate):
    figures = {"spent": D(spent), "payables": payables and D(payables), "savings": savings and D(savings)}

    assert execution_rate(**figures, allocated=D(allocated)) == D(rate)


def test_unrounded_and_to_other_places():
    # (1,000 + 0 + 0) / 3,000 x 100 = 33.333...
    rate = execution_rate(spent=D(1000), payables=D(0), savings=D(0), allocated=D(3000), places=None)

    assert rate.quantize(D("0.000001")) == D("33.333333")
    assert execution_rate(spent=D(1000), payables=None, savings=None, allocated=D(3000), places=2) == D("33.33")


@pytest.mark.parametrize(
    ("spent", "allocated"),
    [(None, "1000"), ("500", None), ("500", "0")],
)
def test_no_rate_without_an_allocation_or_a_spent_figure(spent, allocated):
    rate = execution_rate(
        spent=spent and D(spent), payables=D(100), savings=D(100), allocated=allocated and D(allocated)
    )

    assert rate is None


@pytest.mark.django_db
def test_a_report_reads_its_allocation_from_the_ledger_of_its_year():
    # given a 2024 ledger allocating 1,000,000 in Q1, 2,000,000 in Q2, 1,500,000 in Q3 and 500,000 in Q4
    _, _, _, (sub,) = make_tree(lead_agency=AgencyFactory())
    ledger = BudgetYearFactory(
        node=sub,
        year=2024,
        appropriation=D(5_000_000),
        allocation_q1=D(1_000_000),
        allocation_q2=D(2_000_000),
        allocation_q3=D(1_500_000),
        allocation_q4=D(500_000),
    )
    # and a 2024Q3 report: 3,600,000 spent, 400,000 payables, 200,000 savings
    report = QuarterlyReportFactory(
        node=ledger.node,
        period=Quarter(2024, 3),
        budget_allocated=None,
        budget_spent=D(3_600_000),
        budget_payables=D(400_000),
        budget_savings=D(200_000),
    )

    # then allocated to date is 1,000,000 + 2,000,000 + 1,500,000 = 4,500,000
    assert report.budget_allocated == D(4_500_000)
    # and the rate (3,600,000 + 400,000 + 200,000) / 4,500,000 x 100 = 4,200,000 / 4,500,000 x 100 = 93.3
    assert report.execution_rate == D("93.3")
    # and a report of a year without a ledger has neither
    other = QuarterlyReportFactory(node=ledger.node, period=Quarter(2025, 1), budget_allocated=None)
    assert (other.budget_allocated, other.execution_rate) == (None, None)
