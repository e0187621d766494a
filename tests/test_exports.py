"""Bulk exports: the list's rows, scoping and filters, as CSV, XLSX and JSON Lines, streamed."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from gstp import exports
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
