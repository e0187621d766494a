"""Who may see and do what with a quarterly report, over the API.

The spec: anything out of scope is 404 (the same answer as "does not exist"); a visible object and a
forbidden action is 403; a visible object, a permitted actor and a transition the status does not allow is
409. A lead sees and edits the reports of the sub-projects its agency, or one of its sub-units, leads (so the
lead of a ministry sees its sub-units' sub-projects, and the lead of a sub-unit does NOT see the ministry's),
and alone submits and withdraws them; a ministry reviewer sees the reports of its ministry's sub-projects
(its sub-units' included) and alone endorses or returns them while they wait for the ministry; the
secretariat sees everything, never edits content, and alone accepts, returns what waits for it and reopens;
every signed-in user sees accepted reports; drafts, submitted, endorsed and returned reports never leak
through lists, counts or filters. The plan here asks for the ministry's endorsement.
"""

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from accounts.services import token_issue
from projects.models import AgencyRole
from reviews.models import QuarterlyReport, ReportEvent, ReportKind, ReportStatus, period_condition
from reviews.periods import Month, Quarter, quarters_between
from tests.accounts.factories import lead_user
from tests.projects.factories import (
    AgencyFactory,
    NodeAgencyFactory,
    PlanFactory,
    SubprojectFactory,
    make_tree,
)
from tests.support.module_data import data_for_the_module

from .factories import LagSettingsFactory, QuarterlyReportFactory, of_kind, report_in_status

REPORTS = "/api/v1/reports/"
NOT_FILED_PERIOD = "2024Q2"  # the factories file 2024Q1 unless told otherwise


@pytest.fixture
def unit_lead_client(unit):
    user = lead_user(unit, "unit-lead")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    client.user = user
    return client


def build_world():
    """One plan whose reports the ministries endorse, with three sub-projects: led by A (數位發展部, a ministry, as
    tests/conftest.py's ``agency``), by U (數位產業署, a sub-unit of A), by B (經濟部, another ministry)."""
    agency = AgencyFactory(name="數位發展部", short_name="數位部")
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    other_agency = AgencyFactory(name="經濟部")
    plan = PlanFactory(code="smart-nation")
    LagSettingsFactory(plan=plan, endorsement_required=True)
    group, _strategy, measure, (led_by_a,) = make_tree(plan, lead_agency=agency)
    dates = {"start_date": led_by_a.start_date, "end_date": led_by_a.end_date}
    led_by_unit = SubprojectFactory(parent=measure, title="數位產業署的子計畫", lead_agency=unit, **dates)
    led_by_b = SubprojectFactory(parent=measure, title="經濟部的子計畫", lead_agency=other_agency, **dates)
    return SimpleNamespace(
        plan=plan,
        group=group,
        agency=agency,
        unit=unit,
        other_agency=other_agency,
        nodes={"A": led_by_a, "U": led_by_unit, "B": led_by_b},
    )


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """The world, built once for the module: no report in it, each test files its own (tests/support/module_data.py
    rolls back what a test writes)."""
    with data_for_the_module(django_db_blocker):
        yield build_world()


@pytest.fixture
def world(module_world, db, report_kind):
    """The world, its sub-projects filing quarterly reports or (``report_kind``) monthly updates: in each period
    the matrix names by its quarter (``world.period``), the update of the quarter's first month."""
    for node in module_world.nodes.values():
        of_kind(node, report_kind)
    monthly = report_kind == ReportKind.MONTHLY
    return SimpleNamespace(
        **vars(module_world),
        period=lambda quarter: Month(quarter.year, quarter.quarter * 3 - 2) if monthly else quarter,
    )


@pytest.fixture
def agency(world):
    return world.agency


@pytest.fixture
def unit(world):
    """A sub-unit (署) of agency A, 數位發展部."""
    return world.unit


@pytest.fixture
def other_agency(world):
    return world.other_agency


CLIENTS = {
    "anonymous": "anonymous_client",
    "secretariat": "secretariat_client",
    "lead_a": "lead_client",
    "lead_unit": "unit_lead_client",
    "lead_b": "other_lead_client",
    "reviewer_a": "reviewer_client",
    "reviewer_b": "other_reviewer_client",
    "reader": "reader_client",
}
OWNERS = ("A", "U", "B")
# Whose reports, besides accepted ones, each signed-in role sees.
SCOPE = {
    "secretariat": {"A", "U", "B"},
    "lead_a": {"A", "U"},
    "lead_unit": {"U"},
    "lead_b": {"B"},
    "reviewer_a": {"A", "U"},
    "reviewer_b": {"B"},
    "reader": set(),
}

# --------------------------------------------------------------------------- the matrix
#
# Rows: endpoint and the report's status. Columns: role, then the agency leading the report's sub-project
# (A = 數位發展部, U = its sub-unit 數位產業署, B = 經濟部). For `list`, "yes"/"no" is a 200 that does or does not
# contain the report. `create` files a report for a quarter that has none yet.
EXPECTED = """
#                  anonymous     secretariat   lead_a        lead_unit     lead_b        reviewer_a    reviewer_b    reader
#                  A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B
list     draft     401 401 401   yes yes yes   yes yes no    no  yes no    no  no  yes   yes yes no    no  no  yes   no  no  no
list     submitted 401 401 401   yes yes yes   yes yes no    no  yes no    no  no  yes   yes yes no    no  no  yes   no  no  no
list     endorsed  401 401 401   yes yes yes   yes yes no    no  yes no    no  no  yes   yes yes no    no  no  yes   no  no  no
list     returned  401 401 401   yes yes yes   yes yes no    no  yes no    no  no  yes   yes yes no    no  no  yes   no  no  no
list     accepted  401 401 401   yes yes yes   yes yes yes   yes yes yes   yes yes yes   yes yes yes   yes yes yes   yes yes yes

detail   draft     401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
detail   submitted 401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
detail   endorsed  401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
detail   returned  401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
detail   accepted  401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200

history  draft     401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
history  submitted 401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
history  endorsed  401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
history  returned  401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404
history  accepted  401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404

patch    draft     401 401 401   403 403 403   200 200 404   404 200 404   404 404 200   403 403 404   404 404 403   404 404 404
patch    submitted 401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
patch    endorsed  401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
patch    returned  401 401 401   403 403 403   200 200 404   404 200 404   404 404 200   403 403 404   404 404 403   404 404 404
patch    accepted  401 401 401   403 403 403   409 409 403   403 409 403   403 403 409   403 403 403   403 403 403   403 403 403

submit   draft     401 401 401   403 403 403   200 200 404   404 200 404   404 404 200   403 403 404   404 404 403   404 404 404
submit   submitted 401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
submit   endorsed  401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
submit   returned  401 401 401   403 403 403   200 200 404   404 200 404   404 404 200   403 403 404   404 404 403   404 404 404
submit   accepted  401 401 401   403 403 403   409 409 403   403 409 403   403 403 409   403 403 403   403 403 403   403 403 403

withdraw draft     401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
withdraw submitted 401 401 401   403 403 403   200 200 404   404 200 404   404 404 200   403 403 404   404 404 403   404 404 404
withdraw endorsed  401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
withdraw returned  401 401 401   403 403 403   409 409 404   404 409 404   404 404 409   403 403 404   404 404 403   404 404 404
withdraw accepted  401 401 401   403 403 403   409 409 403   403 409 403   403 403 409   403 403 403   403 403 403   403 403 403

endorse  draft     401 401 401   403 403 403   403 403 404   404 403 404   404 404 403   409 409 404   404 404 409   404 404 404
endorse  submitted 401 401 401   403 403 403   403 403 404   404 403 404   404 404 403   200 200 404   404 404 200   404 404 404
endorse  endorsed  401 401 401   403 403 403   403 403 404   404 403 404   404 404 403   409 409 404   404 404 409   404 404 404
endorse  returned  401 401 401   403 403 403   403 403 404   404 403 404   404 404 403   409 409 404   404 404 409   404 404 404
endorse  accepted  401 401 401   403 403 403   403 403 403   403 403 403   403 403 403   409 409 403   403 403 409   403 403 403

return   draft     401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   409 409 404   404 404 409   404 404 404
return   submitted 401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   200 200 404   404 404 200   404 404 404
return   endorsed  401 401 401   200 200 200   403 403 404   404 403 404   404 404 403   409 409 404   404 404 409   404 404 404
return   returned  401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   409 409 404   404 404 409   404 404 404
return   accepted  401 401 401   409 409 409   403 403 403   403 403 403   403 403 403   409 409 403   403 403 409   403 403 403

accept   draft     401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
accept   submitted 401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
accept   endorsed  401 401 401   200 200 200   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
accept   returned  401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
accept   accepted  401 401 401   409 409 409   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403

reopen   draft     401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
reopen   submitted 401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
reopen   endorsed  401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
reopen   returned  401 401 401   409 409 409   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404
reopen   accepted  401 401 401   200 200 200   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403

create   -         401 401 401   403 403 403   201 201 403   403 201 403   403 403 201   403 403 403   403 403 403   403 403 403
"""
ENDPOINTS = (
    "list",
    "detail",
    "history",
    "patch",
    "submit",
    "withdraw",
    "endorse",
    "return",
    "accept",
    "reopen",
    "create",
)
WRITES = ("patch", "submit", "withdraw", "endorse", "return", "accept", "reopen")


def _cells():
    cells = []
    for line in EXPECTED.strip().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        endpoint, status, *values = line.split()
        assert endpoint in ENDPOINTS and len(values) == len(CLIENTS) * len(OWNERS), line
        for index, value in enumerate(values):
            role, owner = list(CLIENTS)[index // len(OWNERS)], OWNERS[index % len(OWNERS)]
            expected = value if value in ("yes", "no") else int(value)
            cells.append(
                pytest.param(endpoint, status, role, owner, expected, id=f"{endpoint}-{status}-{role}-{owner}")
            )
    return cells


CELLS = _cells()


def test_the_matrix_covers_every_endpoint_status_role_and_owner():
    rows = {(cell.values[0], cell.values[1]) for cell in CELLS}
    statuses = [status.value for status in ReportStatus]
    assert rows == {(e, s) for e in ENDPOINTS if e != "create" for s in statuses} | {("create", "-")}
    assert len(CELLS) == ((len(ENDPOINTS) - 1) * len(statuses) + 1) * len(CLIENTS) * len(OWNERS)


def _write(client, endpoint, report, *, if_match):
    headers = {"HTTP_IF_MATCH": if_match}
    url = f"{REPORTS}{report.pk}/"
    if endpoint == "patch":
        return client.patch(url, {"achievements": "更新的執行成果"}, format="json", **headers)
    if endpoint in ("return", "reopen"):
        return client.post(f"{url}{endpoint}/", {"reason": "預算執行率未說明"}, format="json", **headers)
    return client.post(f"{url}{endpoint}/", {}, format="json", **headers)


# One test per row of the matrix (an endpoint and a status), trying every role on every owner's report. Each row
# files one report per owner in the row's status, in the first quarter: every cell that reads it or is refused
# shares it (a refusal writes nothing, and each such cell checks that against the report as it then is). A cell
# expected to write gets a fresh report in a quarter of its own (its role's), so each successful write meets the
# report as the row's status makes it.
ROWS = list(dict.fromkeys((cell.values[0], cell.values[1]) for cell in CELLS))
CELL_PERIODS = dict(zip(CLIENTS, quarters_between(Quarter(2021, 1), Quarter(2022, 4)), strict=False))
SHARED_PERIOD = CELL_PERIODS["anonymous"]  # nobody signed in ever writes
CREATE_PERIODS = dict(zip(CLIENTS, quarters_between(Quarter(2023, 1), Quarter(2024, 4)), strict=False))


def _writes(endpoint, expected):
    return endpoint in WRITES and expected == 200


@pytest.mark.parametrize(("endpoint", "status"), ROWS, ids=[f"{endpoint}-{status}" for endpoint, status in ROWS])
def test_report_access(request, world, endpoint, status):
    cells = [cell.values[2:] for cell in CELLS if (cell.values[0], cell.values[1]) == (endpoint, status)]
    shared = {}
    if endpoint != "create":
        assert not any(_writes(endpoint, expected) for role, _owner, expected in cells if role == "anonymous")
        shared = {
            owner: report_in_status(node=world.nodes[owner], status=status, period=world.period(SHARED_PERIOD))
            for owner in OWNERS
        }
    wrong = []
    for role, owner, expected in cells:
        try:
            _check_cell(request, world, shared, endpoint, status, role, owner, expected)
        except AssertionError as exc:
            wrong.append(f"{role} on {owner}'s: {str(exc).splitlines()[0][:300]}")

    assert not wrong, "\n".join(wrong)


def _check_cell(request, world, shared, endpoint, status, role, owner, expected):
    # given: a report (or, for create, none) of a sub-project led by `owner`
    client = request.getfixturevalue(CLIENTS[role])
    node = world.nodes[owner]

    if endpoint == "create":
        period = world.period(CREATE_PERIODS[role])
        response = client.post(REPORTS, {"project": node.pk, "period": str(period)}, format="json")
        assert response.status_code == expected, f"expected {expected}, got {response.status_code}"
        created = QuarterlyReport.objects.filter(period_condition(period), node=node)
        if expected == 201:
            assert created.get().pk == response.json()["id"]
            assert created.get().status == ReportStatus.DRAFT
        else:
            assert not created.exists(), "a refused create wrote a report"
        return

    if _writes(endpoint, expected):
        report = report_in_status(node=node, status=status, period=world.period(CELL_PERIODS[role]))
    else:
        report = QuarterlyReport.objects.get(pk=shared[owner].pk)
        assert report.status == status, f"the shared report is {report.status} (an earlier cell wrote)"
    events_before = report.events.count()

    # when
    if endpoint == "list":
        response = client.get(REPORTS, {"page_size": 500})
    elif endpoint == "detail":
        response = client.get(f"{REPORTS}{report.pk}/")
    elif endpoint == "history":
        response = client.get(f"{REPORTS}{report.pk}/history/")
    else:
        response = _write(client, endpoint, report, if_match=report.etag)

    # then
    if endpoint == "list":
        if expected == 401:
            assert response.status_code == 401, f"expected 401, got {response.status_code}"
        else:
            assert response.status_code == 200, f"expected 200, got {response.status_code}"
            ids = [row["id"] for row in response.json()["results"]]
            assert (report.pk in ids) is (expected == "yes"), f"expected {expected}"
            assert response.json()["count"] == len(ids)
        return
    assert response.status_code == expected, f"expected {expected}, got {response.status_code} {response.content[:200]}"
    if endpoint == "detail" and expected == 200:
        assert response.json()["id"] == report.pk
        assert response["ETag"] == report.etag
    if endpoint == "history" and expected == 200:
        assert [event["action"] for event in response.json()] == list(
            report.events.order_by("at", "id").values_list("action", flat=True)
        )
    if endpoint in WRITES:
        stored = QuarterlyReport.objects.get(pk=report.pk)
        if expected == 200:
            assert stored.version == report.version + 1
            assert ReportEvent.objects.filter(report=report).count() == events_before + 1
            assert response.json()["version"] == stored.version
            assert response["ETag"] == stored.etag
        else:
            # nothing was written: same version, same status, no audit row
            assert (stored.version, stored.status) == (report.version, report.status), "a refusal wrote"
            assert ReportEvent.objects.filter(report=report).count() == events_before, "a refusal was recorded"


# --------------------------------------------------------------------------- If-Match


@pytest.fixture
def draft_of_a(world):
    return report_in_status(node=world.nodes["A"], status=ReportStatus.DRAFT)


@pytest.mark.parametrize("endpoint", ["patch", "submit"])
def test_a_write_without_if_match_is_428(lead_client, draft_of_a, endpoint):
    url = f"{REPORTS}{draft_of_a.pk}/" + ("" if endpoint == "patch" else "submit/")
    payload = {"achievements": "x"} if endpoint == "patch" else {}
    method = lead_client.patch if endpoint == "patch" else lead_client.post

    response = method(url, payload, format="json")

    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required"
    assert QuarterlyReport.objects.get(pk=draft_of_a.pk).version == draft_of_a.version


@pytest.mark.parametrize(
    "if_match",
    ["stale", "other-report", "garbage", "empty-quotes"],
)
def test_a_write_with_a_stale_or_foreign_etag_is_412(lead_client, world, draft_of_a, if_match):
    other = report_in_status(node=world.nodes["U"], status=ReportStatus.DRAFT)
    header = {
        "stale": f'"{draft_of_a.pk}-{draft_of_a.version - 1}"',
        "other-report": other.etag,
        "garbage": "not-an-etag",
        "empty-quotes": '""',
    }[if_match]

    response = lead_client.patch(
        f"{REPORTS}{draft_of_a.pk}/", {"achievements": "x"}, format="json", HTTP_IF_MATCH=header
    )

    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert QuarterlyReport.objects.get(pk=draft_of_a.pk).achievements == draft_of_a.achievements


def test_a_weak_etag_is_accepted(lead_client, draft_of_a):
    response = lead_client.patch(
        f"{REPORTS}{draft_of_a.pk}/", {"achievements": "弱驗證"}, format="json", HTTP_IF_MATCH=f"W/{draft_of_a.etag}"
    )

    assert response.status_code == 200
    assert response.json()["achievements"] == "弱驗證"


def test_out_of_scope_without_if_match_is_404_not_428(other_lead_client, draft_of_a):
    """A missing precondition must not reveal that the report exists."""
    response = other_lead_client.patch(f"{REPORTS}{draft_of_a.pk}/", {"achievements": "x"}, format="json")

    assert response.status_code == 404


# --------------------------------------------------------------------------- out of scope looks like nothing


@pytest.mark.parametrize("status", [ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.RETURNED])
@pytest.mark.parametrize(
    ("role", "method", "suffix", "payload"),
    [
        ("lead_b", "get", "", None),
        ("lead_b", "get", "history/", None),
        ("lead_b", "patch", "", {"achievements": "x"}),
        ("lead_b", "post", "submit/", {}),
        ("lead_b", "post", "return/", {"reason": "x"}),
        ("lead_b", "post", "accept/", {}),
        ("reader", "get", "", None),
        ("reader", "get", "history/", None),
        ("reader", "patch", "", {"achievements": "x"}),
        ("reader", "post", "submit/", {}),
        ("lead_unit", "get", "", None),
        ("lead_unit", "post", "submit/", {}),
    ],
)
def test_an_out_of_scope_report_answers_exactly_like_a_missing_one(
    request, draft_of_a, world, status, role, method, suffix, payload
):
    # given: a report of A's sub-project, and an id that does not exist
    report = (
        draft_of_a
        if status == ReportStatus.DRAFT
        else report_in_status(node=world.nodes["A"], status=status, period=Quarter(2023, 4))
    )
    missing = QuarterlyReport.objects.order_by("-pk").values_list("pk", flat=True).first() + 999_999
    client = request.getfixturevalue(CLIENTS[role])
    kwargs = {"format": "json", "HTTP_IF_MATCH": report.etag} if payload is not None else {}

    # when
    hidden = getattr(client, method)(f"{REPORTS}{report.pk}/{suffix}", payload, **kwargs)
    absent = getattr(client, method)(f"{REPORTS}{missing}/{suffix}", payload, **kwargs)

    # then: the same status, the same body, the same headers that matter
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == absent.json()
    assert hidden.json()["code"] == "not_found"
    assert hidden.get("ETag") is None and absent.get("ETag") is None


def test_detail_of_an_out_of_scope_id_and_of_999999_have_the_same_body(other_lead_client, reader_client, draft_of_a):
    for client in (other_lead_client, reader_client):
        hidden = client.get(f"{REPORTS}{draft_of_a.pk}/")
        absent = client.get(f"{REPORTS}999999/")
        assert hidden.status_code == absent.status_code == 404
        assert hidden.content == absent.content


# --------------------------------------------------------------------------- a co-agency (協辦機關) is not a lead


@pytest.mark.parametrize(
    ("status", "detail", "patch"),
    [
        (ReportStatus.DRAFT, 404, 404),
        (ReportStatus.SUBMITTED, 404, 404),
        (ReportStatus.RETURNED, 404, 404),
        (ReportStatus.ACCEPTED, 200, 403),
    ],
)
def test_a_co_agency_lead_sees_only_accepted_reports_and_edits_none(lead_client, world, status, detail, patch):
    # given: B's sub-project, on which A is a co-agency
    node = world.nodes["B"]
    NodeAgencyFactory(node=node, agency=world.agency, role=AgencyRole.CO)
    report = report_in_status(node=node, status=status)

    # then
    assert lead_client.get(f"{REPORTS}{report.pk}/").status_code == detail
    response = lead_client.patch(
        f"{REPORTS}{report.pk}/", {"achievements": "x"}, format="json", HTTP_IF_MATCH=report.etag
    )
    assert response.status_code == patch
    created = lead_client.post(REPORTS, {"project": node.pk, "period": NOT_FILED_PERIOD}, format="json")
    assert created.status_code == 403


# --------------------------------------------------------------------------- the answer to a forbidden action


def _forbidden_request(world, action, *, body_valid):
    """(status of the report to set up, method, url suffix, body) for an action nobody in these tests may take."""
    node = world.nodes["A"]
    if action == "patch":
        return ReportStatus.ACCEPTED, "patch", "", {"achievements": "x"} if body_valid else {"actual_progress": "500"}
    if action == "create":
        body = {"project": node.pk, "period": NOT_FILED_PERIOD}
        return None, "post", None, body if body_valid else {**body, "actual_progress": "500"}
    if action == "create-project-as-text":
        body = {"project": str(node.pk), "period": NOT_FILED_PERIOD}
        return None, "post", None, body if body_valid else {**body, "actual_progress": "500"}
    if action == "submit":
        return ReportStatus.DRAFT, "post", "submit/", {} if body_valid else {"unexpected": 1}
    if action == "return":
        return ReportStatus.SUBMITTED, "post", "return/", {"reason": "x"} if body_valid else {}
    if action == "accept":
        return ReportStatus.SUBMITTED, "post", "accept/", {} if body_valid else {"unexpected": 1}
    raise AssertionError(action)


FORBIDDEN = [
    ("secretariat", "patch"),
    ("secretariat", "create"),
    ("secretariat", "submit"),
    ("reader", "patch"),
    ("reader", "create"),
    ("lead_b", "patch"),
    ("lead_b", "create"),
    ("lead_b", "create-project-as-text"),
    ("lead_a", "return"),
    ("lead_a", "accept"),
]


@pytest.mark.parametrize(("role", "action"), FORBIDDEN, ids=[f"{role}-{action}" for role, action in FORBIDDEN])
def test_a_forbidden_action_answers_403_in_the_documented_error_shape(request, world, role, action):
    # 403s come both from the views (rest_framework PermissionDenied) and from the services
    # (django.core.exceptions.PermissionDenied): each must carry `detail` and `code`.
    client = request.getfixturevalue(CLIENTS[role])
    status, method, suffix, body = _forbidden_request(world, action, body_valid=True)
    if status is None:
        url = REPORTS
        headers = {}
    else:
        report = report_in_status(node=world.nodes["A"], status=status)
        url, headers = f"{REPORTS}{report.pk}/{suffix}", {"HTTP_IF_MATCH": report.etag}

    response = getattr(client, method)(url, body, format="json", **headers)

    assert response.status_code == 403
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("role", "action"),
    [
        pytest.param(role, action, id=f"{role}-{action}", marks=marks)
        for (role, action), marks in [
            (("secretariat", "patch"), ()),
            (("reader", "patch"), ()),
            (("lead_b", "patch"), ()),
            (("secretariat", "create"), ()),
            (("reader", "create"), ()),
            (("lead_b", "create"), ()),
            (("lead_b", "create-project-as-text"), ()),
            (("secretariat", "submit"), ()),
            (("lead_a", "return"), ()),
            (("lead_a", "accept"), ()),
        ]
    ],
)
def test_a_forbidden_actor_gets_403_whatever_the_body(request, world, role, action):
    # given: a report of A's sub-project the actor may see but not act on, and an invalid body
    client = request.getfixturevalue(CLIENTS[role])
    status, method, suffix, body = _forbidden_request(world, action, body_valid=False)
    if status is None:
        url, headers = REPORTS, {}
    else:
        report = report_in_status(node=world.nodes["A"], status=status)
        url, headers = f"{REPORTS}{report.pk}/{suffix}", {"HTTP_IF_MATCH": report.etag}

    # when
    response = getattr(client, method)(url, body, format="json", **headers)

    # then: the answer is about who is asking, not about the body
    assert response.status_code == 403, response.json()


# --------------------------------------------------------------------------- rows written straight to the database


def test_scoping_holds_for_many_rows_written_directly(world, reader_client, lead_client, other_lead_client):
    """Every quarter of 2021-2024 for each sub-project, its status cycling; checked against the list counts."""
    statuses = [None, "submitted", "returned", "accepted"]
    rows = []
    for owner in OWNERS:
        for year in range(2021, 2025):
            for quarter in range(1, 5):
                trait = statuses[(year + quarter) % 4]
                rows.append(
                    QuarterlyReportFactory(
                        node=world.nodes[owner], period=Quarter(year, quarter), **({trait: True} if trait else {})
                    )
                )
    for row in rows:
        row.full_clean()
    accepted = {row.pk for row in rows if row.status == ReportStatus.ACCEPTED}
    assert 0 < len(accepted) < len(rows)

    def ids(client):
        response = client.get(REPORTS, {"page_size": 500})
        assert response.json()["count"] == len(response.json()["results"])
        return {row["id"] for row in response.json()["results"]}

    assert ids(reader_client) == accepted
    assert ids(lead_client) == accepted | {row.pk for row in rows if row.node_id != world.nodes["B"].pk}
    assert ids(other_lead_client) == accepted | {row.pk for row in rows if row.node_id == world.nodes["B"].pk}
