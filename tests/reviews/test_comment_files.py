"""Files on a flag's comments (an improvement plan is often a document): the author adds them, whoever sees
the flag whole reads them, and nobody removes them."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviews.models import EvidenceFile, LagFlag
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews import evidence_samples as samples
from tests.reviews.factories import FlagCommentFactory, LagFlagFactory
from tests.reviews.test_evidence_files import stored_files

FLAGS = "/api/v1/flags/"
pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def comment(agency, lead_client):
    """The lead's improvement plan in the thread of its sub-project's flag."""
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return FlagCommentFactory(flag=LagFlagFactory(node=sub), author=lead_client.user, kind="improvement_plan")


def files_url(comment) -> str:
    return f"{FLAGS}{comment.flag_id}/comments/{comment.pk}/files/"


def upload(client, comment, content: bytes, name: str = "改善計畫.docx"):
    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(files_url(comment), {"file": file}, format="multipart")


def test_the_author_attaches_a_document_and_the_secretariat_downloads_it(lead_client, secretariat_client, comment):
    document = samples.docx()
    before = LagFlag.objects.get(pk=comment.flag_id).updated_at

    created = upload(lead_client, comment, document)

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["uploaded_by"], body["frozen"]) == ("改善計畫.docx", "lead", False)
    assert body["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert body["download"] == created["Location"] == f"{files_url(comment)}{body['id']}/"
    assert LagFlag.objects.get(pk=comment.flag_id).updated_at > before  # a client in step sees the thread changed
    listing = secretariat_client.get(files_url(comment)).json()
    assert [item["id"] for item in listing] == [body["id"]]
    download = secretariat_client.get(body["download"])
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == body["sha256"] == hashlib.sha256(document).hexdigest()
    assert download["X-Content-Type-Options"] == "nosniff"


def test_a_refused_kind_is_400_as_on_reports(lead_client, comment, media):
    response = upload(lead_client, comment, samples.pe_executable(), name="改善計畫.pdf")

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert stored_files(media) == []


def test_a_file_over_the_limit_is_413(lead_client, comment, media, settings):
    settings.GSTP_EVIDENCE_MAX_FILE_BYTES = 100

    response = upload(lead_client, comment, samples.pdf())

    assert response.status_code == 413
    assert not EvidenceFile.objects.exists() and stored_files(media) == []


def test_who_sees_the_flag_whole_but_did_not_write_the_comment_gets_403(secretariat_client, comment):
    assert upload(secretariat_client, comment, samples.pdf()).status_code == 403


@pytest.mark.parametrize("outsider", ["reader_client", "other_lead_client"])
def test_a_reader_and_another_agency_get_404(request, lead_client, comment, outsider):
    client = request.getfixturevalue(outsider)
    file_id = upload(lead_client, comment, samples.pdf()).json()["id"]

    answers = [
        client.get(files_url(comment)),
        client.get(f"{files_url(comment)}{file_id}/"),
        upload(client, comment, samples.pdf()),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert EvidenceFile.objects.count() == 1


def test_a_comment_of_another_flag_is_404(lead_client, comment, agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    other_flag = LagFlagFactory(node=sub)

    response = lead_client.get(f"{FLAGS}{other_flag.pk}/comments/{comment.pk}/files/")

    assert response.status_code == 404


def test_a_comments_files_cannot_be_deleted(lead_client, comment):
    file_id = upload(lead_client, comment, samples.pdf()).json()["id"]

    response = lead_client.delete(f"{files_url(comment)}{file_id}/")

    assert response.status_code == 405
    assert EvidenceFile.objects.filter(pk=file_id).exists()
