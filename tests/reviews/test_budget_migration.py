"""reviews 0009: the allocations reports gave become their sub-projects' budget ledgers, a year each, and the
reports keep their execution rates."""

import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reviews.periods import Quarter
from tests.accounts.factories import secretariat_user
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree

migration = importlib.import_module("reviews.migrations.0009_budget_ledger")
Figures, ledgers_from_reports = migration.Figures, migration.ledgers_from_reports
D = Decimal
# The plan tree as the factories build it now (its control levels came later, and need nothing of reviews).
BEFORE = [("reviews", "0008_history_and_budget_ledger"), ("projects", "0006_control_levels")]
AFTER = [("reviews", "0009_budget_ledger")]


def rows(*figures):
    """(year, quarter, allocated, spent) per report, ids from 1."""
    return [
        Figures(pk, year, quarter, None if a is None else D(a), None if s is None else D(s))
        for pk, (year, quarter, a, s) in enumerate(figures, start=1)
    ]


def schedules(ledgers):
    return {ledger.year: (ledger.appropriation, ledger.allocations) for ledger in ledgers}


def test_figures_of_the_year_become_its_schedule():
    # given a year's figures to date: 1,000 by Q1, 3,000 by Q2, 3,500 by Q4 (no Q3 report), and 500 by 2025Q1
    ledgers, rebased = ledgers_from_reports(
        rows((2024, 1, 1000, 900), (2024, 2, 3000, 2800), (2024, 4, 3500, 3400), (2025, 1, 500, 400))
    )

    # then each quarter is allocated the increase (Q3's falls on Q4), and the year's appropriation is its last
    assert schedules(ledgers) == {
        2024: (D(3500), [D(1000), D(2000), D(0), D(500)]),
        2025: (D(500), [D(500), D(0), D(0), D(0)]),
    }
    assert rebased == {}  # a yearly figure that starts again: nothing carried over, spent stays


def test_figures_carried_over_the_years_are_rebased_to_each_year():
    # given figures that carry on over the sub-project's span: 2,500 a quarter allocated, 96 % spent
    ledgers, rebased = ledgers_from_reports(
        rows(
            (2024, 3, 2500, 2400),
            (2024, 4, 5000, 4800),
            (2025, 1, 7500, 7200),
            (2025, 2, 10000, 9600),
        )
    )

    # then 2025 starts from what 2024 ended with: 7,500 - 5,000 = 2,500 allocated, 7,200 - 4,800 = 2,400 spent
    assert schedules(ledgers) == {
        2024: (D(5000), [D(0), D(0), D(2500), D(2500)]),
        2025: (D(5000), [D(2500), D(2500), D(0), D(0)]),
    }
    assert rebased == {3: D(2400), 4: D(4800)}
    # and the rates stay: 2025Q2 4,800 / 5,000 = 96 %, as 9,600 / 10,000 was


def test_a_falling_figure_gives_no_new_allocation_and_the_appropriation_covers_spending():
    # given Q2 lower than Q1, and spending above what was allocated
    ledgers, _ = ledgers_from_reports(rows((2024, 1, 2000, 1000), (2024, 2, 1500, 2600), (2024, 3, None, 2700)))

    assert schedules(ledgers) == {2024: (D(2700), [D(2000), D(0), D(0), D(0)])}


def test_a_year_without_any_allocation_gets_no_ledger():
    ledgers, _ = ledgers_from_reports(rows((2024, 1, None, 100), (2024, 2, None, 200)))

    assert ledgers == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_allocations_into_ledgers_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Report = apps.get_model("reviews", "QuarterlyReport")
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=AgencyFactory())
    secretariat = secretariat_user()

    def report(period, allocated, spent, **extra):
        return Report.objects.create(
            node_id=sub.pk,
            year=period.year,
            quarter=period.quarter,
            due_on=period.end,
            created_by_id=secretariat.pk,
            budget_allocated=allocated,
            budget_spent=spent,
            **extra,
        )

    # given reports giving 2024's allocation to date, one of them reopened with its accepted figures kept
    report(Quarter(2024, 1), D(1_000_000), D(900_000))
    reopened = report(
        Quarter(2024, 2),
        D(2_500_000),
        D(2_300_000),
        status="returned",
        first_submitted_at="2024-07-05T00:00:00Z",
        accepted_content={"budget_allocated": "2500000", "budget_spent": "2250000"},
    )

    # when migrating
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    ledger = apps.get_model("projects", "BudgetYear").objects.get()

    # then the year's ledger gives back each report's allocation to date
    assert (ledger.node_id, ledger.year, ledger.appropriation) == (sub.pk, 2024, D(2_500_000))
    assert [ledger.allocation_q1, ledger.allocation_q2, ledger.allocation_q3, ledger.allocation_q4] == [
        D(1_000_000),
        D(1_500_000),
        D(0),
        D(0),
    ]
    migrated = apps.get_model("reviews", "QuarterlyReport").objects.get(pk=reopened.pk)
    assert migrated.accepted_content == {"budget_spent": "2250000"}
    assert migrated.budget_spent == D(2_300_000)

    # and back: the reports get their allocation to date again
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Report = apps.get_model("reviews", "QuarterlyReport")
    assert sorted(Report.objects.values_list("quarter", "budget_allocated")) == [(1, D(1_000_000)), (2, D(2_500_000))]
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
