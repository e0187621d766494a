"""The read API of the plan structure: /api/v1/agencies/, /plans/, /projects/, /milestones/."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_issue
from projects.models import Agency, AgencyRole, Milestone, NodeAgency, NodeKind, Plan, PlanNode
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

PASSWORD = "correct horse battery staple"  # what UserFactory sets

LIST_URLS = ["/api/v1/agencies/", "/api/v1/plans/", "/api/v1/projects/", "/api/v1/milestones/"]


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def assert_json_error(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code
    return body


def link(node, agency, role, position=0):
    return NodeAgencyFactory(node=node, agency=agency, role=role, position=position)


@pytest.fixture
def structure(agency, other_agency):
    """Two plans. In the first: a group convened by the ministry 數位發展部, and below
    its measure a sub-project led by the ministry (co-run by 經濟部), one led by the
    ministry's sub-unit 數位產業署, and under that one a nested sub-project led by
    經濟部 with the sub-unit as co-agency. The second plan belongs to 經濟部 only."""
    ministry = agency
    sub_unit = AgencyFactory(name="數位發展部數位產業署", short_name="數位產業署", parent=ministry)
    plan = PlanFactory(code="smart-nation", name="智慧國家方案", start_year=2021, end_year=2025, secretariat="國發會")
    group, strategy, measure, (sub_ministry, sub_unit_led) = make_tree(plan, subprojects=2)
    group.convening_agency = ministry
    group.save()
    link(sub_ministry, ministry, AgencyRole.LEAD)
    link(sub_ministry, other_agency, AgencyRole.CO)
    link(sub_unit_led, sub_unit, AgencyRole.LEAD)
    nested = SubprojectFactory(
        parent=sub_unit_led, title="資料品質評測工具", lead_agency=other_agency, co_agency=sub_unit
    )

    other_plan = PlanFactory(code="digital-2030", name="數位國家創新經濟發展方案", start_year=2017, end_year=2025)
    o_group, o_strategy, o_measure, (o_sub,) = make_tree(other_plan, lead_agency=other_agency, prefix="其他")
    o_group.convening_agency = other_agency
    o_group.save()
    return SimpleNamespace(
        ministry=ministry,
        sub_unit=sub_unit,
        other_agency=other_agency,
        plan=plan,
        group=group,
        strategy=strategy,
        measure=measure,
        sub_ministry=sub_ministry,
        sub_unit_led=sub_unit_led,
        nested=nested,
        other_plan=other_plan,
        o_group=o_group,
        o_strategy=o_strategy,
        o_measure=o_measure,
        o_sub=o_sub,
    )


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("url", LIST_URLS)
def test_anonymous_gets_401_json(anonymous_client, db, url):
    response = anonymous_client.get(url)

    body = assert_json_error(response, 401, code="not_authenticated")
    assert set(body) == {"detail", "code"}
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_gets_401_json(db, structure):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    response = client.get("/api/v1/projects/")

    assert_json_error(response, 401, code="authentication_failed")


def test_token_auth(db, structure):
    # given
    user = UserFactory(username="api-user", role=Role.READER)
    key = token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    # when
    response = client.get("/api/v1/projects/")

    # then
    assert response.status_code == 200
    assert response.json()["count"] == PlanNode.objects.count()


def test_token_of_inactive_user_is_refused(db, structure):
    user = UserFactory(username="gone", role=Role.READER)
    key = token_issue(user=user)
    user.is_active = False
    user.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert_json_error(client.get("/api/v1/projects/"), 401)


def test_force_login_session_works(db, structure):
    client = APIClient()
    client.force_login(UserFactory(username="browser", role=Role.READER))

    assert client.get("/api/v1/plans/").status_code == 200


# --------------------------------------------------------------------------- agencies


def test_agency_list_and_detail(secretariat_client, structure):
    AgencyAliasFactory(alias="數位部", agency=structure.ministry)
    AgencyAliasFactory(alias="數發部", agency=structure.ministry)

    listing = secretariat_client.get("/api/v1/agencies/")
    detail = secretariat_client.get(f"/api/v1/agencies/{structure.sub_unit.pk}/")
    ministry = secretariat_client.get(f"/api/v1/agencies/{structure.ministry.pk}/")

    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 3
    # ordered by path: the sub-unit right after its ministry
    assert [row["name"] for row in body["results"]] == ["數位發展部", "數位發展部數位產業署", "經濟部"]
    assert detail.status_code == 200
    sub_unit = Agency.objects.get(pk=structure.sub_unit.pk)
    assert detail.json() == {
        "id": sub_unit.pk,
        "name": "數位發展部數位產業署",
        "short_name": "數位產業署",
        "aliases": [],
        "parent": structure.ministry.pk,
        "updated_at": detail.json()["updated_at"],
    }
    assert datetime.datetime.fromisoformat(detail.json()["updated_at"]) == sub_unit.updated_at
    assert ministry.json()["aliases"] == ["數位部", "數發部"]
    assert ministry.json()["parent"] is None


def test_sub_unit_path_is_under_its_ministry(structure):
    ministry = Agency.objects.get(pk=structure.ministry.pk)
    sub_unit = Agency.objects.get(pk=structure.sub_unit.pk)

    assert ministry.path == f"/{ministry.pk:08d}/"
    assert sub_unit.path == f"{ministry.path}{sub_unit.pk:08d}/"
    assert set(Agency.objects.subtree_of(ministry)) == {ministry, sub_unit}


@pytest.mark.parametrize("term", ["數發部", "數發", "數位產業署", "產業", "經濟"])
def test_agency_search_by_name_short_name_or_alias(secretariat_client, structure, term):
    AgencyAliasFactory(alias="數發部", agency=structure.ministry)
    expected = {
        "數發部": {structure.ministry.pk},
        "數發": {structure.ministry.pk},
        "數位產業署": {structure.sub_unit.pk},
        "產業": {structure.sub_unit.pk},
        "經濟": {structure.other_agency.pk},
    }[term]

    assert ids(secretariat_client.get("/api/v1/agencies/", {"search": term})) == expected


def test_agency_search_with_several_matching_aliases_lists_the_agency_once(secretariat_client, structure):
    AgencyAliasFactory(alias="數位部", agency=structure.ministry)
    AgencyAliasFactory(alias="數發部", agency=structure.ministry)

    response = secretariat_client.get("/api/v1/agencies/", {"search": "部"})

    rows = [row["id"] for row in response.json()["results"]]
    assert len(rows) == len(set(rows))
    assert response.json()["count"] == len(rows)


def test_agency_filter_by_parent(secretariat_client, structure):
    assert ids(secretariat_client.get("/api/v1/agencies/", {"parent": structure.ministry.pk})) == {
        structure.sub_unit.pk
    }
    response = secretariat_client.get("/api/v1/agencies/", {"parent": 999999})
    assert assert_json_error(response, 400)["errors"].keys() == {"parent"}


# --------------------------------------------------------------------------- plans


def test_plan_list_and_detail(secretariat_client, structure):
    listing = secretariat_client.get("/api/v1/plans/")
    detail = secretariat_client.get(f"/api/v1/plans/{structure.plan.pk}/")

    # ordered by -start_year
    assert [row["code"] for row in listing.json()["results"]] == ["smart-nation", "digital-2030"]
    plan = Plan.objects.get(pk=structure.plan.pk)
    body = detail.json()
    assert body == {
        "id": plan.pk,
        "code": "smart-nation",
        "name": "智慧國家方案",
        "start_year": 2021,
        "end_year": 2025,
        "secretariat": "國發會",
        "report_due_days": 10,
        "updated_at": body["updated_at"],
    }
    assert datetime.datetime.fromisoformat(body["updated_at"]) == plan.updated_at


def test_plan_filter_by_code(secretariat_client, structure):
    assert ids(secretariat_client.get("/api/v1/plans/", {"code": "digital-2030"})) == {structure.other_plan.pk}


# --------------------------------------------------------------------------- projects


def test_project_detail_fields(secretariat_client, structure):
    response = secretariat_client.get(f"/api/v1/projects/{structure.sub_ministry.pk}/")

    assert response.status_code == 200
    node = PlanNode.objects.get(pk=structure.sub_ministry.pk)
    body = response.json()
    assert body == {
        "id": node.pk,
        "plan": structure.plan.pk,
        "parent": structure.measure.pk,
        "kind": "subproject",
        "number": "",
        "position": 0,
        "title": "子計畫 0",
        "description": "",
        "convening_agency": None,
        "lead_agencies": [{"id": structure.ministry.pk, "name": "數位發展部", "short_name": "數位部"}],
        "co_agencies": [{"id": structure.other_agency.pk, "name": "經濟部", "short_name": ""}],
        "start_date": "2021-01-01",
        "end_date": "2025-12-31",
        "budget": "1000000",
        "control_level": "agency",
        "light": "green",
        # never revised: the original plan is the current one, version 1
        "baseline": {
            "version": 1,
            "original": {"start_date": "2021-01-01", "end_date": "2025-12-31"},
            "current": {"start_date": "2021-01-01", "end_date": "2025-12-31"},
        },
        "updated_at": body["updated_at"],
    }
    assert datetime.datetime.fromisoformat(body["updated_at"]) == node.updated_at


def test_group_detail_shows_convening_agency(secretariat_client, structure):
    body = secretariat_client.get(f"/api/v1/projects/{structure.group.pk}/").json()

    assert body["kind"] == "group"
    assert body["parent"] is None
    assert body["convening_agency"] == {"id": structure.ministry.pk, "name": "數位發展部", "short_name": "數位部"}
    assert body["lead_agencies"] == [] and body["co_agencies"] == []
    assert body["budget"] is None and body["start_date"] is None


def test_lead_agencies_keep_their_position(secretariat_client, structure):
    third = AgencyFactory(name="內政部")
    link(structure.o_sub, third, AgencyRole.LEAD, position=1)
    NodeAgency.objects.filter(node=structure.o_sub, agency=structure.other_agency).update(position=2)

    body = secretariat_client.get(f"/api/v1/projects/{structure.o_sub.pk}/").json()

    assert [a["name"] for a in body["lead_agencies"]] == ["內政部", "經濟部"]


def test_an_agency_shared_by_a_page_s_rows_is_read_once_and_written_alike(secretariat_client, structure):
    # given 經濟部 leading one sub-project and co-running two others on one page
    rows = {row["id"]: row for row in secretariat_client.get("/api/v1/projects/", {"page_size": 50}).json()["results"]}

    # then every row names it the same, in its own role
    expected = {"id": structure.other_agency.pk, "name": "經濟部", "short_name": structure.other_agency.short_name}
    assert rows[structure.sub_ministry.pk]["co_agencies"] == [expected]
    assert rows[structure.nested.pk]["lead_agencies"] == [expected]
    assert rows[structure.nested.pk]["co_agencies"] == [
        {"id": structure.sub_unit.pk, "name": "數位發展部數位產業署", "short_name": "數位產業署"}
    ]
    assert rows[structure.o_sub.pk]["lead_agencies"] == [expected]
    assert rows[structure.group.pk]["lead_agencies"] == rows[structure.group.pk]["co_agencies"] == []


@pytest.mark.parametrize(
    "query", [{"light": "red"}, {"kind": "group"}, {"updated_since": "2999-01-01T00:00:00Z"}, {"search": "沒有這個"}]
)
def test_a_detail_read_ignores_the_list_s_filters(secretariat_client, structure, query):
    # filters choose rows of a list; a detail route finds its object in the caller's scope alone
    response = secretariat_client.get(f"/api/v1/projects/{structure.sub_ministry.pk}/", query)

    assert response.status_code == 200
    assert response.json()["id"] == structure.sub_ministry.pk
    # while the same filters still apply to the list
    listed = ids(secretariat_client.get("/api/v1/projects/", {**query, "page_size": 50}))
    assert structure.sub_ministry.pk not in listed


def test_project_list_is_the_whole_tree_in_outline_order(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/")

    body = response.json()
    assert body["count"] == 10
    first_plan = [row["id"] for row in body["results"] if row["plan"] == structure.plan.pk]
    assert first_plan == [
        structure.group.pk,
        structure.strategy.pk,
        structure.measure.pk,
        structure.sub_ministry.pk,
        structure.sub_unit_led.pk,
        structure.nested.pk,
    ]


def test_project_filter_plan(secretariat_client, structure):
    assert ids(secretariat_client.get("/api/v1/projects/", {"plan": structure.other_plan.pk})) == {
        structure.o_group.pk,
        structure.o_strategy.pk,
        structure.o_measure.pk,
        structure.o_sub.pk,
    }


def test_project_filter_parent(secretariat_client, structure):
    assert ids(secretariat_client.get("/api/v1/projects/", {"parent": structure.measure.pk})) == {
        structure.sub_ministry.pk,
        structure.sub_unit_led.pk,
    }


def test_project_filter_ancestor_is_the_subtree_without_the_node(secretariat_client, structure):
    assert ids(secretariat_client.get("/api/v1/projects/", {"ancestor": structure.strategy.pk})) == {
        structure.measure.pk,
        structure.sub_ministry.pk,
        structure.sub_unit_led.pk,
        structure.nested.pk,
    }
    assert ids(secretariat_client.get("/api/v1/projects/", {"ancestor": structure.nested.pk})) == set()


def test_project_filter_kind_single_and_multiple(secretariat_client, structure):
    groups = secretariat_client.get("/api/v1/projects/", {"kind": "group"})
    mixed = secretariat_client.get("/api/v1/projects/?kind=strategy&kind=measure")

    assert ids(groups) == {structure.group.pk, structure.o_group.pk}
    assert ids(mixed) == {structure.strategy.pk, structure.measure.pk, structure.o_strategy.pk, structure.o_measure.pk}


def test_project_filter_agency_includes_sub_units_and_convened_groups(secretariat_client, structure):
    # when
    response = secretariat_client.get("/api/v1/projects/", {"agency": structure.ministry.pk})

    # then: led by the ministry, led by its sub-unit, co-run by its sub-unit, convened by it
    assert ids(response) == {
        structure.sub_ministry.pk,
        structure.sub_unit_led.pk,
        structure.nested.pk,
        structure.group.pk,
    }


def test_project_filter_agency_sub_unit_does_not_reach_up_to_its_ministry(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/", {"agency": structure.sub_unit.pk})

    assert ids(response) == {structure.sub_unit_led.pk, structure.nested.pk}


def test_project_filter_agency_other_agency_across_plans(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/", {"agency": structure.other_agency.pk})

    assert ids(response) == {structure.sub_ministry.pk, structure.nested.pk, structure.o_sub.pk, structure.o_group.pk}


@pytest.mark.parametrize(
    ("agency_attr", "role", "expected"),
    [
        ("ministry", "lead", {"sub_ministry", "sub_unit_led"}),
        ("ministry", "co", {"nested"}),
        ("sub_unit", "lead", {"sub_unit_led"}),
        ("sub_unit", "co", {"nested"}),
        ("other_agency", "lead", {"nested", "o_sub"}),
        ("other_agency", "co", {"sub_ministry"}),
    ],
)
def test_project_filter_agency_role(secretariat_client, structure, agency_attr, role, expected):
    agency = getattr(structure, agency_attr)

    response = secretariat_client.get("/api/v1/projects/", {"agency": agency.pk, "agency_role": role})

    # a role narrows to the links of that role: convened groups drop out
    assert ids(response) == {getattr(structure, name).pk for name in expected}


def test_project_filter_agency_and_kind_combine(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/", {"agency": structure.ministry.pk, "kind": "group"})

    assert ids(response) == {structure.group.pk}


def test_project_filter_agency_result_has_agencies_serialized(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/", {"agency": structure.sub_unit.pk})

    rows = {row["id"]: row for row in response.json()["results"]}
    assert [a["id"] for a in rows[structure.nested.pk]["lead_agencies"]] == [structure.other_agency.pk]
    assert [a["id"] for a in rows[structure.nested.pk]["co_agencies"]] == [structure.sub_unit.pk]


def test_project_filter_search_on_titles(secretariat_client, structure):
    assert ids(secretariat_client.get("/api/v1/projects/", {"search": "評測"})) == {structure.nested.pk}
    # 建構資料治理生態系 in both plans; the group 數位治理分組 does not contain 資料治理
    assert ids(secretariat_client.get("/api/v1/projects/", {"search": "資料治理"})) == {
        structure.strategy.pk,
        structure.o_strategy.pk,
    }


def test_project_filter_search_is_case_insensitive(secretariat_client, structure):
    NodeFactory(plan=structure.plan, kind=NodeKind.GROUP, title="AI Taiwan 分組")

    response = secretariat_client.get("/api/v1/projects/", {"search": "ai taiwan"})

    assert [row["title"] for row in response.json()["results"]] == ["AI Taiwan 分組"]


def test_project_filter_updated_since(secretariat_client, structure):
    # given: everything last changed on 2024-01-01, one sub-project on 2024-06-01 03:00 UTC
    PlanNode.objects.update(updated_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    PlanNode.objects.filter(pk=structure.nested.pk).update(
        updated_at=datetime.datetime(2024, 6, 1, 3, 0, tzinfo=datetime.UTC)
    )

    # when / then: the bound is inclusive and the offset is honoured
    assert ids(secretariat_client.get("/api/v1/projects/", {"updated_since": "2024-06-01T03:00:00Z"})) == {
        structure.nested.pk
    }
    assert ids(secretariat_client.get("/api/v1/projects/", {"updated_since": "2024-06-01T11:00:00+08:00"})) == {
        structure.nested.pk
    }
    assert ids(secretariat_client.get("/api/v1/projects/", {"updated_since": "2024-06-01T03:00:01Z"})) == set()
    assert len(ids(secretariat_client.get("/api/v1/projects/", {"updated_since": "2023-12-31T00:00:00Z"}))) == 10


def test_project_updated_since_invalid_gives_400_naming_the_field(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/", {"updated_since": "yesterday"})

    body = assert_json_error(response, 400, code="invalid")
    assert list(body["errors"]) == ["updated_since"]
    assert body["errors"]["updated_since"] and isinstance(body["errors"]["updated_since"][0], str)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"plan": "999999"}, "plan"),
        ({"plan": "abc"}, "plan"),
        ({"parent": "999999"}, "parent"),
        ({"ancestor": "999999"}, "ancestor"),
        ({"agency": "999999"}, "agency"),
        ({"agency_role": "boss"}, "agency_role"),
    ],
)
def test_project_invalid_filter_value_gives_400(secretariat_client, structure, params, field):
    response = secretariat_client.get("/api/v1/projects/", params)

    body = assert_json_error(response, 400)
    assert set(body["errors"]) == {field}


def test_project_kind_bogus_among_valid_ones_is_still_400(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/?kind=group&kind=bogus")

    assert "kind" in assert_json_error(response, 400)["errors"]


# --------------------------------------------------------------------------- milestones


@pytest.fixture
def milestones(structure):
    return SimpleNamespace(
        done=MilestoneFactory(
            node=structure.sub_ministry,
            title="完成資料盤點",
            planned_date=datetime.date(2024, 3, 31),
            completed_on=datetime.date(2024, 3, 20),
            weight=Decimal("30"),
        ),
        critical=MilestoneFactory(
            node=structure.sub_ministry,
            title="上線",
            planned_date=datetime.date(2024, 12, 31),
            forecast_date=datetime.date(2025, 2, 28),
            weight=Decimal("70"),
            is_critical=True,
        ),
        nested=MilestoneFactory(node=structure.nested, title="工具發布", planned_date=datetime.date(2024, 6, 30)),
        other=MilestoneFactory(
            node=structure.o_sub, title="其他方案查核點", planned_date=datetime.date(2025, 6, 30), is_critical=True
        ),
    )


def test_milestone_list_and_detail(secretariat_client, milestones):
    listing = secretariat_client.get("/api/v1/milestones/")
    detail = secretariat_client.get(f"/api/v1/milestones/{milestones.critical.pk}/")

    assert listing.json()["count"] == 4
    assert ids(listing) == {m.pk for m in vars(milestones).values()}
    milestone = Milestone.objects.get(pk=milestones.critical.pk)
    body = detail.json()
    assert body == {
        "id": milestone.pk,
        "project": milestone.node_id,
        "title": "上線",
        "planned_date": "2024-12-31",
        "forecast_date": "2025-02-28",
        "completed_on": None,
        "weight": "70.00",
        "is_critical": True,
        "baseline": {
            "version": 1,
            "original": {"planned_date": "2024-12-31", "weight": "70.00"},
            "current": {"planned_date": "2024-12-31", "weight": "70.00"},
        },
        "updated_at": body["updated_at"],
    }
    assert datetime.datetime.fromisoformat(body["updated_at"]) == milestone.updated_at


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"is_critical": "true"}, {"critical", "other"}),
        ({"is_critical": "false"}, {"done", "nested"}),
        ({"completed": "true"}, {"done"}),
        ({"completed": "false"}, {"critical", "nested", "other"}),
        ({"planned_before": "2024-06-30"}, {"done", "nested"}),
        ({"planned_after": "2024-06-30"}, {"nested", "critical", "other"}),
        ({"planned_after": "2024-04-01", "planned_before": "2024-12-31"}, {"nested", "critical"}),
        ({"planned_after": "113/4/1", "planned_before": "民國113年12月31日"}, {"nested", "critical"}),
        ({"planned_before": "１１３／０６／３０"}, {"done", "nested"}),
        ({"is_critical": "true", "completed": "false", "planned_before": "2024-12-31"}, {"critical"}),
    ],
)
def test_milestone_filters(secretariat_client, milestones, params, expected):
    response = secretariat_client.get("/api/v1/milestones/", params)

    assert ids(response) == {getattr(milestones, name).pk for name in expected}


def test_milestone_filter_project_and_plan(secretariat_client, structure, milestones):
    by_project = secretariat_client.get("/api/v1/milestones/", {"project": structure.sub_ministry.pk})
    by_plan = secretariat_client.get("/api/v1/milestones/", {"plan": structure.plan.pk})
    by_other_plan = secretariat_client.get("/api/v1/milestones/", {"plan": structure.other_plan.pk})

    assert ids(by_project) == {milestones.done.pk, milestones.critical.pk}
    assert ids(by_plan) == {milestones.done.pk, milestones.critical.pk, milestones.nested.pk}
    assert ids(by_other_plan) == {milestones.other.pk}


@pytest.mark.parametrize(("language", "text"), [("en", "Write the date as"), ("zh-Hant", "日期請寫成")])
def test_a_bad_date_filter_is_refused_naming_it_with_every_form(secretariat_client, milestones, language, text):
    response = secretariat_client.get(
        "/api/v1/milestones/", {"planned_after": "113/13/01"}, HTTP_ACCEPT_LANGUAGE=language
    )

    message = assert_json_error(response, 400)["errors"]["planned_after"][0]
    assert text in message
    assert all(form in message for form in ("2024-07-01", "113/07/01", "113/7/1", "民國113年7月1日"))


def test_milestone_filter_project_must_be_a_sub_project(secretariat_client, structure, milestones):
    response = secretariat_client.get("/api/v1/milestones/", {"project": structure.measure.pk})

    assert set(assert_json_error(response, 400)["errors"]) == {"project"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"planned_before": "2024-13-01"}, "planned_before"), ({"updated_since": "soon"}, "updated_since")],
)
def test_milestone_invalid_filter_gives_400(secretariat_client, milestones, params, field):
    response = secretariat_client.get("/api/v1/milestones/", params)

    assert set(assert_json_error(response, 400)["errors"]) == {field}


@pytest.mark.parametrize(
    ("value", "expected"), [("1", {"critical", "other"}), ("0", {"done", "nested"}), ("True", {"critical", "other"})]
)
def test_milestone_boolean_filter_accepts_1_0_and_any_case(secretariat_client, milestones, value, expected):
    response = secretariat_client.get("/api/v1/milestones/", {"is_critical": value})

    assert ids(response) == {getattr(milestones, name).pk for name in expected}


@pytest.mark.parametrize("field", ["is_critical", "completed"])
def test_milestone_boolean_filter_bogus_value_is_400(secretariat_client, milestones, field):
    # an unreadable boolean must not silently drop the filter and return every milestone
    response = secretariat_client.get("/api/v1/milestones/", {field: "bogus"})

    assert set(assert_json_error(response, 400)["errors"]) == {field}


# --------------------------------------------------------------------------- pagination and errors


def test_page_size_parameter_and_next_link(secretariat_client, structure):
    response = secretariat_client.get("/api/v1/projects/", {"page_size": 2})

    body = response.json()
    assert body["count"] == 10
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"] and "page_size=2" in body["next"]
    second = secretariat_client.get(body["next"]).json()
    assert len(second["results"]) == 2
    assert {row["id"] for row in second["results"]}.isdisjoint(row["id"] for row in body["results"])


def test_default_page_size_is_50(secretariat_client, db):
    Plan.objects.bulk_create(Plan(code=f"p{i}", name="x", start_year=2020, end_year=2021) for i in range(51))

    body = secretariat_client.get("/api/v1/plans/").json()

    assert body["count"] == 51
    assert len(body["results"]) == 50
    assert body["next"] is not None


def test_page_size_is_capped_at_500(secretariat_client, db):
    Plan.objects.bulk_create(Plan(code=f"p{i}", name="x", start_year=2020, end_year=2021) for i in range(501))

    body = secretariat_client.get("/api/v1/plans/", {"page_size": 1000}).json()

    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_page_out_of_range_is_404_json(secretariat_client, structure):
    assert_json_error(secretariat_client.get("/api/v1/projects/", {"page": 99}), 404)


@pytest.mark.parametrize("url", LIST_URLS)
@pytest.mark.parametrize("pk", ["999999", "abc"])
def test_missing_id_is_404_json(secretariat_client, milestones, url, pk):
    response = secretariat_client.get(f"{url}{pk}/")

    body = assert_json_error(response, 404, code="not_found")
    assert set(body) == {"detail", "code"}


@pytest.mark.parametrize("url", LIST_URLS)
def test_read_only_endpoints_refuse_writes(secretariat_client, milestones, url):
    assert_json_error(secretariat_client.post(url, {}, format="json"), 405)


# --------------------------------------------------------------------------- schema, docs, health


def test_openapi_schema_is_valid_and_lists_every_resource(secretariat_client, db):
    response = secretariat_client.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document
    for resource in ["agencies", "plans", "projects", "milestones"]:
        assert f"/api/v1/{resource}/" in schema["paths"]
        assert f"/api/v1/{resource}/{{id}}/" in schema["paths"]
        assert set(schema["paths"][f"/api/v1/{resource}/"]) == {"get"}
    project_params = {p["name"] for p in schema["paths"]["/api/v1/projects/"]["get"]["parameters"]}
    assert {"plan", "parent", "ancestor", "kind", "agency", "agency_role", "search", "updated_since"} <= project_params
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_docs_page_for_a_signed_in_user(db):
    client = APIClient()
    client.force_login(UserFactory(username="doc-reader", role=Role.READER))

    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
    assert b"/api/v1/schema/" in response.content


def test_healthz(anonymous_client, db):
    response = anonymous_client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --------------------------------------------------------------------------- query counts


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def test_agency_list_query_count(secretariat_client, django_assert_num_queries):
    # given one agency with an alias
    ministry = AgencyFactory(name="部0")
    AgencyAliasFactory(alias="別名0", agency=ministry)
    one, response = _count_queries(secretariat_client, "/api/v1/agencies/")
    assert response.json()["count"] == 1

    # when 49 sub-units with aliases are added
    for i in range(1, 50):
        unit = AgencyFactory(name=f"部0署{i}", parent=ministry)
        AgencyAliasFactory(alias=f"別名{i}", agency=unit)

    # then
    with django_assert_num_queries(one):
        response = secretariat_client.get("/api/v1/agencies/")
    assert len(response.json()["results"]) == 50
    assert all(len(row["aliases"]) == 1 for row in response.json()["results"])


def test_plan_list_query_count(secretariat_client, django_assert_num_queries):
    PlanFactory()
    one, response = _count_queries(secretariat_client, "/api/v1/plans/")
    assert response.json()["count"] == 1

    for _ in range(49):
        PlanFactory()

    with django_assert_num_queries(one):
        response = secretariat_client.get("/api/v1/plans/")
    assert len(response.json()["results"]) == 50


def _group_with_agencies(plan, index):
    convener = AgencyFactory(name=f"召集機關{index}")
    group = NodeFactory(plan=plan, kind=NodeKind.GROUP, title=f"分組 {index}", convening_agency=convener)
    link(group, AgencyFactory(name=f"主辦機關{index}"), AgencyRole.LEAD)
    link(group, AgencyFactory(name=f"協辦機關{index}"), AgencyRole.CO)
    return group


def test_project_list_query_count(secretariat_client, django_assert_num_queries):
    # given one node with a convening, a lead and a co agency
    plan = PlanFactory()
    _group_with_agencies(plan, 0)
    one, response = _count_queries(secretariat_client, "/api/v1/projects/")
    assert response.json()["count"] == 1

    # when there are 50 such nodes, in two plans
    other_plan = PlanFactory()
    for index in range(1, 50):
        _group_with_agencies(plan if index % 2 else other_plan, index)

    # then
    with django_assert_num_queries(one):
        response = secretariat_client.get("/api/v1/projects/")
    rows = response.json()["results"]
    assert len(rows) == 50
    assert all(row["convening_agency"] and row["lead_agencies"] and row["co_agencies"] for row in rows)


def test_nodes_streamed_in_chunks_read_their_agency_links_once_a_chunk(structure):
    # given the first plan's six nodes, streamed four at a time as an export streams them (chunks of 4 and 2)
    nodes = PlanNode.objects.filter(plan=structure.plan).order_by("pk").with_agency_links()
    with CaptureQueriesContext(connection) as queries:
        streamed = list(nodes.iterator(chunk_size=4))

    # then each chunk read its links in one query, and every node has its own, in role and position order
    assert len([q for q in queries.captured_queries if "projects_nodeagency" in q["sql"]]) == 2
    expected = {node.pk: [(link.role, link.agency_id) for link in node.agency_links.all()] for node in nodes}
    assert {node.pk: [(link.role, link.agency.pk) for link in node.agency_link_list] for node in streamed} == expected
    assert expected[structure.nested.pk] == [
        (AgencyRole.CO, structure.sub_unit.pk),
        (AgencyRole.LEAD, structure.other_agency.pk),
    ]


def test_project_list_filtered_by_agency_query_count(secretariat_client, django_assert_num_queries):
    ministry = AgencyFactory(name="母機關")
    plan = PlanFactory()
    _, _, measure, _ = make_tree(plan, subprojects=0)

    def add_subproject(index):
        unit = AgencyFactory(name=f"母機關署{index}", parent=ministry)
        sub = SubprojectFactory(parent=measure, title=f"子計畫 {index}")
        link(sub, unit, AgencyRole.LEAD)
        link(sub, AgencyFactory(name=f"協辦{index}"), AgencyRole.CO)

    add_subproject(0)
    url = f"/api/v1/projects/?agency={ministry.pk}"
    one, response = _count_queries(secretariat_client, url)
    assert response.json()["count"] == 1

    for index in range(1, 50):
        add_subproject(index)

    with django_assert_num_queries(one):
        response = secretariat_client.get(url)
    assert len(response.json()["results"]) == 50


def test_milestone_list_query_count(secretariat_client, django_assert_num_queries):
    _, _, _, subs = make_tree(subprojects=50)
    MilestoneFactory(node=subs[0])
    one, response = _count_queries(secretariat_client, "/api/v1/milestones/")
    assert response.json()["count"] == 1

    for sub in subs[1:]:
        MilestoneFactory(node=sub)

    with django_assert_num_queries(one):
        response = secretariat_client.get("/api/v1/milestones/")
    assert len(response.json()["results"]) == 50
    assert len({row["project"] for row in response.json()["results"]}) == 50


def test_list_query_count_is_small(secretariat_client, structure, milestones):
    # A token lookup, a count and a page (plus one prefetch where there is one; the page's baselines, for
    # sub-projects and milestones, in one query whatever its size).
    expected = {"/api/v1/agencies/": 4, "/api/v1/plans/": 3, "/api/v1/projects/": 5, "/api/v1/milestones/": 4}
    for url, count in expected.items():
        queries, _ = _count_queries(secretariat_client, url)
        assert queries == count, url


def test_timestamps_are_rendered_in_taipei_time(secretariat_client, structure):
    Plan.objects.filter(pk=structure.plan.pk).update(
        updated_at=datetime.datetime(2024, 6, 1, 3, 0, tzinfo=datetime.UTC)
    )

    body = secretariat_client.get(f"/api/v1/plans/{structure.plan.pk}/").json()

    assert body["updated_at"] == "2024-06-01T11:00:00+08:00"
    assert timezone.get_current_timezone_name() == "Asia/Taipei"


def test_docs_page_serves_its_scripts_itself(reader_client):
    """No CDN: the docs work on a network that reaches only GSTP."""
    page = reader_client.get("/api/v1/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page
