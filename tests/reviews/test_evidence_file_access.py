"""Who sees a report's evidence files: the secretariat, the sub-project's leads and its ministry's reviewers
download them; a reader, another agency's lead and another ministry's reviewer get 404, even for an accepted
report they read; and the exports list the files by name and hash to those who see them, at no cost per row."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from reviews import services
from reviews.models import EvidenceFile, QuarterlyReport
from tests.accounts.factories import secretariat_user
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews import evidence_samples as samples
from tests.reviews.factories import report_in_status
from tests.reviews.test_evidence_files import REPORTS, stored_files, upload

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def subproject(agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return sub


@pytest.fixture
def draft(subproject, lead_client):
    return report_in_status(node=subproject, author=lead_client.user)


@pytest.fixture
def accepted_with_file(lead_client, subproject):
    """An accepted report with a file: every signed-in user reads the report, few its files."""
    report = report_in_status(node=subproject, author=lead_client.user)
    file_id = upload(lead_client, report, samples.pdf()).json()["id"]
    report = QuarterlyReport.objects.get(pk=report.pk)
    report = services.report_submit(actor=lead_client.user, report=report, expected_version=report.version)
    services.report_accept(actor=secretariat_user(), report=report, expected_version=report.version)
    return report, file_id


@pytest.mark.parametrize("outsider", ["other_lead_client", "reader_client", "other_reviewer_client"])
def test_outsiders_get_404_on_the_list_the_download_and_the_upload(request, accepted_with_file, media, outsider):
    client = request.getfixturevalue(outsider)
    report, file_id = accepted_with_file
    missing = QuarterlyReport.objects.order_by("-pk").first().pk + 1000

    assert client.get(f"{REPORTS}{report.pk}/").status_code == 200  # the report itself is public
    answers = [
        client.get(f"{REPORTS}{report.pk}/files/"),
        client.get(f"{REPORTS}{report.pk}/files/{file_id}/"),
        upload(client, report, samples.pdf()),
        client.delete(f"{REPORTS}{report.pk}/files/{file_id}/"),
    ]

    assert [answer.status_code for answer in answers] == [404] * 4
    # the same answer as for a report that does not exist
    assert answers[0].json() == client.get(f"{REPORTS}{missing}/files/").json()
    assert EvidenceFile.objects.count() == 1 and len(stored_files(media)) == 1


@pytest.mark.parametrize("insider", ["reviewer_client", "secretariat_client", "lead_client"])
def test_the_ministry_reviewer_the_secretariat_and_the_lead_download(request, accepted_with_file, insider):
    client = request.getfixturevalue(insider)
    report, file_id = accepted_with_file

    listing = client.get(f"{REPORTS}{report.pk}/files/")
    download = client.get(f"{REPORTS}{report.pk}/files/{file_id}/")

    assert [item["id"] for item in listing.json()] == [file_id]
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == samples.pdf()


@pytest.mark.parametrize("insider", ["reviewer_client", "secretariat_client"])
def test_who_sees_the_files_but_does_not_lead_may_not_add_or_remove_them(request, lead_client, draft, insider):
    client = request.getfixturevalue(insider)
    created = upload(lead_client, draft, samples.pdf()).json()

    assert upload(client, draft, samples.pdf()).status_code == 403
    assert client.delete(created["download"]).status_code == 403
    assert EvidenceFile.objects.count() == 1


# --------------------------------------------------------------------------- exports


def export_rows(client) -> list[dict]:
    response = client.get("/api/v1/exports/reports/", {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_reports_export_lists_files_by_name_and_hash_to_who_may_see_them(
    lead_client, secretariat_client, reader_client, accepted_with_file
):
    report, file_id = accepted_with_file
    evidence = EvidenceFile.objects.get(pk=file_id)

    seen = {int(row["id"]): row["files"] for row in export_rows(secretariat_client)}
    by_reader = {int(row["id"]): row["files"] for row in export_rows(reader_client)}

    assert seen[report.pk] == f"佐證.pdf ({evidence.sha256})"
    assert by_reader[report.pk] == ""  # a reader reads the accepted report, not what backs it
    assert {int(row["id"]): row["files"] for row in export_rows(lead_client)}[report.pk] == seen[report.pk]


def test_the_export_costs_the_same_queries_for_one_report_with_files_and_for_many(
    lead_client, secretariat_client, agency
):
    def export_queries():
        with CaptureQueriesContext(connection) as queries:
            rows = export_rows(secretariat_client)
        return rows, len(queries.captured_queries)

    _, _, _, subs = make_tree(PlanFactory(), lead_agency=agency, subprojects=3)
    reports = [report_in_status(node=sub, author=lead_client.user) for sub in subs]
    upload(lead_client, reports[0], samples.pdf())
    one_rows, one = export_queries()
    for report in reports[1:]:
        upload(lead_client, report, samples.pdf())
        upload(lead_client, report, samples.png())

    many_rows, many = export_queries()

    assert [bool(row["files"]) for row in one_rows] == [True, False, False]
    assert [row["files"].count("\n") + 1 for row in many_rows] == [1, 2, 2]
    assert many == one


def test_the_secretariat_sees_a_reports_files_in_the_admin(accepted_with_file, capsys):
    report, file_id = accepted_with_file
    evidence = EvidenceFile.objects.get(pk=file_id)
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")
    client = Client()
    client.force_login(User.objects.get(username="officer"))

    page = client.get(f"/admin/reviews/quarterlyreport/{report.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert evidence.name in html and evidence.sha256 in html
    assert client.get("/admin/reviews/evidencefile/").status_code == 404  # shown with its report, not on its own
