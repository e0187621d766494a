"""The demo data: a fresh install shows red and yellow flags with their evidence and a review queue at once,
and every demo lead has a quarter to file, whatever the day it is loaded."""

import datetime
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_issue
from projects.models import Milestone, Plan, PlanNode
from reviews.demo import demo_calendar
from reviews.models import LagFlag, QuarterlyReport, ReportEvent, ReportStatus
from reviews.periods import Quarter, today

DEMO_LEADS = ["moda-lead", "moea-lead", "moe-lead", "nstc-lead", "moi-lead"]
EVERY_RULE_BUT_SLIPPAGE = {"late_report", "milestone_overdue", "progress_gap", "budget_execution", "indicator_behind"}


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def calendar():
    return demo_calendar(today(), due_days=Plan.objects.get().report_due_days)


def test_every_subproject_gets_dates_milestones_an_indicator_and_eight_quarters(demo):
    subprojects = PlanNode.objects.subprojects()

    assert subprojects.count() == 149
    assert set(subprojects.values_list("start_date", "end_date")) == {(calendar().start, calendar().end)}
    assert Milestone.objects.count() == 149 * 4
    per_project = set(QuarterlyReport.objects.values("node").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_project == {8}
    reported = set(QuarterlyReport.objects.values_list("year", "quarter"))
    assert reported == {(period.year, period.quarter) for period in calendar().reported()}
    assert not subprojects.filter(indicators__isnull=True).exists()


@pytest.mark.parametrize(
    ("day", "first", "latest", "last"),
    [
        # the latest quarter reported is the latest whose report fell due (10 days after it) before the day
        (datetime.date(2026, 12, 6), Quarter(2024, 4), Quarter(2026, 3), Quarter(2027, 3)),
        (datetime.date(2027, 1, 10), Quarter(2024, 4), Quarter(2026, 3), Quarter(2027, 3)),
        (datetime.date(2027, 1, 11), Quarter(2025, 1), Quarter(2026, 4), Quarter(2027, 4)),
        (datetime.date(2030, 7, 1), Quarter(2028, 2), Quarter(2030, 1), Quarter(2031, 1)),
    ],
)
def test_the_calendar_counts_eight_quarters_back_and_runs_on_past_the_next(day, first, latest, last):
    calendar = demo_calendar(day, due_days=10)

    assert (calendar.first, calendar.latest, calendar.last) == (first, latest, last)
    assert len(list(calendar.reported())) == 8
    assert (calendar.start, calendar.end) == (first.start, last.end)
    assert Quarter.containing(day).next() <= calendar.last


def test_latest_quarter_has_drafts_a_review_queue_and_returned_reports(demo):
    latest_quarter = calendar().latest
    in_latest = QuarterlyReport.objects.filter(year=latest_quarter.year, quarter=latest_quarter.quarter)
    latest = dict(in_latest.values_list("status").annotate(n=Count("id")))

    assert latest[ReportStatus.DRAFT] > 0
    assert latest[ReportStatus.SUBMITTED] > 0
    assert latest[ReportStatus.RETURNED] > 0
    assert latest[ReportStatus.ACCEPTED] > latest[ReportStatus.SUBMITTED]
    assert not QuarterlyReport.objects.exclude(pk__in=in_latest).exclude(status=ReportStatus.ACCEPTED).exists()


def test_reports_carry_their_history_and_some_were_late(demo):
    accepted = QuarterlyReport.objects.filter(status=ReportStatus.ACCEPTED).first()

    assert list(accepted.events.order_by("at").values_list("action", flat=True)) == ["create", "submit", "accept"]
    assert ReportEvent.objects.filter(report=accepted).first().at.date() < accepted.due_on
    assert QuarterlyReport.objects.filter(submitted_on_time=False).exists()
    assert QuarterlyReport.objects.filter(submitted_on_time=True).exists()


def test_flags_show_at_once_in_red_and_yellow_with_evidence(demo):
    severities = set(LagFlag.objects.values_list("severity", flat=True))
    rules = set(LagFlag.objects.values_list("rule", flat=True))

    assert severities == {"red", "yellow"}
    assert rules == {"late_report", "milestone_overdue", "progress_gap", "budget_execution", "indicator_behind"}
    gap = LagFlag.objects.filter(rule="progress_gap", severity="yellow").first()
    assert gap.evidence["rule"] == "progress_gap"
    assert float(gap.evidence["gap"]) <= float(gap.evidence["yellow_at_or_below"])


def test_nothing_in_the_demo_happens_after_it_was_loaded(demo):
    now = timezone.now()

    assert not ReportEvent.objects.filter(at__gt=now).exists()
    assert not QuarterlyReport.objects.filter(submitted_at__gt=now).exists()
    assert not QuarterlyReport.objects.filter(accepted_at__gt=now).exists()
    assert not QuarterlyReport.objects.filter(returned_at__gt=now).exists()
    assert not Milestone.objects.filter(completed_on__gt=today()).exists()
    # the plan's years reach the sub-projects' last, so that their reports and annual reports fall within them
    plan = Plan.objects.get()
    assert (plan.start_year, plan.end_year) == (2021, max(2025, calendar().last.year))


def test_demo_data_is_deterministic_and_loaded_once(demo):
    figures = list(
        QuarterlyReport.objects.order_by("node__path", "year", "quarter").values_list(
            "node__title", "year", "quarter", "status", "actual_progress", "budget_spent"
        )
    )
    flags = sorted(LagFlag.objects.values_list("node__title", "rule", "severity"))

    call_command("seed_demo", stdout=io.StringIO())

    assert QuarterlyReport.objects.count() == len(figures)
    assert (
        list(
            QuarterlyReport.objects.order_by("node__path", "year", "quarter").values_list(
                "node__title", "year", "quarter", "status", "actual_progress", "budget_spent"
            )
        )
        == figures
    )
    assert sorted(LagFlag.objects.values_list("node__title", "rule", "severity")) == flags


def set_today(monkeypatch, day: datetime.date) -> None:
    """Make ``day`` today (10:00 in Taipei) for the services, the pages and the API."""
    moment = datetime.datetime.combine(day, datetime.time(10), tzinfo=ZoneInfo("Asia/Taipei"))
    monkeypatch.setattr(timezone, "now", lambda: moment)


def api_client(username: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=User.objects.get(username=username))}")
    return client


def schema_example(client, component: str) -> dict:
    schema = client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en").json()
    return schema["components"]["schemas"][component]["example"]


def as_in_this_database(example: dict) -> dict:
    """The schema's example names the ids of a fresh demo database (sub-project 3 is 超高速寬頻網路普及, its
    milestone 4 驗收結案, its indicator 14); the same objects here, wherever the ids started."""
    node = PlanNode.objects.get(title="超高速寬頻網路普及")
    return {
        **example,
        "project": node.pk,
        "milestone_entries": [
            {**entry, "milestone": node.milestones.get(title="驗收結案").pk} for entry in example["milestone_entries"]
        ],
        "indicator_values": [{**value, "indicator": node.indicators.get().pk} for value in example["indicator_values"]],
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "day",
    [
        datetime.date(2026, 12, 6),
        datetime.date(2027, 1, 10),  # the last quarter's reports fall due today: two quarters to file
        datetime.date(2027, 1, 11),  # the day after they fell due
        datetime.date(2027, 2, 15),
        datetime.date(2030, 7, 1),
    ],
)
def test_every_demo_lead_has_a_quarter_to_file_whatever_the_day(db, monkeypatch, day):
    # given the demo loaded on that day
    set_today(monkeypatch, day)
    call_command("seed_demo", stdout=io.StringIO())
    current = Quarter.containing(day)

    # then the first scan opens flags of every rule, in red and yellow
    assert set(LagFlag.objects.values_list("rule", flat=True)) == EVERY_RULE_BUT_SLIPPAGE
    assert set(LagFlag.objects.values_list("severity", flat=True)) == {"red", "yellow"}
    # the indicators run behind on the sub-projects behind plan, and only there
    behind_plan = set(LagFlag.objects.filter(rule="progress_gap").values_list("node", flat=True))
    assert set(LagFlag.objects.filter(rule="indicator_behind").values_list("node", flat=True)) == behind_plan
    example_node = PlanNode.objects.get(title="超高速寬頻網路普及")
    to_file = {}
    for username in DEMO_LEADS:
        api = api_client(username)
        console = Client()
        console.force_login(User.objects.get(username=username))

        # and each lead owes the current quarter of its sub-projects, with no report yet, and the next one after
        owed = api.get("/api/v1/reports/owed/").json()
        current_owed = [item["project"] for item in owed if item["period"] == str(current)]
        assert current_owed, username
        assert {item["status"] for item in owed if item["period"] == str(current)} == {"missing"}
        # (one sub-project each to file below; some have several lead agencies)
        node = PlanNode.objects.get(
            pk=next(pk for pk in current_owed if pk not in {example_node.pk, *to_file.values()})
        )
        assert Quarter.containing(node.end_date) > current
        to_file[username] = node.pk
        # which the console offers too: on the agency's page, and on the filing form
        filing_form = reverse("console:report-new", args=[node.pk])
        assert f'href="{filing_form}?period={current}" data-action="file-report"' in console.get("/agency/").text
        assert re.search(rf'<option value="{current}"', console.get(filing_form).text), username

    # when each lead files it through the API, then it is taken
    for username, project in to_file.items():
        response = api_client(username).post(
            "/api/v1/reports/", {"project": project, "period": str(current)}, format="json"
        )
        assert response.status_code == 201, (username, response.json())
        assert response.json()["period"] == str(current)

    # and the schema's examples of what is owed and of a report to file are the demo's: the report is taken
    moda = api_client("moda-lead")
    owed_example = {**schema_example(moda, "OwedReport"), "project": example_node.pk}
    assert owed_example in moda.get("/api/v1/reports/owed/").json()
    response = moda.post(
        "/api/v1/reports/", as_in_this_database(schema_example(moda, "ReportCreateRequest")), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["period"] == str(current)
