"""The plan structure for tests: agencies, plans, plan-tree nodes, sub-projects with their agencies, milestones.

``make_tree`` builds the usual group > strategy > measure > sub-projects; ``SubprojectFactory`` adds a sub-project
(under a new tree's measure unless ``parent`` is given) with its lead and co-agencies:
``SubprojectFactory(parent=measure, title="經濟部的子計畫", lead_agency=other_agency)``.
Budgets: ``BudgetYearFactory(node=sub, year=2024, appropriation=..., allocation_q1=...)``, or
``allocate(sub, year, quarter, to_date)`` to make a year's ledger allocate ``to_date`` up to a quarter.
"""

import datetime
from decimal import Decimal

import factory

from projects.models import (
    Agency,
    AgencyAlias,
    AgencyRole,
    BudgetYear,
    Milestone,
    NodeAgency,
    NodeKind,
    Plan,
    PlanNode,
)


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"機關{n}部")


class AgencyAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyAlias

    alias = factory.Sequence(lambda n: f"別稱{n}")
    agency = factory.SubFactory(AgencyFactory)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = "智慧國家方案"
    start_year = 2021
    end_year = 2025


class NodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanNode

    plan = factory.SubFactory(PlanFactory)
    kind = NodeKind.GROUP
    parent = None
    title = factory.Sequence(lambda n: f"節點 {n}")
    number = ""


class NodeAgencyFactory(factory.django.DjangoModelFactory):
    """A node's link to an agency: its lead (主辦機關) unless ``role=AgencyRole.CO`` (協辦機關)."""

    class Meta:
        model = NodeAgency

    node = factory.SubFactory(NodeFactory)
    agency = factory.SubFactory(AgencyFactory)
    role = AgencyRole.LEAD
    position = 0


def _link_agencies(node, agencies, role):
    """Link ``agencies`` (one agency, or a list in order of position) to ``node`` in ``role``."""
    if agencies is None:
        return
    if isinstance(agencies, Agency):
        agencies = [agencies]
    for position, agency in enumerate(agencies):
        NodeAgencyFactory(node=node, agency=agency, role=role, position=position)


class SubprojectFactory(NodeFactory):
    """A sub-project, under ``parent`` (by default the measure of a new tree of a new plan), with no dates or
    budget unless given. Its plan is its parent's: give ``parent``, not ``plan``. ``lead_agency`` and
    ``co_agency`` (an agency, or a list of them in order of position) link its agencies."""

    class Meta:
        skip_postgeneration_save = True

    kind = NodeKind.SUBPROJECT
    parent = factory.LazyFunction(lambda: make_tree(subprojects=0)[2])
    plan = factory.LazyAttribute(lambda o: o.parent.plan)
    title = factory.Sequence(lambda n: f"子計畫 {n}")

    @factory.post_generation
    def lead_agency(node, create, extracted, **kwargs):
        _link_agencies(node, extracted, AgencyRole.LEAD)

    @factory.post_generation
    def co_agency(node, create, extracted, **kwargs):
        _link_agencies(node, extracted, AgencyRole.CO)


def make_tree(plan=None, *, lead_agency=None, subprojects=1, prefix=""):
    """group > strategy > measure > ``subprojects`` sub-projects (2021-2025, budget 1,000,000), led by
    ``lead_agency``: ``(group, strategy, measure, [sub-projects])``."""
    plan = plan or PlanFactory()
    group = NodeFactory(plan=plan, kind=NodeKind.GROUP, title=f"{prefix}數位治理分組")
    strategy = NodeFactory(plan=plan, kind=NodeKind.STRATEGY, parent=group, title=f"{prefix}建構資料治理生態系")
    measure = NodeFactory(plan=plan, kind=NodeKind.MEASURE, parent=strategy, title=f"{prefix}精進政府資料品質")
    subs = [
        SubprojectFactory(
            parent=measure,
            title=f"{prefix}子計畫 {index}",
            start_date=datetime.date(2021, 1, 1),
            end_date=datetime.date(2025, 12, 31),
            budget=Decimal("1000000"),
            lead_agency=lead_agency,
        )
        for index in range(subprojects)
    ]
    return group, strategy, measure, subs


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    node = factory.SubFactory(SubprojectFactory)
    title = factory.Sequence(lambda n: f"查核點 {n}")
    planned_date = datetime.date(2024, 6, 30)
    weight = Decimal("25")


class BudgetYearFactory(factory.django.DjangoModelFactory):
    """A sub-project's budget of a year; by default 4,000,000 allocated 1,000,000 a quarter."""

    class Meta:
        model = BudgetYear

    node = factory.SubFactory(SubprojectFactory)
    year = 2024
    appropriation = Decimal("4000000")
    allocation_q1 = Decimal("1000000")
    allocation_q2 = Decimal("1000000")
    allocation_q3 = Decimal("1000000")
    allocation_q4 = Decimal("1000000")


# What ``allocate`` appropriates for a year it makes a ledger for: more than any test's figures, so that only
# tests about the appropriation (which set their own) meet it.
GENEROUS_APPROPRIATION = Decimal("900000000")


def allocate(node, year: int, quarter: int, to_date, *, appropriation=None) -> BudgetYear:
    """Make the sub-project's ledger of ``year`` allocate ``to_date`` up to ``quarter`` (累計分配數), as a
    report of that quarter used to give it: the quarter takes what the earlier ones do not already allocate
    (they are lowered if they allocate more). A new ledger appropriates ``GENEROUS_APPROPRIATION``; the
    appropriation is at least the four quarters' allocations (``appropriation``, when given, replaces it)."""
    to_date = Decimal(to_date)
    ledger = BudgetYear.objects.filter(node=node, year=year).first() or BudgetYear(
        node=node, year=year, appropriation=GENEROUS_APPROPRIATION
    )
    before = Decimal(0)
    for earlier in range(1, quarter):
        allocation = min(ledger.allocation(earlier), to_date - before)
        setattr(ledger, f"allocation_q{earlier}", allocation)
        before += allocation
    setattr(ledger, f"allocation_q{quarter}", to_date - before)
    total = sum(ledger.schedule, Decimal(0))
    ledger.appropriation = Decimal(appropriation) if appropriation is not None else max(ledger.appropriation, total)
    ledger.save()
    return ledger
