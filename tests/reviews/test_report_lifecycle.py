"""A report's life from draft to accepted, through the API, with its audit trail and what acceptance applies."""

import datetime
from decimal import Decimal

import pytest

from indicators.models import IndicatorActual
from projects.models import AgencyRole
from reviews.models import QuarterlyReport, ReportEvent, ReportKind
from reviews.periods import Quarter, today
from tests.accounts.factories import lead_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, MilestoneFactory, NodeAgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import file_report_through_api, of_kind, report_body

# Milestone entries and indicator values are the quarterly report's alone.
QUARTERLY_ONLY = pytest.mark.parametrize("report_kind", [ReportKind.QUARTERLY])
REPORTS = "/api/v1/reports/"


@pytest.fixture
def subproject(agency, report_kind):
    """A sub-project that files quarterly reports, or (``report_kind``) monthly updates: what follows holds
    for both."""
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return of_kind(sub, report_kind)


def act(client, response, action, **body):
    report_id = response.json()["id"]
    return client.post(f"{REPORTS}{report_id}/{action}/", body, format="json", HTTP_IF_MATCH=response["ETag"])


def patch(client, response, **body):
    return client.patch(f"{REPORTS}{response.json()['id']}/", body, format="json", HTTP_IF_MATCH=response["ETag"])


def test_draft_returned_twice_then_accepted_has_its_whole_history(lead_client, secretariat_client, subproject):
    # given a draft
    created = file_report_through_api(lead_client, subproject).response
    assert created.json()["status"] == "draft"
    assert created["ETag"] == f'"{created.json()["id"]}-1"'

    # when it goes submitted > returned > fixed > submitted > returned > fixed > submitted > accepted
    submitted = act(lead_client, created, "submit")
    returned = act(secretariat_client, submitted, "return", reason="請補充經費執行說明")
    fixed = patch(lead_client, returned, achievements="完成平臺上線，經費執行 92%。")
    resubmitted = act(lead_client, fixed, "submit")
    returned_again = act(secretariat_client, resubmitted, "return", reason="查核點日期有誤")
    fixed_again = patch(lead_client, returned_again, countermeasures="已更正查核點日期")
    last_submitted = act(lead_client, fixed_again, "submit")
    accepted = act(secretariat_client, last_submitted, "accept")

    # then every step answered with the next status and version
    steps = [submitted, returned, fixed, resubmitted, returned_again, fixed_again, last_submitted, accepted]
    assert [step.status_code for step in steps] == [200] * 8
    assert [step.json()["status"] for step in steps] == [
        "submitted",
        "returned",
        "returned",
        "submitted",
        "returned",
        "returned",
        "submitted",
        "accepted",
    ]
    assert [step.json()["version"] for step in steps] == list(range(2, 10))
    # the return reason is the agency's and the secretariat's: in the history, not on the public accepted report
    assert accepted.json()["return_reason"] == ""

    history = secretariat_client.get(f"{REPORTS}{created.json()['id']}/history/").json()
    assert [(event["action"], event["actor"], event["to_status"]) for event in history] == [
        ("create", "lead", "draft"),
        ("submit", "lead", "submitted"),
        ("return", "secretariat", "returned"),
        ("update", "lead", "returned"),
        ("submit", "lead", "submitted"),
        ("return", "secretariat", "returned"),
        ("update", "lead", "returned"),
        ("submit", "lead", "submitted"),
        ("accept", "secretariat", "accepted"),
    ]
    assert [event["version"] for event in history] == list(range(1, 10))
    assert [event["reason"] for event in history if event["action"] == "return"] == [
        "請補充經費執行說明",
        "查核點日期有誤",
    ]
    assert history[3]["changes"] == {"achievements": ["完成平臺上線。", "完成平臺上線，經費執行 92%。"]}
    assert history[0]["changes"]["actual_progress"] == [None, "60.00"]


def test_who_did_what_is_never_taken_from_the_body(lead_client, secretariat_client, subproject, other_lead_client):
    created = file_report_through_api(lead_client, subproject).response
    submitted = act(lead_client, created, "submit")

    accepted = secretariat_client.post(
        f"{REPORTS}{created.json()['id']}/accept/",
        {"accepted_by": other_lead_client.user.pk},
        format="json",
        HTTP_IF_MATCH=submitted["ETag"],
    )

    assert accepted.status_code == 400
    assert "accepted_by" in accepted.json()["errors"]
    assert QuarterlyReport.objects.get().status == "submitted"


@QUARTERLY_ONLY
def test_accepting_applies_milestones_and_indicator_values_as_actuals(lead_client, secretariat_client, subproject):
    milestone = MilestoneFactory(node=subproject, planned_date=datetime.date(2024, 9, 30))
    later = MilestoneFactory(node=subproject, planned_date=datetime.date(2024, 12, 31))
    indicator = IndicatorFactory(node=subproject, key="sub/1", name="開放資料集數", unit="項")
    created = file_report_through_api(
        lead_client,
        subproject,
        milestone_entries=[
            {"milestone": milestone.pk, "completed_on": "2024-09-20"},
            {"milestone": later.pk, "forecast_date": "2025-02-28", "note": "採購延宕"},
        ],
        indicator_values=[{"indicator": indicator.pk, "value": "875"}],
    ).response
    submitted = act(lead_client, created, "submit")

    # nothing counts before acceptance
    milestone.refresh_from_db()
    assert milestone.completed_on is None
    assert not IndicatorActual.objects.filter(indicator=indicator).exists()

    act(secretariat_client, submitted, "accept")

    milestone.refresh_from_db()
    later.refresh_from_db()
    assert milestone.completed_on == datetime.date(2024, 9, 20)
    assert (later.completed_on, later.forecast_date) == (None, datetime.date(2025, 2, 28))
    actual = IndicatorActual.objects.get(indicator=indicator)
    assert (actual.year, actual.quarter, actual.value, actual.source) == (2024, 3, Decimal("875"), "季報 2024Q3")


@pytest.mark.parametrize("action", ["submit", "accept", "return"])
def test_an_accepted_report_is_locked(lead_client, secretariat_client, subproject, action):
    created = file_report_through_api(lead_client, subproject).response
    accepted = act(secretariat_client, act(lead_client, created, "submit"), "accept")
    events = ReportEvent.objects.count()

    edit = patch(lead_client, accepted, achievements="改寫")
    client = lead_client if action == "submit" else secretariat_client
    transition = act(client, accepted, action, **({"reason": "再看看"} if action == "return" else {}))

    assert (edit.status_code, edit.json()["code"]) == (409, "invalid_transition")
    assert (transition.status_code, transition.json()["code"]) == (409, "invalid_transition")
    assert QuarterlyReport.objects.get().achievements == "完成平臺上線。"
    assert ReportEvent.objects.count() == events


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_returning_needs_a_reason(lead_client, secretariat_client, subproject, reason):
    submitted = act(lead_client, file_report_through_api(lead_client, subproject).response, "submit")

    response = act(secretariat_client, submitted, "return", **({} if reason is None else {"reason": reason}))

    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert QuarterlyReport.objects.get().status == "submitted"


def test_only_drafts_and_returned_reports_can_be_submitted(lead_client, subproject):
    submitted = act(lead_client, file_report_through_api(lead_client, subproject).response, "submit")

    again = act(lead_client, submitted, "submit")

    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


def test_submitting_needs_the_figures(lead_client, subproject):
    created = file_report_through_api(lead_client, subproject, budget_spent=None, planned_progress=None).response

    response = act(lead_client, created, "submit")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"budget_spent", "planned_progress"}
    assert QuarterlyReport.objects.get().status == "draft"


def test_stale_or_missing_if_match(lead_client, subproject):
    created = file_report_through_api(lead_client, subproject).response
    report_url = f"{REPORTS}{created.json()['id']}/"
    patch(lead_client, created, achievements="第一次修改")

    missing = lead_client.patch(report_url, {"achievements": "x"}, format="json")
    stale = lead_client.patch(report_url, {"achievements": "x"}, format="json", HTTP_IF_MATCH=created["ETag"])
    garbage = lead_client.patch(report_url, {"achievements": "x"}, format="json", HTTP_IF_MATCH='"abc"')
    current = lead_client.get(report_url)

    assert (missing.status_code, missing.json()["code"]) == (428, "precondition_required")
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert garbage.status_code == 412
    assert current["ETag"] == f'"{created.json()["id"]}-2"'
    assert current.json()["achievements"] == "第一次修改"


def test_due_date_follows_the_plans_setting_and_lateness_is_known(lead_client, agency):
    plan = PlanFactory(report_due_days=15)
    _, _, _, (subproject,) = make_tree(plan, lead_agency=agency)
    subproject.end_date = datetime.date(today().year + 1, 12, 31)
    subproject.save()
    current = Quarter.containing(today())

    late = act(lead_client, file_report_through_api(lead_client, subproject, period="2024Q1").response, "submit").json()
    on_time = act(
        lead_client, file_report_through_api(lead_client, subproject, period=str(current)).response, "submit"
    ).json()

    assert late["due_on"] == "2024-04-15"
    assert (late["submitted_on_time"], late["is_late"]) == (False, True)
    assert on_time["due_on"] == (current.end + datetime.timedelta(days=15)).isoformat()
    assert (on_time["submitted_on_time"], on_time["is_late"]) == (True, False)
    late_list = lead_client.get(REPORTS, {"late": "true"}).json()["results"]
    assert [item["period"] for item in late_list] == ["2024Q1"]


def test_what_an_agency_still_owes_and_by_when(lead_client, agency, other_agency):
    plan = PlanFactory()
    _, _, _, (mine,) = make_tree(plan, lead_agency=agency, prefix="甲")
    _, _, _, (theirs,) = make_tree(plan, lead_agency=other_agency, prefix="乙")
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    _, _, _, (units,) = make_tree(plan, lead_agency=unit, prefix="丙")
    for node in (mine, theirs, units):
        node.start_date, node.end_date = datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
        node.save()
    act(lead_client, file_report_through_api(lead_client, mine, period="2024Q1").response, "submit")
    file_report_through_api(lead_client, mine, period="2024Q2")

    owed = lead_client.get(f"{REPORTS}owed/").json()

    mine_owed = [(row["period"], row["status"], row["due_on"]) for row in owed if row["project"] == mine.pk]
    assert mine_owed == [
        ("2024Q2", "draft", "2024-07-10"),
        ("2024Q3", "missing", "2024-10-10"),
        ("2024Q4", "missing", "2025-01-10"),
    ]
    assert {row["project"] for row in owed} == {mine.pk, units.pk}
    assert all(row["is_overdue"] for row in owed)
    assert [row["due_on"] for row in owed] == sorted(row["due_on"] for row in owed)


def test_secretariat_asks_what_any_agency_owes(secretariat_client, agency):
    _, _, _, (mine,) = make_tree(PlanFactory(), lead_agency=agency)
    mine.start_date, mine.end_date = datetime.date(2025, 1, 1), datetime.date(2025, 6, 30)
    mine.save()

    by_name = secretariat_client.get(f"{REPORTS}owed/", {"agency": "數位部"})
    by_id = secretariat_client.get(f"{REPORTS}owed/", {"agency": agency.pk})

    assert [row["period"] for row in by_name.json()] == ["2025Q1", "2025Q2"]
    assert by_id.json() == by_name.json()


@pytest.mark.parametrize(
    ("query", "language", "message"),
    [
        ({}, "en", "Name an agency with ?agency= (its id or name)."),
        ({"agency": ""}, "zh-Hant", "請以 ?agency= 指定機關（ID 或名稱）。"),
        ({"agency": "999999"}, "en", "No agency has this id or name."),
        ({"agency": "99999999999999999999999"}, "en", "No agency has this id or name."),
        ({"agency": "不存在的部會"}, "zh-Hant", "沒有 ID 或名稱與此相符的機關。"),
    ],
    ids=["missing", "empty", "unknown-id", "huge-id", "unknown-name"],
)
def test_the_secretariat_must_name_an_agency_that_exists(secretariat_client, agency, query, language, message):
    response = secretariat_client.get(f"{REPORTS}owed/", query, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert response.json()["errors"] == {"agency": [message]}
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("query", [{}, {"agency": "999999"}, {"agency": "不存在的部會"}])
def test_a_lead_always_gets_its_own_agency(lead_client, agency, other_agency, query):
    _, _, _, (mine,) = make_tree(PlanFactory(), lead_agency=agency)
    mine.start_date, mine.end_date = datetime.date(2025, 1, 1), datetime.date(2025, 3, 31)
    mine.save()

    response = lead_client.get(f"{REPORTS}owed/", query)

    assert response.status_code == 200
    assert [(row["project"], row["period"]) for row in response.json()] == [(mine.pk, "2025Q1")]


def test_a_lead_of_a_sub_unit_files_for_the_sub_units_subprojects(agency, db):
    from tests.conftest import _client_for

    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    _, _, _, (subproject,) = make_tree(PlanFactory())
    NodeAgencyFactory(node=subproject, agency=unit, role=AgencyRole.LEAD)
    unit_lead = _client_for(lead_user(unit, "unit-lead"))

    assert unit_lead.post(REPORTS, report_body(subproject), format="json").status_code == 201


@QUARTERLY_ONLY
def test_an_edit_answers_with_the_entries_and_values_it_saved(lead_client, subproject):
    milestone = MilestoneFactory(node=subproject, planned_date=datetime.date(2024, 9, 30))
    later = MilestoneFactory(node=subproject, planned_date=datetime.date(2024, 12, 31))
    indicator = IndicatorFactory(node=subproject, key="sub/1", name="開放資料集數", unit="項")
    created = file_report_through_api(lead_client, subproject).response
    entries = [
        {"milestone": milestone.pk, "completed_on": "2024-09-20", "forecast_date": None, "note": ""},
        {"milestone": later.pk, "completed_on": None, "forecast_date": "2025-02-28", "note": "採購延宕"},
    ]

    # when the first edit adds entries and values, and a second one changes them
    first = patch(
        lead_client, created, milestone_entries=entries, indicator_values=[{"indicator": indicator.pk, "value": "875"}]
    )
    second = patch(
        lead_client,
        first,
        milestone_entries=entries[1:],
        indicator_values=[{"indicator": indicator.pk, "value": "900"}],
    )

    # then each answer shows what was saved, as a following read does
    assert first.status_code == 200, first.json()
    assert first.json()["milestone_entries"] == entries
    assert [(v["indicator"], v["value"]) for v in first.json()["indicator_values"]] == [(indicator.pk, "875.0000")]
    assert second.status_code == 200, second.json()
    assert second.json()["milestone_entries"] == entries[1:]
    assert [(v["indicator"], v["value"]) for v in second.json()["indicator_values"]] == [(indicator.pk, "900.0000")]
    read = lead_client.get(f"{REPORTS}{created.json()['id']}/").json()
    assert (read["milestone_entries"], read["indicator_values"]) == (
        second.json()["milestone_entries"],
        second.json()["indicator_values"],
    )


def test_if_match_star_matches_the_current_version(lead_client, secretariat_client, subproject):
    created = file_report_through_api(lead_client, subproject).response
    report_url = f"{REPORTS}{created.json()['id']}/"
    patch(lead_client, created, achievements="第一次修改")

    # when a write says If-Match: * (RFC 9110 13.1.1: any current version)
    edited = lead_client.patch(report_url, {"achievements": "不論版本"}, format="json", HTTP_IF_MATCH="*")
    submitted = lead_client.post(f"{report_url}submit/", {}, format="json", HTTP_IF_MATCH=" * ")
    returned = secretariat_client.post(f"{report_url}return/", {"reason": "補件"}, format="json", HTTP_IF_MATCH="*")

    # then it proceeds from whatever version is current
    assert (edited.status_code, edited.json()["version"], edited.json()["achievements"]) == (200, 3, "不論版本")
    assert (submitted.status_code, submitted.json()["status"], submitted["ETag"]) == (
        200,
        "submitted",
        f'"{created.json()["id"]}-4"',
    )
    assert (returned.status_code, returned.json()["status"]) == (200, "returned")
    # while no header, a stale ETag and another report's ETag are still refused
    missing = lead_client.patch(report_url, {"achievements": "x"}, format="json")
    stale = lead_client.patch(report_url, {"achievements": "x"}, format="json", HTTP_IF_MATCH=created["ETag"])
    other = lead_client.patch(report_url, {"achievements": "x"}, format="json", HTTP_IF_MATCH='"999999-4"')
    assert (missing.status_code, stale.status_code, other.status_code) == (428, 412, 412)
    assert lead_client.get(report_url).json()["achievements"] == "不論版本"
