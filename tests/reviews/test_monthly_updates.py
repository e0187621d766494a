"""Monthly updates (月報) of the sub-projects whose control level reports monthly, through the API: what they
carry, for which months, when they are due, how lists tell them from quarterly reports, and what is owed.

Their lifecycle, scoping, review chain, If-Match and Idempotency-Key are the quarterly report's: the tests of
those run over both kinds (the ``report_kind`` fixture in test_report_lifecycle, test_review_chain,
test_report_concurrency and test_report_permissions).
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from reviews.models import LagFlag, QuarterlyReport, ReportKind, ReportStatus
from reviews.periods import Month, Quarter
from reviews.services.scan import lag_scan
from tests.projects.factories import PlanFactory, make_tree

from .factories import API_REPORTS, LagSettingsFactory, QuarterlyReportFactory, file_report_through_api, of_kind

UPDATE = {
    "period": "2024-08",
    "planned_progress": "55",
    "actual_progress": "55",
    "budget_spent": "3100000",
    "achievements": "完成第二階段測試。",
}


@pytest.fixture
def plan(db):
    return PlanFactory()


@pytest.fixture
def monthly(plan, agency):
    """A 院列管 sub-project of ``agency``: monthly updates between its quarterly reports."""
    _, _, _, (node,) = make_tree(plan, lead_agency=agency)
    return of_kind(node, ReportKind.MONTHLY)


@pytest.fixture
def quarterly(plan, agency):
    _, _, _, (node,) = make_tree(plan, lead_agency=agency, prefix="季報")
    return node


def post(client, node, language="en", **fields):
    return client.post(
        API_REPORTS, {"project": node.pk, **UPDATE, **fields}, format="json", HTTP_ACCEPT_LANGUAGE=language
    )


def test_a_monthly_update_is_filed_for_its_month_and_falls_due_after_it(lead_client, monthly):
    response = post(lead_client, monthly)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["period"], body["year"], body["quarter"], body["month"]) == (
        "monthly",
        "2024-08",
        2024,
        3,
        8,
    )
    # the level's monthly due days (10 by default) after the month's end
    assert body["due_on"] == "2024-09-10"
    assert (body["milestone_entries"], body["indicator_values"]) == ([], [])
    report = QuarterlyReport.objects.get(pk=body["id"])
    assert (report.kind, report.period_obj, report.created_by.username) == ("monthly", Month(2024, 8), "lead")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Not part of a monthly update: it is given in the quarterly report."),
        ("zh-Hant", "月報不填此欄，請於季報填寫。"),
    ],
)
def test_what_a_monthly_update_does_not_carry_is_refused_field_by_field(lead_client, monthly, language, message):
    response = post(
        lead_client,
        monthly,
        language=language,
        budget_payables="20000",
        budget_forecast_rate="95",
        milestone_entries=[],
    )

    assert response.status_code == 400
    errors = response.json()["errors"] if "errors" in response.json() else response.json()
    for name in ("budget_payables", "budget_forecast_rate", "milestone_entries"):
        assert message in str(errors[name]), errors
    assert not QuarterlyReport.objects.filter(node=monthly).exists()


def test_an_update_is_for_a_monthly_level_and_a_month_its_quarters_report_does_not_cover(
    lead_client, secretariat_client, monthly, quarterly
):
    def refused(node, **fields):
        response = post(lead_client, node, **fields)
        assert response.status_code == 400, response.content
        return str(response.json())

    # a sub-project at a level that reports quarterly files no monthly update
    assert "reports quarterly" in refused(quarterly)
    # the last month of a quarter is the quarterly report's
    assert "closes 2024Q3" in refused(monthly, period="2024-09")
    # a month that does not exist is written wrong: the message shows how to write one
    assert "2024-08" in refused(monthly, period="2024-13")
    # once the quarter's report is filed, it covers its months
    file_report_through_api(lead_client, monthly, period="2024Q3", status=ReportStatus.SUBMITTED)
    assert "The quarterly report of 2024Q3 is filed and covers 2024-08." in refused(monthly)
    assert QuarterlyReport.objects.filter(node=monthly).count() == 1


def test_lists_tell_the_kinds_apart(lead_client, monthly):
    update = QuarterlyReportFactory(node=monthly, period=Month(2024, 7))
    report = QuarterlyReportFactory(node=monthly, period=Quarter(2024, 3))

    def ids(**query):
        response = lead_client.get(API_REPORTS, {"project": monthly.pk, **query})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(kind="monthly") == [update.pk]
    assert ids(kind="quarterly") == [report.pk]
    assert ids(period="2024-07") == [update.pk]
    assert ids(period="2024Q3") == [report.pk]
    # within a quarter, its monthly updates come before its report
    assert ids() == [update.pk, report.pk]
    assert lead_client.get(API_REPORTS, {"kind": "weekly"}).status_code == 400


def test_what_is_owed_lists_the_months_until_the_quarters_report_is_filed(monkeypatch, lead_client, monthly, quarterly):
    # given both sub-projects running from 2024Q2, whose 2024Q2 reports were accepted, on 2024-08-20
    for node in (monthly, quarterly):
        node.start_date = datetime.date(2024, 4, 1)
        node.save()
        QuarterlyReportFactory(node=node, period=Quarter(2024, 2), accepted=True)
    moment = datetime.datetime(2024, 8, 20, 10, tzinfo=ZoneInfo("Asia/Taipei"))
    monkeypatch.setattr(timezone, "now", lambda: moment)

    def owed():
        response = lead_client.get(f"{API_REPORTS}owed/")
        assert response.status_code == 200
        return [
            (row["project"], row["period"], row["kind"], row["due_on"], row["is_overdue"]) for row in response.json()
        ]

    # then the monthly sub-project owes July's update (overdue), August's and the quarter's report; the other
    # only the quarter's report; the earliest due first
    assert owed() == [
        (monthly.pk, "2024-07", "monthly", "2024-08-10", True),
        (monthly.pk, "2024-08", "monthly", "2024-09-10", False),
        (monthly.pk, "2024Q3", "quarterly", "2024-10-10", False),
        (quarterly.pk, "2024Q3", "quarterly", "2024-10-10", False),
    ]
    # July's update filed, then the quarter's report filed early: nothing of the quarter's months is owed
    QuarterlyReportFactory(node=monthly, period=Month(2024, 7), submitted=True)
    QuarterlyReportFactory(node=monthly, period=Quarter(2024, 3), submitted=True)
    assert owed() == [(quarterly.pk, "2024Q3", "quarterly", "2024-10-10", False)]


def test_an_update_after_a_quarter_with_payables_compares_spent_alone(lead_client, monthly):
    # given 2024Q2 accepted with 3,000,000 spent and 500,000 payables
    QuarterlyReportFactory(
        node=monthly,
        period=Quarter(2024, 2),
        accepted=True,
        budget_spent=Decimal(3_000_000),
        budget_payables=Decimal(500_000),
        budget_allocated=Decimal(4_000_000),
    )
    # then July's 3,200,000 spent is no fall, though spent and payables were 3,500,000
    assert post(lead_client, monthly, period="2024-07", budget_spent="3200000").status_code == 201
    # and a spent figure that falls is explained in the update itself
    fell = post(lead_client, monthly, period="2024-08", budget_spent="2900000")
    assert fell.status_code == 400 and "budget_explanation" in fell.json()["errors"]
    explained = post(lead_client, monthly, period="2024-08", budget_spent="2900000", budget_explanation="沖銷預付款")
    assert explained.status_code == 201, explained.content


def test_updates_are_for_the_months_within_the_sub_projects_dates(monkeypatch, lead_client, monthly):
    # given a sub-project running from 2024-08-15 to 2024-10-20, its 2024Q3 and 2024Q4 reports not filed
    monthly.start_date, monthly.end_date = datetime.date(2024, 8, 15), datetime.date(2024, 10, 20)
    monthly.save()
    moment = datetime.datetime(2024, 11, 25, 10, tzinfo=ZoneInfo("Asia/Taipei"))
    monkeypatch.setattr(timezone, "now", lambda: moment)

    # then July and November are outside it
    for month in ("2024-07", "2024-11"):
        response = post(lead_client, monthly, period=month)
        assert response.status_code == 400 and "outside the sub-project's months" in str(response.json()), month
    # and what is owed are August's and October's updates beside the two quarters
    owed = lead_client.get(f"{API_REPORTS}owed/").json()
    assert [(row["period"], row["kind"]) for row in owed] == [
        ("2024-08", "monthly"),
        ("2024Q3", "quarterly"),
        ("2024-10", "monthly"),
        ("2024Q4", "quarterly"),
    ]
    # and the late-report rule looks at October's, not November's
    lag_scan(as_of=datetime.date(2024, 11, 25))
    late = LagFlag.objects.get(node=monthly, rule="late_report", year=2024, quarter=4)
    assert (late.evidence["period"], late.evidence["kind"]) == ("2024-10", "monthly")


def test_updates_waiting_for_their_ministry_make_one_flag_of_the_longest_wait(plan, monthly):
    # given July's and August's updates submitted on their due dates and waiting for the ministry since
    LagSettingsFactory(plan=plan, endorsement_required=True)
    july = QuarterlyReportFactory(node=monthly, period=Month(2024, 7), submitted=True)
    QuarterlyReportFactory(node=monthly, period=Month(2024, 8), submitted=True)

    # when scanned on 2024-10-01: July waited 52 days (red after 28), August 21 (yellow after 14)
    lag_scan(as_of=datetime.date(2024, 10, 1))

    # then the quarter has one flag, July's
    flag = LagFlag.objects.get(node=monthly, rule="review_overdue")
    assert (flag.year, flag.quarter, flag.severity) == (2024, 3, "red")
    assert (flag.evidence["period"], flag.evidence["kind"], flag.evidence["report"]) == ("2024-07", "monthly", july.pk)
    assert flag.evidence["days_waiting"] == 52
