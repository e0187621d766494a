"""A report's evidence files (佐證資料) over the API: upload, list, download and removal, who sees them, the
kinds and sizes refused, and what the report's history and version say of each change."""

import datetime
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.test.utils import CaptureQueriesContext

from accounts.services import token_issue
from reviews import services
from reviews.models import EvidenceFile, QuarterlyReport, ReportStatus
from reviews.periods import today
from tests.accounts.factories import secretariat_user
from tests.hardening.test_request_limits import asgi_post
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews import evidence_samples as samples
from tests.reviews.factories import LagSettingsFactory, report_in_status
from tests.test_openapi_responses import validate

REPORTS = "/api/v1/reports/"
pytestmark = pytest.mark.usefixtures("media")


def stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


@pytest.fixture
def subproject(agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return sub


@pytest.fixture
def draft(subproject, lead_client):
    return report_in_status(node=subproject, author=lead_client.user)


def upload(client, report, content: bytes, name: str = "佐證.pdf", **headers):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(f"{REPORTS}{report.pk}/files/", {"file": file}, format="multipart", **headers)


def disposition_name(header: str) -> str:
    """The file name a client reads from Content-Disposition: filename* (RFC 8187) before filename."""
    extended = re.search(r"filename\*=utf-8''([^;]+)", header, re.IGNORECASE)
    if extended:
        return unquote(extended.group(1))
    return re.search(r'filename="([^"]*)"', header).group(1)


# --------------------------------------------------------------------------- upload, list, download


def test_a_lead_uploads_a_pdf_and_a_png_to_a_draft(lead_client, draft, media):
    pdf, image = samples.pdf(), samples.png(4, 4)

    first = upload(lead_client, draft, pdf, name="進度報告.pdf")
    second = upload(lead_client, draft, image, name="現場照片.png")

    assert (first.status_code, second.status_code) == (201, 201), first.content
    body = first.json()
    assert body["name"] == "進度報告.pdf"
    assert (body["size"], body["content_type"]) == (len(pdf), "application/pdf")
    assert body["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (body["uploaded_by"], body["frozen"]) == ("lead", False)
    assert body["download"] == f"{REPORTS}{draft.pk}/files/{body['id']}/"
    assert first["Location"] == body["download"]
    assert second.json()["content_type"] == "image/png"
    # each upload is a change of the report: its version, and so its ETag, moves on
    assert (first["Report-ETag"], second["Report-ETag"]) == (f'"{draft.pk}-2"', f'"{draft.pk}-3"')
    assert lead_client.get(f"{REPORTS}{draft.pk}/")["ETag"] == f'"{draft.pk}-3"'
    listing = lead_client.get(f"{REPORTS}{draft.pk}/files/").json()
    assert [item["name"] for item in listing] == ["進度報告.pdf", "現場照片.png"]
    assert len(stored_files(media)) == 2


def test_each_upload_is_in_the_reports_history(lead_client, draft):
    pdf = samples.pdf()

    uploaded = upload(lead_client, draft, pdf, name="報告.pdf").json()

    event = lead_client.get(f"{REPORTS}{draft.pk}/history/").json()[-1]
    assert (event["action"], event["actor"], event["version"]) == ("add_file", "lead", 2)
    assert event["changes"] == {
        "file": [None, {"id": uploaded["id"], "name": "報告.pdf", "size": len(pdf), "sha256": uploaded["sha256"]}]
    }


def test_a_chinese_file_name_survives_upload_list_and_download(lead_client, draft):
    name = "115年第1季 智慧政府 進度報告（修正版）.pdf"
    pdf = samples.pdf("round trip")

    created = upload(lead_client, draft, pdf, name=name).json()
    listed = lead_client.get(f"{REPORTS}{draft.pk}/files/").json()[0]
    download = lead_client.get(created["download"])

    assert listed["name"] == name
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert content == pdf
    assert hashlib.sha256(content).hexdigest() == listed["sha256"] == created["sha256"]
    header = download["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert disposition_name(header) == name
    # and an ASCII stand-in for clients that do not read filename*
    assert f'filename="evidence-{created["id"]}.pdf"' in header
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Length"] == str(len(pdf))
    assert download["X-Content-Type-Options"] == "nosniff"


def test_a_download_is_private_and_revalidated_by_its_hash(lead_client, draft):
    created = upload(lead_client, draft, samples.png()).json()

    first = lead_client.get(created["download"])
    again = lead_client.get(created["download"], HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["ETag"] == f'"{created["sha256"]}"'
    assert first["Cache-Control"] == "private"
    assert "sandbox" in first["Content-Security-Policy"]
    assert again.status_code == 304


def test_a_download_answers_whatever_the_client_accepts(lead_client, draft):
    created = upload(lead_client, draft, samples.pdf()).json()

    download = lead_client.get(created["download"], HTTP_ACCEPT="application/pdf")
    missing = lead_client.get(f"{REPORTS}{draft.pk}/files/{created['id'] + 1}/", HTTP_ACCEPT="application/pdf")

    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")
    assert missing.json()["code"] == "not_found"


def test_an_ascii_file_name_is_sent_as_it_is(lead_client, draft):
    created = upload(lead_client, draft, samples.csv_text(), name='progress "Q1".csv').json()

    download = lead_client.get(created["download"])

    assert download["Content-Disposition"] == 'attachment; filename="progress \\"Q1\\".csv"'
    assert download["Content-Type"] == "text/csv"


def test_the_list_costs_the_same_queries_for_one_file_and_for_many(lead_client, draft):
    upload(lead_client, draft, samples.pdf())
    with CaptureQueriesContext(connection) as one:
        assert len(lead_client.get(f"{REPORTS}{draft.pk}/files/").json()) == 1
    for _ in range(4):
        upload(lead_client, draft, samples.png())

    with CaptureQueriesContext(connection) as many:
        assert len(lead_client.get(f"{REPORTS}{draft.pk}/files/").json()) == 5

    assert len(many.captured_queries) == len(one.captured_queries) <= 8


def test_the_answers_match_the_published_schema(lead_client, draft):
    schema = lead_client.get("/api/v1/schema/", {"format": "json"}).json()

    created = upload(lead_client, draft, samples.pdf())
    listing = lead_client.get(f"{REPORTS}{draft.pk}/files/")
    refused = upload(lead_client, draft, samples.HTML, name="表.csv")

    validate(schema, "/api/v1/reports/{id}/files/", "post", 201, created.json())
    validate(schema, "/api/v1/reports/{id}/files/", "get", 200, listing.json())
    validate(schema, "/api/v1/reports/{id}/files/", "post", 400, refused.json())
    download = schema["paths"]["/api/v1/reports/{id}/files/{file_id}/"]["get"]["responses"]["200"]
    assert {"application/pdf", "image/png", "text/csv", "application/zip"} <= set(download["content"])


# --------------------------------------------------------------------------- kinds and sizes refused


@pytest.mark.parametrize(
    ("content", "name"),
    [
        pytest.param(samples.elf_executable(), "報告.pdf", id="elf-named-pdf"),
        pytest.param(samples.pe_executable(), "報告.pdf", id="pe-named-pdf"),
        pytest.param(samples.HTML, "資料.csv", id="html-named-csv"),
        pytest.param(samples.SVG, "圖.png", id="svg-named-png"),
    ],
)
def test_a_file_of_a_refused_kind_is_400_and_nothing_is_stored(lead_client, draft, media, content, name):
    response = upload(lead_client, draft, content, name=name)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "PDF" in body["errors"]["file"][0] and "CSV" in body["errors"]["file"][0]
    assert EvidenceFile.objects.count() == 0
    assert stored_files(media) == []
    assert QuarterlyReport.objects.get(pk=draft.pk).version == draft.version


def test_the_refusal_is_in_the_clients_language(lead_client, draft):
    english = upload(lead_client, draft, samples.elf_executable(), HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = upload(lead_client, draft, samples.elf_executable(), HTTP_ACCEPT_LANGUAGE="zh-hant").json()

    assert "not accepted" in english["errors"]["file"][0]
    assert "不接受" in chinese["errors"]["file"][0]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [({}, "file"), ({"note": "x"}, "note")],
    ids=["no-file", "unknown-field"],
)
def test_an_upload_without_its_file_is_400_naming_the_field(lead_client, draft, data, fragment):
    response = lead_client.post(f"{REPORTS}{draft.pk}/files/", data, format="multipart")

    assert response.status_code == 400
    assert fragment in response.json()["errors"]


def test_a_json_body_is_415(lead_client, draft):
    response = lead_client.post(f"{REPORTS}{draft.pk}/files/", {"file": "JVBERi0="}, format="json")

    assert response.status_code == 415


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(lead_client, draft, media, settings):
    settings.GSTP_EVIDENCE_MAX_FILE_BYTES = 1000

    response = upload(lead_client, draft, samples.pdf("x" * 1000))

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "1000" in response.json()["errors"]["file"][0]
    assert EvidenceFile.objects.count() == 0
    assert stored_files(media) == []


def test_files_past_the_reports_total_are_413(lead_client, draft, media, settings):
    pdf = samples.pdf()
    settings.GSTP_EVIDENCE_MAX_REPORT_BYTES = 2 * len(pdf) + 10
    assert upload(lead_client, draft, pdf).status_code == 201
    assert upload(lead_client, draft, pdf).status_code == 201

    response = upload(lead_client, draft, samples.png())

    assert response.status_code == 413
    assert "file" in response.json()["errors"]
    assert EvidenceFile.objects.count() == 2
    assert len(stored_files(media)) == 2


def test_a_body_far_past_the_file_limit_is_refused_before_the_view(lead_client, draft, settings):
    settings.GSTP_EVIDENCE_MAX_FILE_BYTES = 1000
    # past the file limit and the multipart allowance, and past the 1 MiB any other body may be
    too_big = samples.pdf("x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    response = upload(lead_client, draft, too_big)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "file" in response.json()["errors"]


def test_an_upload_larger_than_a_json_body_may_be_reaches_the_view(lead_client, draft, settings):
    # given a file past DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB), the limit of every JSON body
    big = samples.pdf("x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 200_000))

    response = upload(lead_client, draft, big)

    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(big)
    # while a JSON body as large is still refused
    patch = lead_client.patch(
        f"{REPORTS}{draft.pk}/", {"achievements": "x" * len(big)}, format="json", HTTP_IF_MATCH="*"
    )
    assert patch.status_code == 413


def chunked_upload(report, token, content: bytes, name: str = "報告.pdf"):
    """POST the multipart body in chunks without Content-Length, as a server relays a chunked request."""
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile(name, content)})
    chunks = [body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]
    headers = [(b"content-type", MULTIPART_CONTENT.encode()), (b"authorization", f"Token {token}".encode())]
    return asgi_post(f"{REPORTS}{report.pk}/files/", chunks, headers)


def test_a_small_chunked_upload_is_read(lead_client, draft):
    status, _, answer = chunked_upload(draft, token_issue(user=lead_client.user), samples.pdf())

    assert status == 201, answer
    assert EvidenceFile.objects.get().size == len(samples.pdf())


def test_a_large_chunked_upload_must_say_its_length(lead_client, draft, media, settings):
    big = samples.pdf("x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    status, _, answer = chunked_upload(draft, token_issue(user=lead_client.user), big)

    assert (status, json.loads(answer)["code"]) == (411, "length_required")
    assert stored_files(media) == []


# --------------------------------------------------------------------------- If-Match and Idempotency-Key


def test_a_stale_if_match_is_412_and_nothing_is_stored(lead_client, draft, media):
    stale = draft.etag
    lead_client.patch(f"{REPORTS}{draft.pk}/", {"achievements": "更新"}, format="json", HTTP_IF_MATCH=stale)

    response = upload(lead_client, draft, samples.pdf(), HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert EvidenceFile.objects.count() == 0
    assert stored_files(media) == []


def test_a_current_if_match_is_taken(lead_client, draft):
    response = upload(lead_client, draft, samples.pdf(), HTTP_IF_MATCH=draft.etag)

    assert response.status_code == 201
    assert response["Report-ETag"] == f'"{draft.pk}-{draft.version + 1}"'


def test_a_retried_upload_with_its_idempotency_key_gets_the_first_answer(lead_client, draft, media):
    pdf = samples.pdf()

    first = upload(lead_client, draft, pdf, HTTP_IDEMPOTENCY_KEY="upload-1")
    retry = upload(lead_client, draft, pdf, HTTP_IDEMPOTENCY_KEY="upload-1")
    other = upload(lead_client, draft, samples.png(), HTTP_IDEMPOTENCY_KEY="upload-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Location"] == first["Location"] and retry["Report-ETag"] == first["Report-ETag"]
    assert other.status_code == 422
    assert EvidenceFile.objects.count() == 1
    assert len(stored_files(media)) == 1


# --------------------------------------------------------------------------- the report's status and quarter


@pytest.mark.parametrize("status", [ReportStatus.SUBMITTED, ReportStatus.ACCEPTED])
def test_no_upload_to_a_filed_report(lead_client, subproject, media, status):
    report = report_in_status(node=subproject, status=status, author=lead_client.user)

    response = upload(lead_client, report, samples.pdf())

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert stored_files(media) == []


def test_an_upload_to_a_returned_report_is_taken(lead_client, subproject):
    report = report_in_status(node=subproject, status=ReportStatus.RETURNED, author=lead_client.user)

    assert upload(lead_client, report, samples.pdf()).status_code == 201


def test_a_locked_quarter_takes_no_upload_but_with_an_exception(lead_client, draft, subproject):
    secretariat = secretariat_user()
    lock = services.quarter_lock_create(
        actor=secretariat, plan=subproject.plan, period=draft.quarter_obj, reason="年度結算"
    )

    locked = upload(lead_client, draft, samples.pdf())
    services.lock_exception_grant(
        actor=secretariat,
        lock=lock,
        node=subproject,
        expires_on=today() + datetime.timedelta(days=7),
        reason="補件",
    )
    excepted = upload(lead_client, draft, samples.pdf())

    assert locked.status_code == 409
    assert excepted.status_code == 201


# --------------------------------------------------------------------------- removal


def test_a_lead_removes_a_file_from_a_draft_and_its_content_goes_after_commit(
    lead_client, draft, media, django_capture_on_commit_callbacks
):
    created = upload(lead_client, draft, samples.pdf(), name="錯誤檔案.pdf").json()
    assert len(stored_files(media)) == 1

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = lead_client.delete(created["download"])
        assert len(stored_files(media)) == 1  # the row went first; the content waits for the commit
    for callback in callbacks:
        callback()

    assert response.status_code == 204
    assert response["Report-ETag"] == f'"{draft.pk}-3"'
    assert not EvidenceFile.objects.exists()
    assert stored_files(media) == []
    event = lead_client.get(f"{REPORTS}{draft.pk}/history/").json()[-1]
    assert (event["action"], event["version"]) == ("remove_file", 3)
    assert event["changes"]["file"][0]["name"] == "錯誤檔案.pdf" and event["changes"]["file"][1] is None
    assert lead_client.get(created["download"]).status_code == 404


def test_files_are_frozen_once_the_report_is_accepted_and_stay_when_it_is_reopened(
    lead_client, secretariat_client, draft
):
    created = upload(lead_client, draft, samples.pdf()).json()
    report = QuarterlyReport.objects.get(pk=draft.pk)
    report = services.report_submit(actor=lead_client.user, report=report, expected_version=report.version)
    report = services.report_accept(actor=secretariat_client.user, report=report, expected_version=report.version)

    accepted = lead_client.delete(created["download"])
    services.report_reopen(
        actor=secretariat_client.user, report=report, expected_version=report.version, reason="數字有誤"
    )
    reopened = lead_client.delete(created["download"], HTTP_ACCEPT_LANGUAGE="en")

    assert accepted.status_code == 409
    assert (reopened.status_code, "endorsed or accepted" in reopened.json()["detail"]) == (409, True)
    assert lead_client.get(f"{REPORTS}{draft.pk}/files/").json()[0]["frozen"] is True
    # a file added to the reopened report is not frozen, and can go again
    added = upload(lead_client, report, samples.png()).json()
    assert lead_client.delete(added["download"]).status_code == 204


def test_files_are_frozen_once_the_ministry_endorses_the_report(lead_client, reviewer_client, draft, subproject):
    LagSettingsFactory(plan=subproject.plan, endorsement_required=True)
    created = upload(lead_client, draft, samples.pdf()).json()
    report = QuarterlyReport.objects.get(pk=draft.pk)
    report = services.report_submit(actor=lead_client.user, report=report, expected_version=report.version)
    report = services.report_endorse(actor=reviewer_client.user, report=report, expected_version=report.version)
    services.report_return(
        actor=secretariat_user(), report=report, expected_version=report.version, reason="附件不清楚"
    )

    response = lead_client.delete(created["download"])

    assert response.status_code == 409
    assert EvidenceFile.objects.filter(pk=created["id"]).exists()
