"""Quarters and dates sent to the API in the ROC calendar (民國紀年) are read as their Gregorian twins; the
answers stay ISO 8601 and 2024Q3; bad ones are a 400 naming the field, with every accepted form."""

import datetime

import pytest

from reviews.models import QuarterLock, QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.projects.factories import MilestoneFactory, PlanFactory, make_tree
from tests.reviews.factories import report_in_status
from tests.reviews.test_report_validation import REPORTS, body_for

QUARTER_EXAMPLES = ("2024Q3", "113Q3", "113年第3季", "民國113年第3季")
DATE_EXAMPLES = ("2024-07-01", "113/07/01", "113/7/1", "民國113年7月1日")


@pytest.fixture
def subproject(agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return sub


@pytest.mark.parametrize("period", ["113年第3季", "民國113年第3季", "113Q3", "１１３年第３季", "2024年第3季"])
def test_a_report_filed_for_a_roc_quarter(lead_client, subproject, period):
    milestone = MilestoneFactory(node=subproject, planned_date=datetime.date(2024, 9, 30))
    body = body_for(subproject, period=period)
    body["milestone_entries"] = [{"milestone": milestone.pk, "completed_on": "民國113年7月1日"}]

    response = lead_client.post(REPORTS, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["period"] == "2024Q3"
    assert response.json()["milestone_entries"][0]["completed_on"] == "2024-07-01"
    report = QuarterlyReport.objects.get()
    assert (report.year, report.quarter) == (2024, 3)


@pytest.mark.parametrize(("language", "text"), [("en", "Write the quarter as"), ("zh-Hant", "季別請寫成")])
@pytest.mark.parametrize("period", ["113Q5", "民國0年第1季", "民國2024年第3季"])
def test_a_bad_quarter_is_refused_naming_the_field(lead_client, subproject, period, language, text):
    response = lead_client.post(
        REPORTS, body_for(subproject, period=period), format="json", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400
    message = response.json()["errors"]["period"][0]
    assert text in message and all(example in message for example in QUARTER_EXAMPLES)
    assert not QuarterlyReport.objects.exists()


@pytest.mark.parametrize(("language", "text"), [("en", "Write the date as"), ("zh-Hant", "日期請寫成")])
def test_a_bad_date_in_a_body_is_refused_naming_the_field(lead_client, subproject, language, text):
    milestone = MilestoneFactory(node=subproject, planned_date=datetime.date(2024, 9, 30))
    body = body_for(subproject)
    body["milestone_entries"] = [{"milestone": milestone.pk, "completed_on": "113/02/30"}]

    response = lead_client.post(REPORTS, body, format="json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    message = response.json()["errors"]["milestone_entries"][0]["completed_on"][0]
    assert text in message and all(example in message for example in DATE_EXAMPLES)


def test_the_reports_filter_takes_a_roc_quarter(secretariat_client, subproject):
    report = report_in_status(node=subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 3))

    for period in ("113年第3季", "民國113年第3季", "2024Q3"):
        response = secretariat_client.get(REPORTS, {"period": period})
        assert [row["id"] for row in response.json()["results"]] == [report.pk], period
    assert secretariat_client.get(REPORTS, {"period": "113年第2季"}).json()["results"] == []


@pytest.mark.parametrize(("language", "text"), [("en", "Write the quarter as"), ("zh-Hant", "季別請寫成")])
def test_a_bad_quarter_filter_is_refused_naming_it(secretariat_client, language, text):
    response = secretariat_client.get("/api/v1/flags/", {"period": "113Q5"}, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert text in response.json()["errors"]["period"][0]


def test_a_quarter_locked_and_an_exception_granted_in_the_roc_calendar(secretariat_client, subproject):
    response = secretariat_client.post(
        "/api/v1/locks/", {"plan": subproject.plan_id, "period": "民國113年第4季"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["period"] == "2024Q4"

    lock = QuarterLock.objects.get()
    granted = secretariat_client.post(
        f"/api/v1/locks/{lock.pk}/exceptions/", {"project": subproject.pk, "expires_on": "2999/12/31"}, format="json"
    )
    assert granted.status_code == 201, granted.json()
    assert granted.json()["expires_on"] == "2999-12-31"


@pytest.mark.parametrize("year", ["2024", "113", "113年", "民國113年", "１１３"])
def test_reports_and_budgets_filter_by_a_year_in_either_calendar(lead_client, subproject, year):
    report = report_in_status(node=subproject, period=Quarter(2024, 2))
    report_in_status(node=subproject, period=Quarter(2023, 4))

    reports = lead_client.get(REPORTS, {"year": year})
    budgets = lead_client.get("/api/v1/budgets/", {"year": year})

    assert [row["id"] for row in reports.json()["results"]] == [report.pk]
    assert {row["year"] for row in budgets.json()["results"]} == {2024}


@pytest.mark.parametrize(
    ("year", "language", "text"), [("24", "en", "Write the year as"), ("abc", "zh-Hant", "年度請寫成")]
)
def test_a_bad_year_is_refused_naming_it(lead_client, year, language, text):
    response = lead_client.get(REPORTS, {"year": year}, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert text in str(response.json()["errors"]["year"])
