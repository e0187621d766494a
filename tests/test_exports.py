"""Bulk exports: the list's rows, scoping and filters, as CSV, XLSX and JSON Lines, streamed."""

import csv
import datetime
import io
import json

import pytest
from openpyxl import load_workbook

from gstp import exports
from gstp.calendar import Calendar
from reviews.models import ReportStatus
from reviews.periods import Quarter
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.factories import report_in_status


@pytest.fixture
def reports(agency):
    _, _, _, subs = make_tree(PlanFactory(), lead_agency=agency, subprojects=3)
    return [
        report_in_status(node=subs[0], status=ReportStatus.ACCEPTED, period=Quarter(2024, 1)),
        report_in_status(node=subs[1], status=ReportStatus.DRAFT, period=Quarter(2024, 1)),
        report_in_status(node=subs[2], status=ReportStatus.SUBMITTED, period=Quarter(2024, 2)),
    ]


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_csv_streams_the_rows_a_user_may_see(reader_client, secretariat_client, reports):
    as_reader = reader_client.get("/api/v1/exports/reports/")
    as_secretariat = secretariat_client.get("/api/v1/exports/reports/", {"format": "csv"})

    assert as_reader.streaming
    assert as_reader["Content-Type"].startswith("text/csv")
    assert 'filename="gstp-reports.csv"' in as_reader["Content-Disposition"]
    reader_rows = list(csv.DictReader(io.StringIO(body(as_reader).decode("utf-8-sig"))))
    secretariat_rows = list(csv.DictReader(io.StringIO(body(as_secretariat).decode("utf-8-sig"))))
    assert [int(row["id"]) for row in reader_rows] == [reports[0].pk]  # no draft or submitted report leaks
    assert {int(row["id"]) for row in secretariat_rows} == {report.pk for report in reports}
    assert reader_rows[0]["period"] == "2024Q1"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rows_are_sent_in_blocks_of_whole_lines(secretariat_client, reports, monkeypatch, fmt):
    # given blocks of two lines
    monkeypatch.setattr(exports, "BLOCK_LINES", 2)

    chunks = [
        chunk.decode("utf-8-sig")
        for chunk in secretariat_client.get("/api/v1/exports/reports/", {"format": fmt}).streaming_content
    ]

    # then the header and three rows (csv) or three rows (jsonl) come two lines a chunk, each chunk whole lines
    lines = 4 if fmt == "csv" else 3
    assert [chunk.count("\n") for chunk in chunks] == [2] * (lines // 2) + [1] * (lines % 2)
    assert all(chunk.endswith("\n") for chunk in chunks)


def test_jsonl_applies_the_lists_filters(secretariat_client, reports):
    response = secretariat_client.get("/api/v1/exports/reports/", {"format": "jsonl", "status": "draft"})

    lines = [json.loads(line) for line in body(response).decode().splitlines()]
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert [line["id"] for line in lines] == [reports[1].pk]
    assert lines[0]["status"] == "draft"


def test_xlsx_opens_with_a_header_and_the_rows(secretariat_client, reports):
    response = secretariat_client.get("/api/v1/exports/projects/", {"format": "xlsx", "kind": "subproject"})

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:6] == ("id", "plan", "parent", "kind", "number", "title")
    assert len(rows) == 1 + 3
    assert {row[3] for row in rows[1:]} == {"subproject"}
    assert all(row[6] == "數位發展部" for row in rows[1:])  # lead agencies


def test_flags_and_indicator_values_export(secretariat_client, reports):
    flags = secretariat_client.get("/api/v1/exports/flags/", {"format": "jsonl"})
    values = secretariat_client.get("/api/v1/exports/indicator-values/", {"format": "csv"})

    assert flags.status_code == values.status_code == 200
    assert body(flags) == b""
    assert body(values).decode("utf-8-sig") == ""


@pytest.mark.parametrize(
    ("url", "params", "status", "field"),
    [
        ("/api/v1/exports/reports/", {"format": "pdf"}, 400, "format"),
        ("/api/v1/exports/reports/", {"status": "bogus"}, 400, "status"),
        ("/api/v1/exports/secrets/", {}, 404, None),
    ],
)
def test_bad_requests_are_json_errors(secretariat_client, url, params, status, field):
    response = secretariat_client.get(url, params)

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    if field:
        assert field in response.json()["errors"]


def test_anonymous_gets_nothing(anonymous_client, reports):
    assert anonymous_client.get("/api/v1/exports/reports/").status_code == 401


# --- the calendar people read dates in ---------------------------------------------------------------


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig"))))


def test_csv_in_the_roc_calendar(secretariat_client, reports):
    gregorian = csv_rows(secretariat_client.get("/api/v1/exports/reports/", {"status": "accepted"}))
    roc = csv_rows(secretariat_client.get("/api/v1/exports/reports/", {"status": "accepted", "calendar": "roc"}))

    assert (gregorian[0]["period"], gregorian[0]["due_on"]) == ("2024Q1", "2024-04-10")
    assert (roc[0]["period"], roc[0]["due_on"]) == ("113年第1季", "113/04/10")
    accepted = reports[0].accepted_at.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert roc[0]["accepted_at"] == f"{accepted.year - 1911}/{accepted:%m/%d %H:%M}"
    assert gregorian[0]["accepted_at"].startswith(reports[0].accepted_at.date().isoformat())


def test_xlsx_cells_in_the_roc_calendar(secretariat_client, reports):
    response = secretariat_client.get("/api/v1/exports/reports/", {"format": "xlsx", "calendar": "roc"})

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header, *rows = list(workbook.active.iter_rows(values_only=True))
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_id[reports[2].pk]["period"] == "113年第2季"
    assert by_id[reports[2].pk]["due_on"] == "113/07/10"


def test_the_user_s_own_calendar_is_the_default_and_json_lines_stay_iso(secretariat_client, reports):
    user = secretariat_client.user
    user.calendar = Calendar.ROC
    user.save()

    assert csv_rows(secretariat_client.get("/api/v1/exports/reports/", {"status": "accepted"}))[0]["period"] == (
        "113年第1季"
    )
    asked = csv_rows(
        secretariat_client.get("/api/v1/exports/reports/", {"status": "accepted", "calendar": "gregorian"})
    )
    assert asked[0]["period"] == "2024Q1"
    lines = body(secretariat_client.get("/api/v1/exports/reports/", {"format": "jsonl", "status": "accepted"}))
    assert json.loads(lines)["period"] == "2024Q1"
    assert json.loads(lines)["due_on"] == "2024-04-10"


def test_the_plan_s_calendar_is_the_default_for_who_has_not_chosen(secretariat_client, reports):
    reports[0].node.plan.__class__.objects.update(calendar=Calendar.ROC)

    assert csv_rows(secretariat_client.get("/api/v1/exports/reports/", {"status": "accepted"}))[0]["period"] == (
        "113年第1季"
    )


@pytest.mark.parametrize(("language", "text"), [("en", "Use gregorian or roc."), ("zh-Hant", "民國")])
def test_an_unknown_calendar_is_refused_naming_it(secretariat_client, reports, language, text):
    response = secretariat_client.get("/api/v1/exports/reports/", {"calendar": "julian"}, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    assert text in response.json()["errors"]["calendar"][0]


def test_a_filter_takes_a_roc_quarter(secretariat_client, reports):
    rows = csv_rows(secretariat_client.get("/api/v1/exports/reports/", {"period": "113年第2季"}))

    assert [int(row["id"]) for row in rows] == [reports[2].pk]
