import datetime
from decimal import Decimal

import factory

from accounts.models import Role, User
from projects.models import Agency, AgencyRole, Milestone, NodeAgency, NodeKind, Plan, PlanNode


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"機關{n}部")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.READER
    password = factory.django.Password("correct horse battery staple")


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


def make_tree(plan=None, *, lead_agency=None, subprojects=1, prefix=""):
    """group > strategy > measure > ``subprojects`` sub-projects, led by ``lead_agency``."""
    plan = plan or PlanFactory()
    group = NodeFactory(plan=plan, kind=NodeKind.GROUP, title=f"{prefix}數位治理分組")
    strategy = NodeFactory(plan=plan, kind=NodeKind.STRATEGY, parent=group, title=f"{prefix}建構資料治理生態系")
    measure = NodeFactory(plan=plan, kind=NodeKind.MEASURE, parent=strategy, title=f"{prefix}精進政府資料品質")
    subs = []
    for index in range(subprojects):
        sub = NodeFactory(
            plan=plan,
            kind=NodeKind.SUBPROJECT,
            parent=measure,
            title=f"{prefix}子計畫 {index}",
            start_date=datetime.date(2021, 1, 1),
            end_date=datetime.date(2025, 12, 31),
            budget=Decimal("1000000"),
        )
        if lead_agency:
            NodeAgency.objects.create(node=sub, agency=lead_agency, role=AgencyRole.LEAD)
        subs.append(sub)
    return group, strategy, measure, subs


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    node = factory.SubFactory(NodeFactory, kind=NodeKind.SUBPROJECT)
    title = factory.Sequence(lambda n: f"查核點 {n}")
    planned_date = datetime.date(2024, 6, 30)
    weight = Decimal("25")
