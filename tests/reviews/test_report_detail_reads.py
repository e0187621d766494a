"""A report's detail read: its 304 and its cached representation decided from one row.

The read asks for the report's row (whether the caller sees it, its version, its allocation to date) and then
answers 304, or the representation cached under that row's key, or builds it. What the representation depends on
besides the version (the ledger's allocation, the calendar's lateness, the language) is in the key, so a change to
any of them is never answered from the cache; a cache that does not answer costs nothing but its time-out.
"""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import token_issue
from gstp.representations import ALIAS
from projects.models import BudgetYear
from reviews import services
from reviews.models import ReportMilestoneEntry
from tests.projects.factories import MilestoneFactory
from tests.reviews.factories import QuarterlyReportFactory, lead_user_for
from tests.support.processes import free_port


@pytest.fixture
def report(db):
    return QuarterlyReportFactory(submitted=True)


@pytest.fixture
def client(report):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=lead_user_for(report.node))}")
    client.get("/api/v1/agencies/")  # the key's last use is written on its first request, not counted below
    return client


def queries(client, path, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    return response, [query["sql"] for query in captured.captured_queries]


def test_a_304_costs_the_key_and_the_reports_row_and_a_cached_read_what_else_it_depends_on(client, report):
    path = f"/api/v1/reports/{report.pk}/"

    cold, cold_sql = queries(client, path)
    cached, cached_sql = queries(client, path)
    unchanged, unchanged_sql = queries(client, path, HTTP_IF_NONE_MATCH=cold["ETag"])

    # the API key; the report's row; its ledger; its milestones' latest change; then, to write it, its sub-project,
    # entries and values
    assert len(cold_sql) == 7
    assert unchanged_sql == cold_sql[:2] and cached_sql == cold_sql[:4]
    row, ledger, milestones = cold_sql[1], cold_sql[2], cold_sql[3]
    assert 'FROM "reviews_quarterlyreport"' in row and "budgetyear" not in row and "milestone" not in row
    assert 'FROM "projects_budgetyear"' in ledger
    assert 'MAX("projects_milestone"."updated_at")' in milestones
    assert 'FROM "projects_plannode"' in cold_sql[4]
    assert "reviews_reportmilestoneentry" in cold_sql[5] and "reviews_reportindicatorvalue" in cold_sql[6]
    assert cached.content == cold.content and cached["ETag"] == cold["ETag"] == report.etag
    assert unchanged.status_code == 304 and unchanged.content == b""


def test_a_changed_report_is_read_anew(client, report):
    path = f"/api/v1/reports/{report.pk}/"
    before = client.get(path)
    version = report.version

    services.report_withdraw(
        actor=lead_user_for(report.node), report=report, expected_version=report.version, reason="補件"
    )
    after = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after.json()["status"] == "draft" and after.json()["version"] == version + 1
    assert after["ETag"] != before["ETag"]


def test_a_changed_allocation_is_read_anew_though_the_reports_version_is_the_same(client, report):
    path = f"/api/v1/reports/{report.pk}/"
    before = client.get(path).json()

    BudgetYear.objects.filter(node=report.node, year=report.year).update(
        allocation_q1=0, allocation_q2=0, allocation_q3=0
    )
    after = client.get(path).json()

    assert after["version"] == before["version"]
    assert before["budget_allocated"] == "500000" and after["budget_allocated"] == "0"
    assert after["execution_rate"] is None


def test_without_its_cache_a_read_is_built_as_usual(client, report):
    path = f"/api/v1/reports/{report.pk}/"
    expected = client.get(path).content
    away = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }

    with override_settings(CACHES={**settings.CACHES, ALIAS: away}):
        response = client.get(path)

    assert response.status_code == 200 and response.content == expected


def test_a_failed_precondition_on_a_read_is_412_as_for_any_other_read(client, report):
    path = f"/api/v1/reports/{report.pk}/"
    etag = client.get(path)["ETag"]

    assert client.get(path, HTTP_IF_MATCH='"0-0"').status_code == 412
    assert client.get(path, HTTP_IF_MATCH=etag).status_code == 200
    assert client.get(f"/api/v1/projects/{report.node_id}/", HTTP_IF_MATCH='"0-0"').status_code == 412


def test_a_milestone_moved_reorders_the_entries_of_a_cached_report(client, report):
    # given a report with entries for two milestones, in the order of their planned dates, read once
    early = MilestoneFactory(node=report.node, planned_date=datetime.date(2024, 3, 31))
    late = MilestoneFactory(node=report.node, planned_date=datetime.date(2024, 9, 30))
    ReportMilestoneEntry.objects.create(report=report, milestone=early, completed_on=datetime.date(2024, 3, 20))
    ReportMilestoneEntry.objects.create(report=report, milestone=late, forecast_date=datetime.date(2024, 9, 30))
    path = f"/api/v1/reports/{report.pk}/"
    assert [entry["milestone"] for entry in client.get(path).json()["milestone_entries"]] == [early.pk, late.pk]

    # when a revision moves the first one after the second (the report's version stays)
    early.planned_date = datetime.date(2024, 12, 31)
    early.save(update_fields=["planned_date", "updated_at"])

    # then the next read has them in their new order, as a list does
    entries = client.get(path).json()["milestone_entries"]
    assert [entry["milestone"] for entry in entries] == [late.pk, early.pk]
    listed = client.get("/api/v1/reports/", {"project": report.node_id}).json()["results"][0]["milestone_entries"]
    assert listed == entries


@pytest.mark.parametrize("form", ["weak", "list", "any"])
def test_every_form_of_if_none_match_that_holds_gets_the_304(client, report, form):
    path = f"/api/v1/reports/{report.pk}/"
    etag = client.get(path)["ETag"]
    header = {"weak": f"W/{etag}", "list": f'"0-0", {etag}', "any": "*"}[form]

    response = client.get(path, HTTP_IF_NONE_MATCH=header)

    assert response.status_code == 304 and response["ETag"] == etag
