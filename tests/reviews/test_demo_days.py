"""Every demo lead has a quarter to file, whatever the day the demo is loaded (each test loads it on its day,
so these are not with the tests of test_demo.py, which share one load)."""

import datetime
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_issue
from projects.models import PlanNode
from reviews.models import LagFlag, ReportEvent
from reviews.periods import Quarter

from .test_demo import (
    DEMO_LEADS,
    EVERY_RULE_BUT_SLIPPAGE,
    assert_histories_consistent,
    assert_some_wait_too_long_some_a_few_days,
)


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
    # The days around a due date and one after the programme; a day in the middle of a quarter is today's, in
    # test_demo.py.
    [
        datetime.date(2027, 1, 10),  # the last quarter's reports fall due today: two quarters to file
        datetime.date(2027, 1, 11),  # the day after they fell due
        datetime.date(2030, 7, 1),
    ],
)
def test_every_demo_lead_has_a_quarter_to_file_whatever_the_day(db, monkeypatch, day):
    # given the demo loaded on that day
    set_today(monkeypatch, day)
    call_command("seed_demo", stdout=io.StringIO())
    current = Quarter.containing(day)

    # then its reports went through the chain before that day, some waiting for their ministry too long
    assert_histories_consistent()
    assert not ReportEvent.objects.filter(at__gt=timezone.now()).exists()
    assert_some_wait_too_long_some_a_few_days()

    # and the first scan opens flags of every rule, in red and yellow
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
