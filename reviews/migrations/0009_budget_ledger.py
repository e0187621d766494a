"""Reports no longer carry the allocation to date: it comes from the sub-project's budget ledger
(``projects.BudgetYear``). Each sub-project and year that has reports gets a ledger whose schedule gives back,
quarter by quarter, the allocations its reports gave; payables and savings stay empty (0 in the rate).

Reports gave their allocation two ways. Most gave the year's figure to date (累計分配數 of the year). Some
carried it on over the sub-project's whole span: the figure never falls from one year to the next. Those are
rebased to the year, and their spent figures with them (the spent of the previous year's last report is taken
off), so that the rate of a year compares the year's spending with the year's allocation as before.

A quarter without a report gets no allocation of its own (the next report's increase falls on its quarter); a
figure lower than an earlier one in the year is read as no new allocation. The appropriation is the year's
last allocation to date, or the year's highest spent figure where that is higher.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import migrations

ZERO = Decimal(0)


@dataclass(frozen=True)
class Figures:
    """A report's budget figures as filed: allocated and spent to date."""

    report: int
    year: int
    quarter: int
    allocated: Decimal | None
    spent: Decimal | None


@dataclass
class Ledger:
    year: int
    appropriation: Decimal = ZERO
    allocations: list[Decimal] = field(default_factory=lambda: [ZERO, ZERO, ZERO, ZERO])


def carried_over_years(rows: list[Figures]) -> bool:
    """Whether one sub-project's figures run over its whole span: it has figures in consecutive years, and at
    each such turn of the year the allocation does not fall (a yearly figure starts again from the quarter's)."""
    by_year = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.year, r.quarter)):
        if row.allocated is not None:
            by_year[row.year].append(row.allocated)
    turns = [(by_year[year][-1], by_year[year + 1][0]) for year in sorted(by_year) if year + 1 in by_year]
    return bool(turns) and all(before > 0 and after >= before for before, after in turns)


def ledgers_from_reports(rows: list[Figures]) -> tuple[list[Ledger], dict[int, Decimal]]:
    """One sub-project's ledgers, one per year with an allocation, and the spent figures to write back (by
    report id) where they were carried over from earlier years."""
    rows = sorted(rows, key=lambda r: (r.year, r.quarter))
    carried = carried_over_years(rows)
    ledgers, rebased_spent = [], {}
    base_allocated = base_spent = ZERO
    for year in sorted({row.year for row in rows}):
        in_year = [row for row in rows if row.year == year]
        ledger, to_date, highest_spent = Ledger(year), ZERO, ZERO
        for row in in_year:
            spent = row.spent
            if carried and spent is not None:
                spent = max(ZERO, spent - base_spent)
                if spent != row.spent:
                    rebased_spent[row.report] = spent
            if spent is not None:
                highest_spent = max(highest_spent, spent)
            if row.allocated is None:
                continue
            figure = max(ZERO, row.allocated - base_allocated)
            if figure > to_date:
                ledger.allocations[row.quarter - 1] += figure - to_date
                to_date = figure
        with_allocation = [row for row in in_year if row.allocated is not None]
        if carried and with_allocation:
            last = with_allocation[-1]
            base_allocated = last.allocated
            base_spent = last.spent if last.spent is not None else base_spent
        if with_allocation:
            ledger.appropriation = max(to_date, highest_spent)
            ledgers.append(ledger)
    return ledgers, rebased_spent


def forward(apps, schema_editor):
    QuarterlyReport = apps.get_model("reviews", "QuarterlyReport")
    BudgetYear = apps.get_model("projects", "BudgetYear")
    by_node = defaultdict(list)
    for pk, node, year, quarter, allocated, spent in QuarterlyReport.objects.values_list(
        "pk", "node_id", "year", "quarter", "budget_allocated", "budget_spent"
    ).iterator(chunk_size=2000):
        by_node[node].append(Figures(pk, year, quarter, allocated, spent))
    existing = set(BudgetYear.objects.values_list("node_id", "year"))
    new_ledgers, rebased = [], {}
    for node, rows in by_node.items():
        ledgers, spent = ledgers_from_reports(rows)
        rebased.update(spent)
        new_ledgers += [
            BudgetYear(
                node_id=node,
                year=ledger.year,
                appropriation=ledger.appropriation,
                allocation_q1=ledger.allocations[0],
                allocation_q2=ledger.allocations[1],
                allocation_q3=ledger.allocations[2],
                allocation_q4=ledger.allocations[3],
            )
            for ledger in ledgers
            if (node, ledger.year) not in existing
        ]
    BudgetYear.objects.bulk_create(new_ledgers, batch_size=1000)
    changed = []
    for report in QuarterlyReport.objects.filter(pk__in=rebased):
        report.budget_spent = rebased[report.pk]
        if report.accepted_content is not None and "budget_spent" in report.accepted_content:
            report.accepted_content["budget_spent"] = str(rebased[report.pk])
        changed.append(report)
    QuarterlyReport.objects.bulk_update(changed, ["budget_spent", "accepted_content"], batch_size=1000)
    # What was accepted no longer names the allocation either.
    changed = []
    for report in QuarterlyReport.objects.filter(accepted_content__isnull=False).only("pk", "accepted_content"):
        if "budget_allocated" in report.accepted_content:
            del report.accepted_content["budget_allocated"]
            changed.append(report)
    QuarterlyReport.objects.bulk_update(changed, ["accepted_content"], batch_size=1000)


def backward(apps, schema_editor):
    """Reports get their allocation to date back from the ledgers (spent figures stay as rebased)."""
    QuarterlyReport = apps.get_model("reviews", "QuarterlyReport")
    BudgetYear = apps.get_model("projects", "BudgetYear")
    ledgers = {(ledger.node_id, ledger.year): ledger for ledger in BudgetYear.objects.all()}
    changed = []
    for report in QuarterlyReport.objects.only("pk", "node_id", "year", "quarter"):
        ledger = ledgers.get((report.node_id, report.year))
        if ledger is not None:
            schedule = [ledger.allocation_q1, ledger.allocation_q2, ledger.allocation_q3, ledger.allocation_q4]
            report.budget_allocated = sum(schedule[: report.quarter], ZERO)
            changed.append(report)
    QuarterlyReport.objects.bulk_update(changed, ["budget_allocated"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_history_and_budget_ledger"),
        ("reviews", "0008_history_and_budget_ledger"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RemoveConstraint(
            model_name="quarterlyreport",
            name="report_budget_allocated_not_negative",
        ),
        migrations.RemoveField(
            model_name="historicalquarterlyreport",
            name="budget_allocated",
        ),
        migrations.RemoveField(
            model_name="quarterlyreport",
            name="budget_allocated",
        ),
    ]
