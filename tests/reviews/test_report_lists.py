"""What the report lists, their counts and filters, and the list of what an agency owes show each role: never a
report the role may not see (the report matrix, test_report_permissions.py, tries each role on one report at a
time; here every role meets reports of every status at once). The reports are filed once for the module: these
tests only read.
"""

import pytest

from reviews.models import ReportStatus
from reviews.periods import Quarter
from tests.support.module_data import data_for_the_module

from . import test_report_permissions
from .factories import report_in_status
from .test_report_permissions import CLIENTS, OWNERS, REPORTS, SCOPE, build_world

# The lead of the sub-unit U, as the report matrix makes it.
unit_lead_client = test_report_permissions.unit_lead_client

# --------------------------------------------------------------------------- lists, counts and filters


def file_every_status(world):
    """For each of A, U and B's sub-projects: 2024Q1 draft, Q2 submitted, Q3 returned, Q4 accepted."""
    statuses = [ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.RETURNED, ReportStatus.ACCEPTED]
    return {
        (owner, status): report_in_status(node=world.nodes[owner], status=status, period=Quarter(2024, number))
        for owner in OWNERS
        for number, status in enumerate(statuses, start=1)
    }


@pytest.fixture(scope="module")
def module_reports(django_db_setup, django_db_blocker):
    """The world and its reports, filed once for the module: its tests only read (tests/support/module_data.py)."""
    with data_for_the_module(django_db_blocker):
        world = build_world()
        yield world, file_every_status(world)


@pytest.fixture
def world(module_reports, db):
    return module_reports[0]


@pytest.fixture
def every_status(module_reports, db):
    return module_reports[1]


@pytest.fixture
def agency(world):
    return world.agency


@pytest.fixture
def unit(world):
    return world.unit


@pytest.fixture
def other_agency(world):
    return world.other_agency


def _expected_ids(every_status, owners_in_scope):
    return {
        report.pk
        for (owner, status), report in every_status.items()
        if status == ReportStatus.ACCEPTED or owner in owners_in_scope
    }


@pytest.mark.parametrize("role", list(SCOPE))
def test_the_list_and_its_count_hold_only_what_the_role_may_see(request, every_status, role):
    client = request.getfixturevalue(CLIENTS[role])

    response = client.get(REPORTS)

    assert response.status_code == 200
    body = response.json()
    expected = _expected_ids(every_status, SCOPE[role])
    assert {row["id"] for row in body["results"]} == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize("role", list(SCOPE))
@pytest.mark.parametrize("status", [s.value for s in ReportStatus])
def test_a_status_filter_never_uncovers_hidden_reports(request, every_status, role, status):
    client = request.getfixturevalue(CLIENTS[role])

    response = client.get(REPORTS, {"status": status})

    assert response.status_code == 200
    expected = {
        report.pk
        for (owner, report_status), report in every_status.items()
        if report_status == status and (status == ReportStatus.ACCEPTED or owner in SCOPE[role])
    }
    assert {row["id"] for row in response.json()["results"]} == expected
    assert response.json()["count"] == len(expected)


def test_a_reader_filtering_on_draft_gets_an_empty_page(reader_client, every_status):
    response = reader_client.get(REPORTS, {"status": "draft"})

    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["results"] == []


def test_lead_a_filtering_on_bs_sub_project_sees_only_its_accepted_report(lead_client, world, every_status):
    response = lead_client.get(REPORTS, {"project": world.nodes["B"].pk})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [every_status[("B", ReportStatus.ACCEPTED)].pk]
    assert response.json()["count"] == 1


def test_lead_of_a_sub_unit_filtering_on_the_ministrys_sub_project_sees_only_accepted(
    unit_lead_client, world, every_status
):
    response = unit_lead_client.get(REPORTS, {"project": world.nodes["A"].pk})

    assert [row["id"] for row in response.json()["results"]] == [every_status[("A", ReportStatus.ACCEPTED)].pk]
    assert response.json()["count"] == 1


@pytest.mark.parametrize("role", list(SCOPE))
@pytest.mark.parametrize(
    "params",
    [
        {"agency": "A"},
        {"agency": "U"},
        {"agency": "B"},
        {"plan": "plan"},
        {"group": "group"},
        {"period": "2024Q1"},
        {"year": "2024"},
        {"late": "true"},
        {"late": "false"},
        {"search": "子計畫"},  # not a filter of this endpoint: must be ignored, not widen anything
        {"status": ["draft", "returned", "submitted"]},
    ],
    ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()),
)
def test_other_filters_only_narrow_what_the_role_sees(request, world, every_status, role, params):
    client = request.getfixturevalue(CLIENTS[role])
    agencies = {"A": world.agency.pk, "U": world.unit.pk, "B": world.other_agency.pk}
    query = {
        name: agencies[value]
        if name == "agency"
        else world.plan.pk
        if value == "plan"
        else world.group.pk
        if value == "group"
        else value
        for name, value in params.items()
    }

    response = client.get(REPORTS, query)

    assert response.status_code == 200
    seen = {row["id"] for row in response.json()["results"]}
    assert seen <= _expected_ids(every_status, SCOPE[role])
    assert response.json()["count"] == len(seen)
    if role == "reader":
        assert all(row["status"] == ReportStatus.ACCEPTED for row in response.json()["results"])


# --------------------------------------------------------------------------- what an agency owes


@pytest.mark.parametrize(
    ("role", "projects"),
    [("lead_a", {"A", "U"}), ("lead_unit", {"U"}), ("lead_b", {"B"})],
)
def test_owed_lists_only_the_leads_own_sub_projects(request, world, every_status, role, projects):
    client = request.getfixturevalue(CLIENTS[role])

    # A lead always gets its own agency, whatever it asks for.
    response = client.get(f"{REPORTS}owed/", {"agency": world.other_agency.pk if role != "lead_b" else world.agency.pk})

    assert response.status_code == 200
    rows = response.json()
    assert {row["project"] for row in rows} == {world.nodes[owner].pk for owner in projects}
    visible = _expected_ids(every_status, SCOPE[role])
    assert {row["report"] for row in rows if row["report"] is not None} <= visible
    # 2024Q1 draft and 2024Q3 returned are still owed; 2024Q2 submitted and 2024Q4 accepted are not.
    owed_2024 = {(row["project"], row["period"], row["status"]) for row in rows if row["period"].startswith("2024")}
    assert owed_2024 == {
        (world.nodes[owner].pk, period, status)
        for owner in projects
        for period, status in (("2024Q1", "draft"), ("2024Q3", "returned"))
    }


def test_owed_for_the_secretariat_covers_the_agency_and_its_sub_units(secretariat_client, world, every_status):
    response = secretariat_client.get(f"{REPORTS}owed/", {"agency": world.agency.pk})

    assert response.status_code == 200
    assert {row["project"] for row in response.json()} == {world.nodes["A"].pk, world.nodes["U"].pk}


def test_owed_needs_sign_in(anonymous_client, world):
    assert anonymous_client.get(f"{REPORTS}owed/", {"agency": world.agency.pk}).status_code == 401


def test_a_reader_cannot_list_what_another_agency_owes(reader_client, world, every_status):
    response = reader_client.get(f"{REPORTS}owed/", {"agency": world.agency.pk})

    # Drafts and returned reports are out of a reader's scope; the owed list is nothing but them.
    assert response.status_code == 403
