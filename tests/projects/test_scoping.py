"""Who sees what of the plan structure, and the invariants the database keeps for it."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import Role, User
from projects import access, selectors
from projects.models import (
    Agency,
    AgencyAlias,
    AgencyRole,
    Milestone,
    NodeAgency,
    NodeKind,
    Plan,
    PlanNode,
)
from tests.accounts.factories import UserFactory
from tests.projects.factories import (
    AgencyAliasFactory,
    AgencyFactory,
    MilestoneFactory,
    NodeAgencyFactory,
    NodeFactory,
    PlanFactory,
    SubprojectFactory,
    make_tree,
)


@pytest.fixture
def world(agency, other_agency):
    """A plan whose sub-projects are led by two agencies, and a second plan."""
    AgencyAliasFactory(alias="數位部", agency=agency)
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    plan = PlanFactory(code="smart-nation")
    group, strategy, measure, (own,) = make_tree(plan, lead_agency=agency)
    group.convening_agency = agency
    group.save()
    foreign = SubprojectFactory(parent=measure, title="經濟部的子計畫", lead_agency=other_agency)
    unit_led = SubprojectFactory(parent=foreign, title="署的子子計畫", lead_agency=unit)
    other_plan = PlanFactory(code="other")
    o_group, o_strategy, o_measure, (o_sub,) = make_tree(other_plan, lead_agency=other_agency, prefix="他")
    MilestoneFactory(node=own, title="自己的查核點")
    MilestoneFactory(node=foreign, title="經濟部的查核點", is_critical=True)
    MilestoneFactory(node=o_sub, title="他方案查核點")
    return SimpleNamespace(
        agency=agency,
        other_agency=other_agency,
        unit=unit,
        plan=plan,
        other_plan=other_plan,
        group=group,
        strategy=strategy,
        measure=measure,
        own=own,
        foreign=foreign,
        unit_led=unit_led,
        o_sub=o_sub,
    )


def make_user(role, agency=None):
    return UserFactory(username=f"{role}-user", role=role, agency=agency)


# --------------------------------------------------------------------------- visible_to and selectors

SCOPES = [
    (Agency, selectors.agency_list),
    (Plan, selectors.plan_list),
    (PlanNode, selectors.node_tree),
    (Milestone, selectors.milestone_list),
]
VISIBLE = {
    Agency: access.agencies_for,
    Plan: access.plans_for,
    PlanNode: access.nodes_for,
    Milestone: access.milestones_for,
}


@pytest.mark.parametrize(("model", "selector"), SCOPES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("user", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_nobody_sees_nothing(world, model, selector, user):
    # given: rows exist
    assert model.objects.exists()

    # then
    assert not VISIBLE[model](user).exists()
    assert list(selector(user=user)) == []


@pytest.mark.parametrize(("model", "selector"), SCOPES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("role", [Role.SECRETARIAT, Role.LEAD, Role.READER])
def test_every_role_sees_everything(world, model, selector, role):
    user = make_user(role, agency=world.agency if role == Role.LEAD else None)
    everything = set(model.objects.values_list("pk", flat=True))

    assert set(VISIBLE[model](user).values_list("pk", flat=True)) == everything
    assert {row.pk for row in selector(user=user)} == everything
    assert selector(user=user).count() == len(everything)  # no duplicate rows from joins


@pytest.mark.parametrize("role", [Role.LEAD, Role.READER])
def test_a_user_of_one_agency_sees_another_agencys_sub_projects(world, role):
    user = make_user(role, agency=world.agency)

    visible = access.nodes_for(user)

    assert world.foreign in visible
    assert world.o_sub in visible
    assert set(visible.subprojects()) == set(PlanNode.objects.subprojects())
    assert access.milestones_for(user).filter(node=world.o_sub).exists()


def test_a_reader_without_an_agency_sees_the_whole_structure(world):
    user = make_user(Role.READER)

    assert user.agency is None
    assert selectors.node_tree(user=user).count() == PlanNode.objects.count() == 10


def test_node_tree_carries_agencies_in_order(world):
    second = AgencyFactory(name="內政部")
    NodeAgencyFactory(node=world.own, agency=second, role=AgencyRole.CO)

    node = selectors.node_tree(user=make_user(Role.READER)).get(pk=world.own.pk)

    assert node.lead_agencies == [world.agency]
    assert node.co_agencies == [second]


def test_agency_find_by_name_alias_and_short_parent(world):
    assert selectors.agency_find("數位發展部") == world.agency
    assert selectors.agency_find("數位部") == world.agency
    assert selectors.agency_find(" 數位 部 ") == world.agency  # whitespace in a tag is noise
    assert selectors.agency_find("數位發展部數位產業署") == world.unit
    assert selectors.agency_find("數位部數位產業署") == world.unit
    assert selectors.agency_find("不存在的機關") is None
    assert selectors.agency_find("   ") is None


def test_of_agencies_and_subtree(world):
    subtree = selectors.agency_subtree(world.agency)

    assert set(subtree) == {world.agency, world.unit}
    assert set(PlanNode.objects.of_agencies(subtree)) == {world.own, world.unit_led}
    assert set(PlanNode.objects.of_agencies(subtree, role=AgencyRole.CO)) == set()
    assert set(PlanNode.objects.subtree_of(world.measure)) == {world.measure, world.own, world.foreign, world.unit_led}


# --------------------------------------------------------------------------- role x endpoint

ENDPOINTS = {
    "agencies": Agency,
    "plans": Plan,
    "projects": PlanNode,
    "milestones": Milestone,
}


@pytest.mark.parametrize("resource", list(ENDPOINTS))
def test_role_x_endpoint_list(role_client, world, resource):
    model = ENDPOINTS[resource]

    response = role_client.get(f"/api/v1/{resource}/", {"page_size": 500})

    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == set(model.objects.values_list("pk", flat=True))


@pytest.mark.parametrize("resource", list(ENDPOINTS))
def test_role_x_endpoint_detail(role_client, world, resource):
    model = ENDPOINTS[resource]
    pks = list(model.objects.values_list("pk", flat=True))
    assert pks

    for pk in pks:
        response = role_client.get(f"/api/v1/{resource}/{pk}/")
        assert response.status_code == 200, (resource, pk)
        assert response.json()["id"] == pk


@pytest.mark.parametrize("resource", list(ENDPOINTS))
def test_anonymous_x_endpoint(anonymous_client, world, resource):
    model = ENDPOINTS[resource]

    assert anonymous_client.get(f"/api/v1/{resource}/").status_code == 401
    for pk in model.objects.values_list("pk", flat=True):
        response = anonymous_client.get(f"/api/v1/{resource}/{pk}/")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_lead_of_another_agency_sees_this_agencys_sub_project(other_lead_client, world):
    response = other_lead_client.get(f"/api/v1/projects/{world.own.pk}/")

    assert response.status_code == 200
    assert response.json()["lead_agencies"][0]["id"] == world.agency.pk


# --------------------------------------------------------------------------- database constraints


def assert_integrity_error(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.fixture
def tree(db):
    plan = PlanFactory()
    group, strategy, measure, (sub,) = make_tree(plan)
    return SimpleNamespace(plan=plan, group=group, strategy=strategy, measure=measure, sub=sub)


def nodes(node):
    return PlanNode.objects.filter(pk=node.pk)


def test_node_group_is_root_refuses_a_group_with_a_parent(tree):
    other_group = NodeFactory(plan=tree.plan, kind=NodeKind.GROUP)

    assert_integrity_error(lambda: nodes(other_group).update(parent=tree.group))


def test_node_group_is_root_refuses_a_non_group_without_a_parent(tree):
    assert_integrity_error(lambda: nodes(tree.strategy).update(parent=None))
    assert_integrity_error(lambda: nodes(tree.sub).update(kind=NodeKind.GROUP))
    assert_integrity_error(
        lambda: PlanNode.objects.bulk_create(
            [PlanNode(plan=tree.plan, kind=NodeKind.MEASURE, title="孤兒", path="/x/")]
        )
    )


def test_node_convening_agency_only_on_groups(tree, agency):
    nodes(tree.group).update(convening_agency=agency)  # allowed

    for node in (tree.strategy, tree.measure, tree.sub):
        assert_integrity_error(lambda node=node: nodes(node).update(convening_agency=agency))
    assert PlanNode.objects.filter(convening_agency=agency).get() == tree.group


def test_node_dates_in_order(tree):
    nodes(tree.sub).update(start_date=datetime.date(2024, 1, 1), end_date=datetime.date(2024, 1, 1))  # same day ok
    nodes(tree.sub).update(start_date=None, end_date=datetime.date(2020, 1, 1))  # open start ok

    assert_integrity_error(
        lambda: nodes(tree.sub).update(start_date=datetime.date(2024, 1, 2), end_date=datetime.date(2024, 1, 1))
    )


def test_node_budget_not_negative(tree):
    nodes(tree.sub).update(budget=Decimal(0))

    assert_integrity_error(lambda: nodes(tree.sub).update(budget=Decimal(-1)))


def test_node_outline_key_unique_within_a_plan(tree):
    # given: empty keys do not collide, and the same key may be used in another plan
    nodes(tree.strategy).update(outline_key="")
    nodes(tree.measure).update(outline_key="")
    nodes(tree.group).update(outline_key="貳")
    _, other_strategy, _, _ = make_tree(PlanFactory())
    nodes(other_strategy).update(outline_key="貳")

    # then
    assert_integrity_error(lambda: nodes(tree.strategy).update(outline_key="貳"))


def test_node_agency_unique(tree, agency):
    NodeAgencyFactory(node=tree.sub, agency=agency, role=AgencyRole.LEAD)

    assert_integrity_error(
        lambda: NodeAgency.objects.bulk_create([NodeAgency(node=tree.sub, agency=agency, role=AgencyRole.CO)])
    )


def test_node_agency_role_valid(tree, agency):
    link = NodeAgencyFactory(node=tree.sub, agency=agency)

    assert_integrity_error(lambda: NodeAgency.objects.filter(pk=link.pk).update(role="owner"))


def test_node_kind_valid_and_not_own_parent(tree):
    assert_integrity_error(lambda: nodes(tree.sub).update(kind="chapter"))
    assert_integrity_error(lambda: nodes(tree.sub).update(parent=F("id")))


def test_milestone_weight_range(tree):
    milestone = MilestoneFactory(node=tree.sub)
    Milestone.objects.filter(pk=milestone.pk).update(weight=Decimal(100))
    Milestone.objects.filter(pk=milestone.pk).update(weight=Decimal(0))

    assert_integrity_error(lambda: Milestone.objects.filter(pk=milestone.pk).update(weight=Decimal("100.01")))
    assert_integrity_error(lambda: Milestone.objects.filter(pk=milestone.pk).update(weight=Decimal("-0.01")))


def test_milestone_title_unique_per_node(tree):
    MilestoneFactory(node=tree.sub, title="上線")
    _, _, _, (other_sub,) = make_tree(tree.plan)
    MilestoneFactory(node=other_sub, title="上線")  # another sub-project may reuse it

    assert_integrity_error(
        lambda: Milestone.objects.bulk_create(
            [Milestone(node=tree.sub, title="上線", planned_date=datetime.date(2024, 1, 1))]
        )
    )


def test_plan_years_in_order(tree):
    plans = Plan.objects.filter(pk=tree.plan.pk)
    plans.update(start_year=2025, end_year=2025)

    assert_integrity_error(lambda: plans.update(start_year=2026))


def test_plan_report_due_days_range(tree):
    assert_integrity_error(lambda: Plan.objects.filter(pk=tree.plan.pk).update(report_due_days=121))


def test_agency_not_own_parent(agency):
    assert_integrity_error(lambda: Agency.objects.filter(pk=agency.pk).update(parent=agency.pk))
    assert_integrity_error(lambda: Agency.objects.filter(pk=agency.pk).update(parent=F("id")))


def test_agency_and_alias_names_not_empty(agency):
    assert_integrity_error(lambda: Agency.objects.filter(pk=agency.pk).update(name=""))
    assert_integrity_error(lambda: AgencyAlias.objects.bulk_create([AgencyAlias(alias="", agency=agency)]))


def test_user_lead_has_agency(agency):
    lead = UserFactory(username="lead-x", role=Role.LEAD, agency=agency)
    reader = UserFactory(username="reader-x", role=Role.READER)

    assert_integrity_error(lambda: User.objects.filter(pk=lead.pk).update(agency=None))
    assert_integrity_error(lambda: User.objects.filter(pk=reader.pk).update(role=Role.LEAD))
    assert_integrity_error(lambda: User.objects.bulk_create([User(username="lead-y", role=Role.LEAD)]))
    User.objects.filter(pk=reader.pk).update(role=Role.SECRETARIAT)  # other roles need none


def test_user_role_valid(db):
    user = UserFactory(username="someone", role=Role.READER)

    assert_integrity_error(lambda: User.objects.filter(pk=user.pk).update(role="admin"))
    assert_integrity_error(lambda: User.objects.filter(pk=user.pk).update(role=""))


def test_user_full_clean_reports_lead_without_agency(db):
    user = User(username="lead-z", role=Role.LEAD)

    with pytest.raises(ValidationError) as caught:
        user.full_clean(exclude=["password"])

    constraint = next(c for c in User._meta.constraints if c.name == "user_lead_has_agency")
    assert caught.value.message_dict == {"__all__": [str(constraint.violation_error_message)]}


# --------------------------------------------------------------------------- model validation


def test_full_clean_refuses_a_strategy_under_a_measure(tree):
    node = PlanNode(plan=tree.plan, kind=NodeKind.STRATEGY, parent=tree.measure, title="錯置的策略")

    with pytest.raises(ValidationError) as caught:
        node.full_clean()

    assert set(caught.value.message_dict) == {"parent"}


@pytest.mark.parametrize(
    ("kind", "parent_attr", "allowed"),
    [
        (NodeKind.STRATEGY, "group", True),
        (NodeKind.STRATEGY, "strategy", False),
        (NodeKind.MEASURE, "strategy", True),
        (NodeKind.MEASURE, "measure", True),
        (NodeKind.MEASURE, "group", False),
        (NodeKind.MEASURE, "sub", False),
        (NodeKind.SUBPROJECT, "strategy", True),
        (NodeKind.SUBPROJECT, "measure", True),
        (NodeKind.SUBPROJECT, "sub", True),
        (NodeKind.SUBPROJECT, "group", False),
    ],
)
def test_full_clean_parent_kinds(tree, kind, parent_attr, allowed):
    node = PlanNode(plan=tree.plan, kind=kind, parent=getattr(tree, parent_attr), title="新節點")

    if allowed:
        node.full_clean()
    else:
        with pytest.raises(ValidationError) as caught:
            node.full_clean()
        assert "parent" in caught.value.message_dict


def test_full_clean_refuses_a_parent_in_another_plan(tree):
    other_plan = PlanFactory()
    node = PlanNode(plan=other_plan, kind=NodeKind.SUBPROJECT, parent=tree.measure, title="跨方案")

    with pytest.raises(ValidationError) as caught:
        node.full_clean()

    assert set(caught.value.message_dict) == {"parent"}


def test_full_clean_refuses_a_move_under_its_own_subtree(tree):
    nested = SubprojectFactory(parent=tree.sub)
    measure = PlanNode.objects.get(pk=tree.measure.pk)
    measure.parent = PlanNode.objects.get(pk=tree.strategy.pk)
    measure.full_clean()  # where it is: fine

    sub = PlanNode.objects.get(pk=tree.sub.pk)
    sub.parent = nested

    with pytest.raises(ValidationError) as caught:
        sub.full_clean()
    assert set(caught.value.message_dict) == {"parent"}


def test_full_clean_refuses_a_group_with_a_parent(tree):
    node = PlanNode(plan=tree.plan, kind=NodeKind.GROUP, parent=tree.group, title="子分組")

    with pytest.raises(ValidationError):
        node.full_clean()


def test_full_clean_refuses_a_milestone_on_a_non_sub_project(tree):
    for node in (tree.group, tree.strategy, tree.measure):
        milestone = Milestone(node=node, title="錯置", planned_date=datetime.date(2024, 1, 1))
        with pytest.raises(ValidationError) as caught:
            milestone.full_clean()
        assert set(caught.value.message_dict) == {"node"}

    Milestone(node=tree.sub, title="對的", planned_date=datetime.date(2024, 1, 1)).full_clean()


def test_full_clean_refuses_weight_over_100_and_budget_below_0(tree):
    with pytest.raises(ValidationError) as caught:
        Milestone(node=tree.sub, title="x", planned_date=datetime.date(2024, 1, 1), weight=Decimal(101)).full_clean()
    assert set(caught.value.message_dict) == {"weight"}

    sub = PlanNode.objects.get(pk=tree.sub.pk)
    sub.budget = Decimal(-5)
    with pytest.raises(ValidationError) as caught:
        sub.full_clean()
    assert "budget" in caught.value.message_dict


# --------------------------------------------------------------------------- materialized paths


def path_of(node):
    return type(node).objects.values_list("path", flat=True).get(pk=node.pk)


def test_paths_follow_the_tree(tree):
    assert path_of(tree.group) == f"/{tree.group.pk:08d}/"
    assert path_of(tree.strategy) == f"/{tree.group.pk:08d}/{tree.strategy.pk:08d}/"
    assert path_of(tree.sub) == f"{path_of(tree.measure)}{tree.sub.pk:08d}/"
    assert tree.sub.path == path_of(tree.sub)  # the saved instance knows it too


def test_moving_a_node_moves_its_whole_subtree(tree):
    # given: measure > sub > nested, and a second strategy in another group
    nested = SubprojectFactory(parent=tree.sub, title="子子計畫")
    deeper = SubprojectFactory(parent=nested, title="更深")
    sibling = NodeFactory(plan=tree.plan, kind=NodeKind.MEASURE, parent=tree.strategy, title="不動的措施")
    other_group = NodeFactory(plan=tree.plan, kind=NodeKind.GROUP, title="另一分組")
    other_strategy = NodeFactory(plan=tree.plan, kind=NodeKind.STRATEGY, parent=other_group, title="另一策略")
    untouched = {n.pk: path_of(n) for n in (tree.group, tree.strategy, sibling, other_group, other_strategy)}

    # when
    measure = PlanNode.objects.get(pk=tree.measure.pk)
    measure.parent = other_strategy
    measure.full_clean()
    measure.save()

    # then
    new_measure_path = f"{path_of(other_strategy)}{measure.pk:08d}/"
    assert path_of(measure) == measure.path == new_measure_path
    assert path_of(tree.sub) == f"{new_measure_path}{tree.sub.pk:08d}/"
    assert path_of(nested) == f"{new_measure_path}{tree.sub.pk:08d}/{nested.pk:08d}/"
    assert path_of(deeper) == f"{path_of(nested)}{deeper.pk:08d}/"
    assert {pk: path_of(PlanNode(pk=pk)) for pk in untouched} == untouched
    assert set(PlanNode.objects.subtree_of(PlanNode.objects.get(pk=other_strategy.pk))) == {
        other_strategy,
        measure,
        tree.sub,
        nested,
        deeper,
    }
    assert set(PlanNode.objects.subtree_of(PlanNode.objects.get(pk=tree.strategy.pk))) == {tree.strategy, sibling}


def test_moving_a_node_up_a_level_shortens_the_subtree_paths(tree):
    nested = SubprojectFactory(parent=tree.sub)
    sub = PlanNode.objects.get(pk=tree.sub.pk)

    sub.parent = PlanNode.objects.get(pk=tree.strategy.pk)
    sub.save()

    assert path_of(sub) == f"{path_of(tree.strategy)}{sub.pk:08d}/"
    assert path_of(nested) == f"{path_of(sub)}{nested.pk:08d}/"
    assert not PlanNode.objects.subtree_of(PlanNode.objects.get(pk=tree.measure.pk)).exclude(pk=tree.measure.pk)


def test_moving_an_agency_moves_its_sub_units(agency, other_agency):
    unit = AgencyFactory(name="某署", parent=agency)
    office = AgencyFactory(name="某署某處", parent=unit)

    unit.parent = other_agency
    unit.save()

    assert path_of(unit) == f"/{other_agency.pk:08d}/{unit.pk:08d}/"
    assert path_of(office) == f"{path_of(unit)}{office.pk:08d}/"
    assert set(Agency.objects.subtree_of(agency)) == {agency}

    unit.parent = None
    unit.save()

    assert path_of(unit) == f"/{unit.pk:08d}/"
    assert path_of(office) == f"/{unit.pk:08d}/{office.pk:08d}/"


def test_saving_without_a_move_leaves_paths_alone(tree):
    before = dict(PlanNode.objects.values_list("pk", "path"))
    measure = PlanNode.objects.get(pk=tree.measure.pk)

    measure.title = "改名"
    measure.save()

    assert dict(PlanNode.objects.values_list("pk", "path")) == before


def test_moving_a_node_loaded_before_its_ancestor_moved_keeps_its_children(tree):
    # given: two nodes loaded at once, as a reorganisation would
    nested = SubprojectFactory(parent=tree.sub)
    other_group = NodeFactory(plan=tree.plan, kind=NodeKind.GROUP)
    other_strategy = NodeFactory(plan=tree.plan, kind=NodeKind.STRATEGY, parent=other_group)
    other_measure = NodeFactory(plan=tree.plan, kind=NodeKind.MEASURE, parent=tree.strategy)
    loaded = {node.pk: node for node in PlanNode.objects.filter(plan=tree.plan)}

    # when: the measure moves, then the sub-project (loaded before) moves
    measure = loaded[tree.measure.pk]
    measure.parent = loaded[other_strategy.pk]
    measure.save()
    sub = loaded[tree.sub.pk]
    sub.parent = loaded[other_measure.pk]
    sub.save()

    # then
    assert path_of(sub) == f"{path_of(other_measure)}{sub.pk:08d}/"
    assert path_of(nested) == f"{path_of(sub)}{nested.pk:08d}/"


def test_agency_full_clean_refuses_a_move_under_its_own_sub_unit(agency):
    unit = AgencyFactory(name="某署", parent=agency)
    ministry = Agency.objects.get(pk=agency.pk)
    ministry.parent = unit

    with pytest.raises(ValidationError):
        ministry.full_clean()


@pytest.mark.parametrize("kind", ["", "chapter"])
def test_full_clean_with_a_missing_or_unknown_kind_is_a_validation_error(tree, kind):
    node = PlanNode(plan=tree.plan, kind=kind, parent=tree.measure, title="未分類")

    with pytest.raises(ValidationError) as caught:
        node.full_clean()
    assert "kind" in caught.value.message_dict


def admin_add_node(client, tree, **fields):
    client.force_login(UserFactory(username="root", role=Role.SECRETARIAT, is_staff=True, is_superuser=True))
    client.raise_request_exception = False
    data = {
        "plan": tree.plan.pk,
        "parent": tree.measure.pk,
        "number": "",
        "position": 0,
        "description": "",
        "control_level": "agency",
        **fields,
    }
    for prefix in ("agency_links", "milestones"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return client.post("/admin/projects/plannode/add/", data)


def test_admin_adds_a_node_with_its_path(tree, client):
    response = admin_add_node(client, tree, kind=NodeKind.SUBPROJECT, title="從後台新增")

    assert response.status_code == 302
    node = PlanNode.objects.get(title="從後台新增")
    assert node.path == f"{path_of(tree.measure)}{node.pk:08d}/"


def test_admin_add_node_without_kind_shows_the_form_again(tree, client):
    response = admin_add_node(client, tree, kind="", title="忘了選種類")

    assert response.status_code == 200  # the form again, with "This field is required." on kind
    assert not PlanNode.objects.filter(title="忘了選種類").exists()
