"""Traffic lights (紅黃綠燈): a sub-project's light is its worst open or acknowledged lag flag, green when it has
none; the nodes above sub-projects have no light. ``/api/v1/projects/`` shows and filters by it;
``/api/v1/lights/`` rolls red/yellow/green counts up by group, by agency (a sub-unit's sub-projects count
under its ministry) or for the whole plan, each sub-project counted once by its worst light.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import AgencyRole, NodeKind, PlanNode
from reviews.models import FlagResolution, FlagStatus, LagFlag, LagRule, Severity
from reviews.periods import Quarter
from tests.projects.factories import (
    AgencyFactory,
    NodeAgencyFactory,
    NodeFactory,
    PlanFactory,
    SubprojectFactory,
    make_tree,
)
from tests.reviews.factories import LagFlagFactory

PROJECTS = "/api/v1/projects/"
LIGHTS = "/api/v1/lights/"
T0 = datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.UTC)
RULES = list(LagRule.values)


def flag(node, severity, status=FlagStatus.OPEN, *, rule=None, quarter=1):
    """One flag; each call on a node takes the next rule so they never collide on the one-per-rule constraint."""
    rule = rule or RULES[LagFlag.objects.filter(node=node).count()]
    extra = {}
    if status == FlagStatus.RESOLVED:
        extra = {"resolved_at": T0, "resolution": FlagResolution.RESOLVED, "resolution_reason": "已改善"}
    if status == FlagStatus.ACKNOWLEDGED:
        extra = {"acknowledged_at": T0}
    return LagFlagFactory(
        node=node, rule=rule, severity=severity, status=status, period=Quarter(2024, quarter), opened_at=T0, **extra
    )


def subproject(parent, title, lead):
    return SubprojectFactory(parent=parent, title=title, lead_agency=lead)


def light_of(client, node):
    response = client.get(f"{PROJECTS}{node.pk}/")
    assert response.status_code == 200
    return response.json()["light"]


def lights(client, plan, by=None):
    params = {"plan": plan.pk} | ({"by": by} if by else {})
    response = client.get(LIGHTS, params)
    assert response.status_code == 200, response.content
    return response.json()


def counts(row):
    return {key: row[key] for key in ("red", "yellow", "green", "total")}


# --------------------------------------------------------------------------- the light of one sub-project


@pytest.fixture
def tree(agency):
    group, strategy, measure, (sub,) = make_tree(PlanFactory(code="smart-nation"), lead_agency=agency)
    return SimpleNamespace(group=group, strategy=strategy, measure=measure, sub=sub)


def test_a_sub_project_without_flags_is_green_and_the_nodes_above_have_no_light(tree, reader_client):
    rows = {row["id"]: row["light"] for row in reader_client.get(PROJECTS).json()["results"]}

    assert rows == {tree.group.pk: None, tree.strategy.pk: None, tree.measure.pk: None, tree.sub.pk: "green"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], "green"),
        ([("yellow", "open")], "yellow"),
        ([("red", "open")], "red"),
        ([("yellow", "acknowledged")], "yellow"),
        ([("red", "acknowledged")], "red"),
        ([("red", "resolved")], "green"),
        ([("red", "resolved"), ("yellow", "open")], "yellow"),
        ([("yellow", "open"), ("red", "open")], "red"),
        ([("yellow", "open"), ("red", "acknowledged")], "red"),
        ([("yellow", "resolved"), ("yellow", "resolved")], "green"),
    ],
)
def test_the_light_is_the_worst_open_or_acknowledged_flag(tree, role_client, flags, expected):
    for severity, status in flags:
        flag(tree.sub, severity, status)

    assert light_of(role_client, tree.sub) == expected
    (row,) = [row for row in role_client.get(PROJECTS).json()["results"] if row["id"] == tree.sub.pk]
    assert row["light"] == expected


def test_resolving_a_flag_turns_the_light_back(tree, secretariat_client):
    red = flag(tree.sub, Severity.RED)
    assert light_of(secretariat_client, tree.sub) == "red"

    secretariat_client.post(f"/api/v1/flags/{red.pk}/acknowledge/")
    assert light_of(secretariat_client, tree.sub) == "red"

    secretariat_client.post(f"/api/v1/flags/{red.pk}/resolve/", {"reason": "已改善"}, format="json")
    assert light_of(secretariat_client, tree.sub) == "green"


def test_flags_of_other_sub_projects_do_not_colour_this_one(tree, agency, secretariat_client):
    neighbour = subproject(tree.measure, "鄰近子計畫", agency)
    flag(neighbour, Severity.RED)

    assert light_of(secretariat_client, tree.sub) == "green"
    assert light_of(secretariat_client, neighbour) == "red"
    assert light_of(secretariat_client, tree.measure) is None


# --------------------------------------------------------------------------- ?light=


@pytest.fixture
def coloured(tree, agency):
    """Sub-projects of every light, with a resolved red flag on the green one."""
    green = tree.sub
    flag(green, Severity.RED, FlagStatus.RESOLVED)
    yellow = subproject(tree.measure, "黃燈子計畫", agency)
    flag(yellow, Severity.YELLOW, FlagStatus.ACKNOWLEDGED)
    red = subproject(tree.measure, "紅燈子計畫", agency)
    flag(red, Severity.YELLOW)
    flag(red, Severity.RED)
    return SimpleNamespace(green=green, yellow=yellow, red=red, tree=tree)


def _filtered(client, query):
    response = client.get(PROJECTS, query)
    assert response.status_code == 200, response.content
    return {row["id"]: row["light"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"light": "red"}, {"red"}),
        ({"light": "yellow"}, {"yellow"}),
        ({"light": "green"}, {"green"}),
        ({"light": ["red", "yellow"]}, {"red", "yellow"}),
        ({"light": ["red", "yellow", "green"]}, {"red", "yellow", "green"}),
    ],
)
def test_projects_filter_by_light(coloured, reader_client, query, expected):
    found = _filtered(reader_client, query)

    assert found == {getattr(coloured, name).pk: name for name in expected}


def test_light_filter_combines_with_other_filters(coloured, agency, other_agency, secretariat_client):
    assert _filtered(secretariat_client, {"light": "red", "kind": "subproject"}) == {coloured.red.pk: "red"}
    assert _filtered(secretariat_client, {"light": "red", "agency": other_agency.pk}) == {}
    assert _filtered(secretariat_client, {"light": "red", "ancestor": coloured.tree.group.pk}) == {
        coloured.red.pk: "red"
    }


def test_unknown_light_is_400_naming_it(coloured, secretariat_client):
    response = secretariat_client.get(PROJECTS, {"light": "blue"})

    assert response.status_code == 400
    assert "light" in response.json()["errors"]


# --------------------------------------------------------------------------- /api/v1/lights/


@pytest.fixture
def agencies(agency, other_agency):
    """A = 數位發展部 with its sub-unit U; B = 經濟部."""
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    return SimpleNamespace(A=agency, U=unit, B=other_agency)


@pytest.fixture
def plan_world(agencies):
    """Group 1: A red (red + yellow), U yellow, A green (red resolved), B red (acknowledged).
    Group 2: B green, B yellow, B green (yellow resolved)."""
    plan = PlanFactory(code="smart-nation")
    group1, _, measure1, _ = make_tree(plan, subprojects=0, prefix="一")
    group2, _, measure2, _ = make_tree(plan, subprojects=0, prefix="二")
    PlanNode.objects.filter(pk=group1.pk).update(position=1)
    PlanNode.objects.filter(pk=group2.pk).update(position=2)
    a_red = subproject(measure1, "A 紅", agencies.A)
    flag(a_red, Severity.RED)
    flag(a_red, Severity.YELLOW)
    u_yellow = subproject(measure1, "U 黃", agencies.U)
    flag(u_yellow, Severity.YELLOW)
    a_green = subproject(measure1, "A 綠", agencies.A)
    flag(a_green, Severity.RED, FlagStatus.RESOLVED)
    b_red = subproject(measure1, "B 紅", agencies.B)
    flag(b_red, Severity.RED, FlagStatus.ACKNOWLEDGED)
    subproject(measure2, "B 綠", agencies.B)
    b_yellow = subproject(measure2, "B 黃", agencies.B)
    flag(b_yellow, Severity.YELLOW)
    b_green = subproject(measure2, "B 綠二", agencies.B)
    flag(b_green, Severity.YELLOW, FlagStatus.RESOLVED)
    # another plan's flags stay out of this plan's counts
    _, _, _, (elsewhere,) = make_tree(PlanFactory(code="other-plan"), lead_agency=agencies.A, prefix="他")
    flag(elsewhere, Severity.RED)
    return SimpleNamespace(plan=plan, group1=group1, group2=group2, b_yellow=b_yellow, subprojects=7)


def test_lights_for_the_whole_plan(plan_world, reader_client):
    (row,) = lights(reader_client, plan_world.plan, by="plan")

    assert row["id"] == plan_world.plan.pk
    assert row["name"] == plan_world.plan.name
    assert counts(row) == {"red": 2, "yellow": 2, "green": 3, "total": 7}


def test_lights_by_group_is_the_default(plan_world, secretariat_client):
    by_group = lights(secretariat_client, plan_world.plan, by="group")

    assert lights(secretariat_client, plan_world.plan) == by_group
    assert [(row["id"], row["name"]) for row in by_group] == [
        (plan_world.group1.pk, "一數位治理分組"),
        (plan_world.group2.pk, "二數位治理分組"),
    ]
    assert [counts(row) for row in by_group] == [
        {"red": 2, "yellow": 1, "green": 1, "total": 4},
        {"red": 0, "yellow": 1, "green": 2, "total": 3},
    ]


def test_lights_by_group_follow_the_groups_positions(plan_world, secretariat_client):
    PlanNode.objects.filter(pk=plan_world.group1.pk).update(position=3)

    assert [row["id"] for row in lights(secretariat_client, plan_world.plan, by="group")] == [
        plan_world.group2.pk,
        plan_world.group1.pk,
    ]


def test_lights_by_agency_count_a_sub_units_sub_projects_under_its_ministry(plan_world, agencies, lead_client):
    rows = {row["name"]: counts(row) for row in lights(lead_client, plan_world.plan, by="agency")}

    # U's yellow counts under A; U has no row of its own
    assert rows == {
        "數位發展部": {"red": 1, "yellow": 1, "green": 1, "total": 3},
        "經濟部": {"red": 1, "yellow": 1, "green": 2, "total": 4},
    }


def test_a_sub_project_led_by_a_ministry_and_its_sub_unit_counts_once(plan_world, agencies, secretariat_client):
    # given A's red sub-project is led jointly by A and its sub-unit U
    a_red = PlanNode.objects.get(plan=plan_world.plan, title="A 紅")
    NodeAgencyFactory(node=a_red, agency=agencies.U, role=AgencyRole.LEAD)

    rows = {row["name"]: counts(row) for row in lights(secretariat_client, plan_world.plan, by="agency")}

    assert rows["數位發展部"] == {"red": 1, "yellow": 1, "green": 1, "total": 3}


def test_lights_by_agency_count_only_the_sub_projects_an_agency_leads(plan_world, agencies, secretariat_client):
    # given A co-runs B's yellow sub-project
    NodeAgencyFactory(node=plan_world.b_yellow, agency=agencies.A, role=AgencyRole.CO)

    rows = {row["name"]: counts(row) for row in lights(secretariat_client, plan_world.plan, by="agency")}

    # A leads A 紅, A 綠 and (through U) U 黃; it only co-runs B 黃
    assert rows["數位發展部"] == {"red": 1, "yellow": 1, "green": 1, "total": 3}
    assert sum(row["total"] for row in rows.values()) == plan_world.subprojects


def test_lights_by_agency_list_a_ministry_whose_sub_units_alone_lead(plan_world, secretariat_client):
    # given 衛生福利部, which leads nothing itself, and its sub-unit 疾病管制署, which leads a red sub-project
    ministry = AgencyFactory(name="衛生福利部")
    cdc = AgencyFactory(name="衛生福利部疾病管制署", parent=ministry)
    measure = PlanNode.objects.get(plan=plan_world.plan, kind=NodeKind.MEASURE, parent__parent=plan_world.group2)
    flag(subproject(measure, "防疫資料平台", cdc), Severity.RED)

    rows = {row["name"]: counts(row) for row in lights(secretariat_client, plan_world.plan, by="agency")}

    assert rows.get("衛生福利部") == {"red": 1, "yellow": 0, "green": 0, "total": 1}


def test_lights_by_agency_rows_are_the_ministries_in_name_order(plan_world, agencies, secretariat_client):
    rows = lights(secretariat_client, plan_world.plan, by="agency")

    expected = sorted([agencies.A, agencies.B], key=lambda agency: agency.name)
    assert [(row["id"], row["name"]) for row in rows] == [(agency.pk, agency.name) for agency in expected]


@pytest.mark.parametrize("by", ["plan", "group", "agency"])
def test_each_rows_counts_add_up(plan_world, secretariat_client, by):
    for row in lights(secretariat_client, plan_world.plan, by=by):
        assert row["red"] + row["yellow"] + row["green"] == row["total"]
        assert min(row["red"], row["yellow"], row["green"]) >= 0


@pytest.mark.parametrize("by", ["plan", "group", "agency"])
def test_counts_add_up_to_the_plans_sub_projects(plan_world, secretariat_client, by):
    rows = lights(secretariat_client, plan_world.plan, by=by)

    assert sum(row["total"] for row in rows) == plan_world.subprojects
    assert sum(row["red"] for row in rows) == 2
    assert sum(row["yellow"] for row in rows) == 2


def test_a_sub_project_with_red_and_yellow_counts_once_as_red(agency, secretariat_client):
    _, _, _, (sub,) = make_tree(PlanFactory(code="p"), lead_agency=agency)
    flag(sub, Severity.YELLOW)
    flag(sub, Severity.RED)
    flag(sub, Severity.YELLOW, FlagStatus.ACKNOWLEDGED)
    flag(sub, Severity.RED, quarter=2, rule=LagRule.PROGRESS_GAP)

    for by in ("plan", "group", "agency"):
        (row,) = lights(secretariat_client, sub.plan, by=by)
        assert counts(row) == {"red": 1, "yellow": 0, "green": 0, "total": 1}, by


def test_lights_agree_with_the_projects_light(plan_world, secretariat_client):
    rows = secretariat_client.get(PROJECTS, {"plan": plan_world.plan.pk, "kind": "subproject"}).json()["results"]
    (row,) = lights(secretariat_client, plan_world.plan, by="plan")

    for colour in ("red", "yellow", "green"):
        assert row[colour] == sum(1 for project in rows if project["light"] == colour)


def test_lights_of_a_plan_without_sub_projects(secretariat_client):
    plan = PlanFactory(code="empty")
    group = NodeFactory(plan=plan, kind=NodeKind.GROUP, title="空分組")

    assert [counts(row) for row in lights(secretariat_client, plan, by="plan")] == [
        {"red": 0, "yellow": 0, "green": 0, "total": 0}
    ]
    assert [(row["id"], counts(row)) for row in lights(secretariat_client, plan, by="group")] == [
        (group.pk, {"red": 0, "yellow": 0, "green": 0, "total": 0})
    ]
    assert lights(secretariat_client, plan, by="agency") == []


@pytest.mark.parametrize("by", ["", "ministry", "GROUP", "node"])
def test_bad_by_is_400_naming_by(plan_world, secretariat_client, by):
    response = secretariat_client.get(LIGHTS, {"plan": plan_world.plan.pk, "by": by})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["by"]


@pytest.mark.parametrize("plan", [None, "", "abc", "999999", "1.5", "-1"])
def test_missing_or_unknown_plan_is_400_naming_plan(plan_world, secretariat_client, plan):
    response = secretariat_client.get(LIGHTS, {} if plan is None else {"plan": plan})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["plan"]


def test_lights_need_a_signed_in_user(plan_world, anonymous_client):
    assert anonymous_client.get(LIGHTS, {"plan": plan_world.plan.pk}).status_code == 401


@pytest.mark.parametrize("by", ["plan", "group", "agency"])
def test_every_role_sees_the_same_counts(
    plan_world, by, secretariat_client, lead_client, other_lead_client, reader_client
):
    expected = lights(secretariat_client, plan_world.plan, by=by)

    for client in (lead_client, other_lead_client, reader_client):
        assert lights(client, plan_world.plan, by=by) == expected


# --------------------------------------------------------------------------- query counts


def _count_queries(client, path, params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(captured), response


def test_projects_query_count_with_lights_is_the_same_for_1_and_50_rows(
    agency, other_agency, secretariat_client, django_assert_num_queries
):
    # given one red sub-project
    _, _, measure, (first,) = make_tree(PlanFactory(code="p"), lead_agency=agency)
    flag(first, Severity.RED)
    params = {"kind": "subproject"}
    one, response = _count_queries(secretariat_client, PROJECTS, params)
    assert [row["light"] for row in response.json()["results"]] == ["red"]

    # when there are 50, of every light, with lead and co agencies
    for index in range(1, 50):
        node = subproject(measure, f"子計畫 {index}", agency)
        NodeAgencyFactory(node=node, agency=other_agency, role=AgencyRole.CO)
        if index % 3 == 1:
            flag(node, Severity.YELLOW)
        elif index % 3 == 2:
            flag(node, Severity.YELLOW)
            flag(node, Severity.RED, FlagStatus.ACKNOWLEDGED)

    # then
    with django_assert_num_queries(one):
        response = secretariat_client.get(PROJECTS, params)
    rows = response.json()["results"]
    assert len(rows) == 50
    assert {row["light"] for row in rows} == {"red", "yellow", "green"}


def test_projects_query_count_with_the_light_filter_is_the_same_for_1_and_50_rows(
    agency, secretariat_client, django_assert_num_queries
):
    _, _, measure, (first,) = make_tree(PlanFactory(code="p"), lead_agency=agency)
    flag(first, Severity.YELLOW)
    params = {"light": ["yellow", "red"]}
    one, response = _count_queries(secretariat_client, PROJECTS, params)
    assert response.json()["count"] == 1

    for index in range(1, 50):
        flag(subproject(measure, f"子計畫 {index}", agency), Severity.RED if index % 2 else Severity.YELLOW)
    subproject(measure, "綠燈", agency)

    with django_assert_num_queries(one):
        response = secretariat_client.get(PROJECTS, params)
    assert response.json()["count"] == 50
