"""Evidence files (佐證資料) on a report's page: a lead adds them to an editable report with a file input
(multipart), sees them listed with links to the API's download, and removes them until an endorsement or an
acceptance keeps them; every addition and removal is in the report's history. What the services refuse is
said next to the file input, with the API's status (400 for a wrong kind, 413 past the size limit)."""

import re

import pytest

from reviews import services
from reviews.models import EvidenceFile, QuarterlyReport, ReportAction, ReportStatus
from tests.accounts.factories import secretariat_user
from tests.console.conftest import small_pdf, upload
from tests.console.test_report_form import field_errors
from tests.reviews.factories import report_in_status

pytestmark = pytest.mark.usefixtures("evidence_storage")


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def add(client, report, file, version=None):
    return client.post(
        f"/reports/{report.pk}/files/", {"version": report.version if version is None else version, "file": file}
    )


@pytest.fixture
def draft(world):
    return report_in_status(node=world.subproject, status=ReportStatus.DRAFT)


def test_a_lead_adds_a_pdf_and_sees_it_listed_with_its_download(lead, world, draft, evidence_storage):
    page = html_of(lead.get(f"/reports/{draft.pk}/"))
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="file"' in page

    response = add(lead, draft, upload("第三季執行成果.pdf"))

    assert response.status_code == 302 and response["Location"] == f"/reports/{draft.pk}/#files"
    evidence = EvidenceFile.objects.get(report=draft)
    assert (evidence.name, evidence.content_type, evidence.size) == (
        "第三季執行成果.pdf",
        "application/pdf",
        len(small_pdf()),
    )
    assert (evidence_storage / evidence.content.name).read_bytes() == small_pdf()
    html = html_of(lead.get(f"/reports/{draft.pk}/"))
    row = re.search(rf'<tr id="file-{evidence.pk}">.*?</tr>', html, re.S).group(0)
    assert f'href="/api/v1/reports/{draft.pk}/files/{evidence.pk}/"' in row and "第三季執行成果.pdf" in row
    assert world.lead.username in row and 'data-action="remove-file"' in row
    history = html[html.index('id="history"') :]
    assert "新增佐證資料" in history and "第三季執行成果.pdf" in history
    # adding a file is a change of the report: its version went up, and the page carries the new one
    report = QuarterlyReport.objects.get(pk=draft.pk)
    assert report.version == draft.version + 1 and f'name="version" value="{report.version}"' in html


def test_a_file_that_is_not_an_accepted_kind_is_refused_next_to_the_input(lead, draft):
    response = add(lead, draft, upload("看起來是報告.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200))

    assert response.status_code == 400
    assert field_errors(response, "file")
    assert 'aria-invalid="true"' in response.content.decode()
    assert not EvidenceFile.objects.exists()


def test_a_file_past_the_size_limit_is_refused_with_413(lead, draft, settings):
    settings.GSTP_EVIDENCE_MAX_FILE_BYTES = 100

    response = add(lead, draft, upload())

    assert response.status_code == 413
    assert field_errors(response, "file")
    assert not EvidenceFile.objects.exists()


def test_no_file_chosen_says_so(lead, draft):
    response = lead.post(f"/reports/{draft.pk}/files/", {"version": draft.version})

    assert response.status_code == 400
    assert field_errors(response, "file") == ["請選擇要新增的檔案。"]


def test_a_stale_page_adds_nothing(lead, draft):
    response = add(lead, draft, upload(), version=draft.version - 1)

    assert response.status_code == 412
    assert 'role="alert"' in response.content.decode()
    assert not EvidenceFile.objects.exists()


def test_a_lead_removes_a_file_and_the_history_says_so(lead, draft):
    add(lead, draft, upload("錯誤的檔案.pdf"))
    evidence = EvidenceFile.objects.get()
    report = QuarterlyReport.objects.get(pk=draft.pk)

    response = lead.post(f"/reports/{draft.pk}/files/{evidence.pk}/remove/", {"version": report.version}, follow=True)

    assert response.redirect_chain == [(f"/reports/{draft.pk}/#files", 302)]
    assert not EvidenceFile.objects.exists()
    html = response.content.decode()
    assert "message--success" in html
    history = html[html.index('id="history"') :]
    assert "刪除佐證資料" in history and "錯誤的檔案.pdf" in history
    assert list(report.events.order_by("version").values_list("action", flat=True))[-2:] == [
        ReportAction.ADD_FILE,
        ReportAction.REMOVE_FILE,
    ]


def test_an_endorsement_keeps_the_files_it_saw(lead, reviewer, reviewer_user, world, endorsing):
    # given a report endorsed with a file, then returned by the secretariat
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    add(lead, report, upload("簽核公文.pdf"))
    evidence = EvidenceFile.objects.get()

    report = QuarterlyReport.objects.get(pk=report.pk)
    report = services.report_submit(actor=world.lead, report=report, expected_version=report.version)
    report = services.report_endorse(actor=reviewer_user, report=report, expected_version=report.version)
    report = services.report_return(
        actor=world.secretariat, report=report, expected_version=report.version, reason="請補充說明"
    )

    # then the lead may add more, but not remove the endorsed one
    html = html_of(lead.get(f"/reports/{report.pk}/"))
    row = re.search(rf'<tr id="file-{evidence.pk}">.*?</tr>', html, re.S).group(0)
    assert "已留存" in row and 'data-action="remove-file"' not in row
    response = lead.post(f"/reports/{report.pk}/files/{evidence.pk}/remove/", {"version": report.version}, follow=True)
    assert EvidenceFile.objects.filter(pk=evidence.pk).exists()
    assert "message--error" in response.content.decode()


def test_the_reviewer_sees_the_files_but_adds_none(reviewer, lead, world, endorsing):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    add(lead, report, upload("預算執行表.pdf"))
    report = QuarterlyReport.objects.get(pk=report.pk)

    report = services.report_submit(actor=world.lead, report=report, expected_version=report.version)

    html = html_of(reviewer.get(f"/reports/{report.pk}/"))
    assert "預算執行表.pdf" in html and 'type="file"' not in html and 'data-action="remove-file"' not in html
    assert add(reviewer, report, upload()).status_code == 403
    evidence = EvidenceFile.objects.get()
    assert (
        reviewer.post(f"/reports/{report.pk}/files/{evidence.pk}/remove/", {"version": report.version}).status_code
        == 403
    )
    assert EvidenceFile.objects.count() == 1


@pytest.mark.parametrize(("role", "expected"), [("secretariat", 403), ("other_lead", 404), ("reader", 404)])
def test_only_the_sub_project_s_lead_adds_files(request, draft, role, expected):
    response = add(request.getfixturevalue(role), draft, upload())

    assert response.status_code == expected
    assert not EvidenceFile.objects.exists()


def test_an_accepted_report_s_files_are_not_shown_to_a_reader_or_another_agency(
    request, lead, world, reader, other_lead
):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    add(lead, report, upload("內部簽呈.pdf"))
    evidence = EvidenceFile.objects.get()

    report = QuarterlyReport.objects.get(pk=report.pk)
    report = services.report_submit(actor=world.lead, report=report, expected_version=report.version)
    report = services.report_accept(actor=secretariat_user(), report=report, expected_version=report.version)

    for client in (reader, other_lead):
        html = html_of(client.get(f"/reports/{report.pk}/"))  # an accepted report: public
        assert "內部簽呈.pdf" not in html and 'id="files"' not in html
        response = client.post(f"/reports/{report.pk}/files/{evidence.pk}/remove/", {"version": report.version})
        assert response.status_code == 404
        assert add(client, report, upload()).status_code == 404  # as the API: its files are not theirs to see
    assert EvidenceFile.objects.filter(pk=evidence.pk).exists()
