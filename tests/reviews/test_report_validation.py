"""Bad report input: a 400 naming the field, in the client's language, and nothing written."""

import datetime

import pytest

from reviews.models import QuarterlyReport, ReportEvent, ReportStatus
from reviews.periods import Quarter, today
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import MilestoneFactory, PlanFactory, make_tree
from tests.reviews.factories import file_report_through_api

REPORTS = "/api/v1/reports/"


@pytest.fixture
def subproject(agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return sub


@pytest.fixture
def foreign_subproject(other_agency):
    _, _, _, (sub,) = make_tree(PlanFactory(code="other"), lead_agency=other_agency, prefix="乙")
    return sub


def body_for(subproject, **overrides):
    body = {
        "project": subproject.pk,
        "period": "2024Q3",
        "planned_progress": "60",
        "actual_progress": "60",
        "budget_spent": "4600000",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def assert_refused(response, field):
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert not QuarterlyReport.objects.exists()
    assert not ReportEvent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"period": "2024-3"}, "period"),
        ({"period": "2024Q5"}, "period"),
        ({"period": "Q3 2024"}, "period"),
        ({"period": "2019Q4"}, "period"),  # before the sub-project began
        ({"period": "2026Q1"}, "period"),  # after it ends (2025-12-31)
        ({"planned_progress": "100.5"}, "planned_progress"),
        ({"actual_progress": "-1"}, "actual_progress"),
        ({"budget_allocated": "5000000"}, "budget_allocated"),  # the ledger's, not the report's
        ({"budget_payables": "-1"}, "budget_payables"),
        ({"budget_savings": "-1"}, "budget_savings"),
        ({"budget_forecast_rate": "100.01"}, "budget_forecast_rate"),
        ({"budget_forecast_rate": "-1"}, "budget_forecast_rate"),
        ({"budget_spent": "-0.5"}, "budget_spent"),
        ({"budget_spent": "abc"}, "budget_spent"),
        ({"actual_progress": "40"}, "delay_reasons"),
        ({"achievements": "成" * 10_001}, "achievements"),
        ({"status": "accepted"}, "status"),
        ({"accepted_by": 1}, "accepted_by"),
        ({"colour": "red"}, "colour"),
        ({"project": 999_999}, "project"),
    ],
)
def test_bad_fields_are_refused_by_name(lead_client, subproject, overrides, field):
    response = lead_client.post(REPORTS, body_for(subproject, **overrides), format="json")

    assert_refused(response, field)


def test_a_quarter_in_the_future_is_refused(lead_client, subproject):
    subproject.end_date = datetime.date(today().year + 2, 12, 31)
    subproject.save()
    future = Quarter.containing(today()).next()

    response = lead_client.post(REPORTS, body_for(subproject, period=str(future)), format="json")

    assert_refused(response, "period")


def test_a_report_is_for_a_subproject(lead_client, subproject):
    response = lead_client.post(REPORTS, body_for(subproject, project=subproject.parent.pk), format="json")

    assert_refused(response, "project")


@pytest.mark.parametrize(
    ("language", "not_a_subproject", "missing"),
    [
        ("zh-Hant", "節點 {id}（推動措施）不是子計畫：季報只能就子計畫填報。", "無效的主鍵"),
        ("en", "Node {id} (Measure) is not a sub-project: reports are filed for sub-projects.", "does not exist"),
    ],
    ids=["zh-Hant", "en"],
)
def test_a_node_that_is_not_a_subproject_is_named_as_such(lead_client, subproject, language, not_a_subproject, missing):
    measure = subproject.parent

    other_kind = lead_client.post(
        REPORTS, body_for(subproject, project=measure.pk), format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    no_node = lead_client.post(
        REPORTS, body_for(subproject, project=999_999), format="json", HTTP_ACCEPT_LANGUAGE=language
    )

    assert_refused(other_kind, "project")
    assert other_kind.json()["errors"]["project"] == [not_a_subproject.format(id=measure.pk)]
    assert_refused(no_node, "project")
    assert missing in no_node.json()["errors"]["project"][0]


def test_milestone_and_indicator_entries_of_another_subproject_are_refused(lead_client, subproject, foreign_subproject):
    theirs = MilestoneFactory(node=foreign_subproject)
    indicator = IndicatorFactory(node=foreign_subproject, key="x", name="x")

    milestones = lead_client.post(
        REPORTS,
        body_for(subproject, milestone_entries=[{"milestone": theirs.pk, "completed_on": "2024-09-01"}]),
        format="json",
    )
    indicators = lead_client.post(
        REPORTS, body_for(subproject, indicator_values=[{"indicator": indicator.pk, "value": "1"}]), format="json"
    )
    unknown = lead_client.post(
        REPORTS, body_for(subproject, milestone_entries=[{"milestone": theirs.pk, "done": True}]), format="json"
    )

    assert_refused(milestones, "milestone_entries")
    assert_refused(indicators, "indicator_values")
    assert_refused(unknown, "milestone_entries")


def test_a_milestone_listed_twice_is_refused(lead_client, subproject):
    milestone = MilestoneFactory(node=subproject)
    entry = {"milestone": milestone.pk, "completed_on": "2024-09-01"}

    response = lead_client.post(REPORTS, body_for(subproject, milestone_entries=[entry, entry]), format="json")

    assert_refused(response, "milestone_entries")


def test_a_second_report_for_the_same_quarter_is_refused(lead_client, subproject):
    assert lead_client.post(REPORTS, body_for(subproject), format="json").status_code == 201

    again = lead_client.post(REPORTS, body_for(subproject), format="json")

    assert again.status_code == 400
    assert "period" in again.json()["errors"]
    assert QuarterlyReport.objects.count() == 1


def test_progress_lower_than_the_last_accepted_quarter_needs_an_explanation(
    lead_client, secretariat_client, subproject
):
    file_report_through_api(
        lead_client,
        subproject,
        status=ReportStatus.ACCEPTED,
        secretariat_client=secretariat_client,
        period="2024Q2",
        actual_progress="55",
        planned_progress="55",
    )
    before = (QuarterlyReport.objects.count(), ReportEvent.objects.count())

    lower = lead_client.post(REPORTS, body_for(subproject, actual_progress="50", planned_progress="50"), format="json")
    explained = lead_client.post(
        REPORTS,
        body_for(subproject, actual_progress="50", planned_progress="50", progress_explanation="重新估算工作量"),
        format="json",
    )

    assert lower.status_code == 400
    assert "55%" in lower.json()["errors"]["progress_explanation"][0]
    assert "2024Q2" in lower.json()["errors"]["progress_explanation"][0]
    assert explained.status_code == 201
    assert (QuarterlyReport.objects.count(), ReportEvent.objects.count()) == (before[0] + 1, before[1] + 1)


def test_an_invalid_edit_writes_nothing(lead_client, subproject):
    created = lead_client.post(REPORTS, body_for(subproject), format="json")
    url = f"{REPORTS}{created.json()['id']}/"

    response = lead_client.patch(
        url, {"actual_progress": "40", "achievements": "新的成果"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )

    assert response.status_code == 400
    assert "delay_reasons" in response.json()["errors"]
    report = QuarterlyReport.objects.get()
    assert (report.version, report.actual_progress, report.achievements) == (1, 60, "")
    assert ReportEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Write the quarter as 2024Q3, 113Q3"), ("zh-Hant", "113年第3季")],
)
def test_errors_speak_the_clients_language(lead_client, subproject, language, text):
    response = lead_client.post(
        REPORTS, body_for(subproject, period="2024-13"), format="json", HTTP_ACCEPT_LANGUAGE=language
    )

    assert text in response.json()["errors"]["period"][0]
    if language == "en":
        assert response.json()["detail"] == "The request has invalid fields."
    else:
        assert response.json()["detail"] != "The request has invalid fields."
