"""``?as_of=``: what GSTP said at a past moment, answered from the recorded history.

A scripted history (a report filed, accepted, a scan's flag, the sub-project's end date moved, the flag
resolved) is read back at each moment and gives that moment's state, on SQLite and on PostgreSQL alike.
"""

import datetime
import importlib
from decimal import Decimal
from email.utils import parsedate_to_datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews import services
from reviews.models import FlagStatus, LagFlag, QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.projects.factories import MilestoneFactory, allocate, make_tree
from tests.reviews.factories import LagFlagFactory, moment, report_in_status, scripted_history

PROJECTS = "/api/v1/projects/"
REPORTS = "/api/v1/reports/"
FLAGS = "/api/v1/flags/"
LIGHTS = "/api/v1/lights/"
MILESTONES = "/api/v1/milestones/"


@pytest.fixture
def history(agency):
    return scripted_history(agency)


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_each_moment_reads_back_as_it_was(secretariat_client, history):
    sub, milestone, report, flag, moments = history

    def state(when):
        project = get(secretariat_client, f"{PROJECTS}{sub.pk}/", as_of=when)
        reports = get(secretariat_client, REPORTS, as_of=when, project=sub.pk)["results"]
        flags = get(secretariat_client, FLAGS, as_of=when, project=sub.pk)["results"]
        (lights,) = get(secretariat_client, LIGHTS, plan=sub.plan_id, by="plan", as_of=when)
        return (
            project["end_date"],
            project["light"],
            [(row["status"], row["actual_progress"]) for row in reports],
            [(row["status"], row["severity"]) for row in flags],
            (lights["red"], lights["yellow"], lights["green"]),
        )

    red = flag.severity == "red"
    flag_light = (1, 0, 0) if red else (0, 1, 0)
    assert state(moments["planned"]) == ("2025-12-31", "green", [], [], (0, 0, 1))
    assert state(moments["filed"]) == ("2025-12-31", "green", [("submitted", "20.00")], [], (0, 0, 1))
    assert state(moments["accepted"]) == ("2025-12-31", "green", [("accepted", "20.00")], [], (0, 0, 1))
    flagged = [("open", flag.severity)]
    assert state(moments["flagged"]) == ("2025-12-31", flag.severity, [("accepted", "20.00")], flagged, flag_light)
    assert state(moments["revised"]) == ("2026-06-30", flag.severity, [("accepted", "20.00")], flagged, flag_light)
    resolved = [("resolved", flag.severity)]
    assert state(moments["resolved"]) == ("2026-06-30", "green", [("accepted", "20.00")], resolved, (0, 0, 1))
    # and the present agrees with the last moment
    assert get(secretariat_client, f"{PROJECTS}{sub.pk}/")["light"] == "green"
    assert get(secretariat_client, f"{MILESTONES}{milestone.pk}/", as_of=moments["planned"])["planned_date"] == (
        "2025-03-31"
    )


def test_a_row_created_later_is_not_found_as_of_before(secretariat_client, history):
    sub, _, report, flag, moments = history
    assert secretariat_client.get(f"{REPORTS}{report.pk}/", {"as_of": moments["planned"]}).status_code == 404
    assert secretariat_client.get(f"{FLAGS}{flag.pk}/", {"as_of": moments["accepted"]}).status_code == 404
    earlier = get(secretariat_client, f"{REPORTS}{report.pk}/", as_of=moments["filed"])
    assert (earlier["status"], earlier["version"]) == ("submitted", 2)


def test_the_flag_queue_as_of_a_moment_shows_it_open_with_its_severity(secretariat_client, history):
    sub, _, _, flag, moments = history
    before = get(secretariat_client, f"{FLAGS}{flag.pk}/", as_of=moments["revised"])
    after = get(secretariat_client, f"{FLAGS}{flag.pk}/", as_of=moments["resolved"])
    assert (before["status"], before["resolution"]) == ("open", "")
    assert after["status"] == FlagStatus.RESOLVED
    assert get(secretariat_client, PROJECTS, as_of=moments["flagged"], light=flag.severity)["count"] == 1
    assert get(secretariat_client, PROJECTS, as_of=moments["resolved"], light=flag.severity)["count"] == 0


def test_a_date_is_the_end_of_that_day_in_taipei(secretariat_client, history):
    sub, *_ = history
    today = timezone.localdate().isoformat()
    assert get(secretariat_client, f"{PROJECTS}{sub.pk}/", as_of=today)["end_date"] == "2026-06-30"
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    assert secretariat_client.get(f"{PROJECTS}{sub.pk}/", {"as_of": yesterday}).status_code == 404


# --------------------------------------------------------------------------- scope


def test_as_of_answers_are_scoped_as_the_live_ones(lead_client, other_lead_client, reader_client, history):
    sub, _, report, flag, moments = history
    # a reader sees accepted reports only: the report as of its filing was not accepted yet
    assert reader_client.get(f"{REPORTS}{report.pk}/", {"as_of": moments["filed"]}).status_code == 404
    assert get(reader_client, REPORTS, as_of=moments["filed"])["count"] == 0
    assert get(reader_client, f"{REPORTS}{report.pk}/", as_of=moments["accepted"])["status"] == "accepted"
    # a lead sees its own report at every moment, another agency's lead not before it was accepted
    assert get(lead_client, f"{REPORTS}{report.pk}/", as_of=moments["filed"])["status"] == "submitted"
    assert other_lead_client.get(f"{REPORTS}{report.pk}/", {"as_of": moments["filed"]}).status_code == 404
    # flags: the sub-project's lead sees them, another agency's lead does not
    assert get(lead_client, FLAGS, as_of=moments["flagged"])["count"] == 1
    assert get(other_lead_client, FLAGS, as_of=moments["flagged"])["count"] == 0
    assert other_lead_client.get(f"{FLAGS}{flag.pk}/", {"as_of": moments["flagged"]}).status_code == 404


# --------------------------------------------------------------------------- read-only, cacheable, errors


def test_an_as_of_answer_is_read_only(secretariat_client, history):
    _, _, report, flag, moments = history
    response = secretariat_client.post(f"{FLAGS}{flag.pk}/acknowledge/?as_of={moments['flagged'].replace('+', '%2B')}")
    assert response.status_code == 400
    assert "as_of" in response.json()["errors"]
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.RESOLVED


def test_an_as_of_answer_has_an_etag_and_is_not_modified_after_its_moment(secretariat_client, history):
    sub, _, _, _, moments = history
    first = secretariat_client.get(PROJECTS, {"as_of": moments["flagged"]})
    assert first.status_code == 200
    etag = first["ETag"]
    assert parsedate_to_datetime(first["Last-Modified"]) <= datetime.datetime.fromisoformat(moments["flagged"])
    again = secretariat_client.get(PROJECTS, {"as_of": moments["flagged"]}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    later = secretariat_client.get(PROJECTS, {"as_of": moments["resolved"]}, HTTP_IF_NONE_MATCH=etag)
    assert later.status_code == 200


@pytest.mark.parametrize("day", ["113/12/31", "民國113年12月31日", "１１３／１２／３１"])
def test_as_of_a_day_written_in_the_roc_calendar(secretariat_client, db, day):
    roc = secretariat_client.get(PROJECTS, {"as_of": day})
    iso = secretariat_client.get(PROJECTS, {"as_of": "2024-12-31"})

    assert roc.status_code == iso.status_code == 200
    assert roc.json() == iso.json()


@pytest.mark.parametrize(
    ("value", "language", "message"),
    [
        ("2025-13-01", "en", "Use a date"),
        ("yesterday", "en", "Use a date"),
        ("2025-09-30T18:00:00", "en", "Use a date"),  # no offset
        ("2999-01-01", "en", "has passed"),
        ("2999-01-01T00:00:00+08:00", "en", "has passed"),
        ("2025-13-01", "zh-hant", "日期"),
        ("114/13/01", "en", "114/09/30 or 民國114年9月30日"),
        ("民國0年1月1日", "zh-hant", "民國114年9月30日"),
        ("民國888年1月1日", "en", "has passed"),
        ("2999-01-01", "zh-hant", "尚未"),
    ],
)
def test_a_bad_or_future_as_of_is_a_400_naming_it(secretariat_client, db, value, language, message):
    for url in (PROJECTS, REPORTS, FLAGS, MILESTONES, "/api/v1/indicators/"):
        response = secretariat_client.get(url, {"as_of": value}, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400, (url, response.content)
        assert message in response.json()["errors"]["as_of"][0]


# --------------------------------------------------------------------------- query counts


def _queries(client, url, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("url", [PROJECTS, REPORTS, FLAGS, MILESTONES])
def test_as_of_pages_cost_the_same_for_one_row_and_many(secretariat_client, agency, url):
    _, _, _, subs = make_tree(lead_agency=agency, subprojects=1)
    for sub in subs:
        MilestoneFactory(node=sub)
        report_in_status(node=sub, status=ReportStatus.ACCEPTED, actual_progress=Decimal("10.00"), delay_reasons="x")
    services.lag_scan(as_of=datetime.date(2024, 5, 20))
    one = _queries(secretariat_client, url, {"as_of": moment()})
    _, _, _, subs = make_tree(lead_agency=agency, subprojects=6)
    for sub in subs:
        MilestoneFactory(node=sub)
        report_in_status(node=sub, status=ReportStatus.ACCEPTED, actual_progress=Decimal("10.00"), delay_reasons="x")
    services.lag_scan(as_of=datetime.date(2024, 5, 20))
    many = _queries(secretariat_client, url, {"as_of": moment()})
    assert one == many


# --------------------------------------------------------------------------- history's starting point


def test_rows_from_before_history_get_their_starting_point_and_earlier_moments_are_refused(secretariat_client, agency):
    from django.apps import apps

    from projects.models import PlanNode

    starting_point = importlib.import_module("reviews.migrations.0011_history_starting_point")
    _, _, _, (sub,) = make_tree(lead_agency=agency)
    report = report_in_status(node=sub, status=ReportStatus.SUBMITTED)
    PlanNode.history.all().delete()
    QuarterlyReport.history.all().delete()
    # The migration dates the rows by the database's clock (CURRENT_TIMESTAMP: on PostgreSQL, when the
    # transaction began, here the test's own); read it the same way, to the second as SQLite keeps it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        (clock,) = cursor.fetchone()
    if isinstance(clock, str):
        clock = datetime.datetime.fromisoformat(clock).replace(tzinfo=datetime.UTC)
    before_migration = clock.replace(microsecond=0)
    # What the migration uses of its schema editor (SQLite's cannot open inside the test's transaction).
    editor = SimpleNamespace(quote_name=connection.ops.quote_name, execute=lambda sql: connection.cursor().execute(sql))
    starting_point.record_starting_points(apps, editor)
    starting_point.record_starting_points(apps, editor)  # a second run adds nothing
    (row,) = PlanNode.history.filter(id=sub.pk)
    assert (row.history_type, row.end_date, row.history_change_reason) == ("+", sub.end_date, "history began")
    assert row.history_date >= before_migration
    assert QuarterlyReport.history.get(id=report.pk).status == "submitted"
    assert get(secretariat_client, f"{REPORTS}{report.pk}/", as_of=moment())["status"] == "submitted"
    # before history began, what the rows said was never recorded: refused, not guessed
    response = secretariat_client.get(
        f"{REPORTS}{report.pk}/",
        {"as_of": (report.created_at - datetime.timedelta(days=1)).isoformat()},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "recorded history begins at" in response.json()["errors"]["as_of"][0]


def test_cursor_pages_as_of_a_moment(secretariat_client, agency):
    _, _, _, subs = make_tree(lead_agency=agency, subprojects=3)
    when = moment()
    make_tree(lead_agency=agency, subprojects=2)  # created after the moment
    first = get(secretariat_client, PROJECTS, cursor="", page_size=4, kind="subproject", as_of=when)
    assert [row["id"] for row in first["results"]] == [sub.pk for sub in subs]
    assert first["next"] is None


def test_what_is_only_ever_present_refuses_as_of(lead_client, db):
    response = lead_client.get("/api/v1/reports/owed/", {"as_of": "2025-01-01"}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert response.status_code == 400
    assert "目前" in response.json()["errors"]["as_of"][0]


def test_the_scans_bulk_writes_are_in_the_flags_history(agency):
    # given a flag the next scan clears (the sub-project's accepted report is on plan) and one it opens
    _, _, _, (cleared_sub, lagging_sub) = make_tree(lead_agency=agency, subprojects=2)
    for sub in (cleared_sub, lagging_sub):
        sub.start_date = datetime.date(2024, 1, 1)
        sub.save()
    report_in_status(node=cleared_sub, status=ReportStatus.ACCEPTED, budget_spent=Decimal("450000"))
    report_in_status(
        node=lagging_sub,
        status=ReportStatus.ACCEPTED,
        actual_progress=Decimal("20.00"),
        budget_spent=Decimal("450000"),
        delay_reasons="採購流標",
    )
    stale = LagFlagFactory(node=cleared_sub, rule="progress_gap", period=Quarter(2024, 1))

    # when the scan runs
    services.lag_scan(as_of=datetime.date(2024, 5, 20))

    # then each flag's history ends with the state the scan left, dated when it wrote it
    new = LagFlag.objects.get(node=lagging_sub)
    for flag, types in ((stale, ["+", "~"]), (new, ["+"])):
        flag.refresh_from_db()
        rows = list(LagFlag.history.filter(id=flag.pk).order_by("history_date", "history_id"))
        assert [row.history_type for row in rows] == types
        assert (rows[-1].status, rows[-1].severity, rows[-1].history_date) == (
            flag.status,
            flag.severity,
            flag.updated_at if types == ["+", "~"] else flag.opened_at,
        )
    assert stale.status == FlagStatus.RESOLVED


def test_a_report_as_of_a_moment_reads_the_budget_ledger_as_it_stood(secretariat_client, agency):
    _, _, _, (sub,) = make_tree(lead_agency=agency)
    report = report_in_status(
        node=sub, status=ReportStatus.ACCEPTED, period=Quarter(2025, 2), budget_spent=Decimal(800000)
    )
    ledger = allocate(sub, 2025, 2, "1000000")
    before_the_cut = moment()
    ledger.allocation_q2 = ledger.allocation_q2 - Decimal(500000)  # 1,000,000 to date becomes 500,000
    ledger.save()

    then = get(secretariat_client, f"{REPORTS}{report.pk}/", as_of=before_the_cut)
    now = get(secretariat_client, f"{REPORTS}{report.pk}/")
    assert (then["budget_allocated"], then["execution_rate"]) == ("1000000", "80.0")
    assert (now["budget_allocated"], now["execution_rate"]) == ("500000", "160.0")
    ledger_then = get(secretariat_client, f"/api/v1/budgets/{ledger.pk}/", as_of=before_the_cut)
    assert Decimal(ledger_then["allocation_q1"]) + Decimal(ledger_then["allocation_q2"]) == Decimal(1000000)
