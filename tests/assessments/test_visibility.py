"""Who sees what of an assessment, before and after publication: a leak scan over lists, details, filters and
exports, as a reader, a lead of another agency, a reviewer of another ministry and another system's API key.
Before publication they see nothing of it; after, each sub-project's final total and grade only; its chain
(the secretariat, the sub-project's leads, its ministry's reviewers) sees it whole throughout."""

import csv
import html
import io
import zipfile

import pytest
from rest_framework.test import APIClient

from accounts.services import token_issue
from assessments import services
from assessments.models import AssessmentStatus
from tests.accounts.factories import reader_user, secretariat_user

from .factories import chain, open_scheme, scores

pytestmark = pytest.mark.django_db

ASSESSMENTS = "/api/v1/assessments/"
EXPORT = "/api/v1/exports/assessments/"
# What only the chain may read: a reviewer's and the secretariat's scores and reasons, the lead's note, and
# every total before publication.
REVIEW_SCORE, REVIEW_NOTE = "87.65", "機密理由：執行率低於預期"
FINAL_SCORE, FINAL_NOTE = "91.11", "複核機密說明"
SELF_NOTE = "自評機密佐證說明"
SELF_TOTAL, REVIEW_TOTAL, FINAL_TOTAL, GRADE = "87.50", "89.03", "90.86", "優等"
INTERMEDIATE = (REVIEW_SCORE, REVIEW_NOTE, FINAL_SCORE, FINAL_NOTE, SELF_NOTE, SELF_TOTAL, REVIEW_TOTAL)
OUTSIDERS = ("reader_client", "other_lead_client", "other_reviewer_client", "service_client")
PUBLISHED_FIELDS = {"id", "scheme", "project", "plan", "year", "final_total", "grade"}


@pytest.fixture
def service_client(db):
    """Another system's API key (an open-data portal's: a reader account)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=reader_user('portal'), name='開放資料平臺')}")
    return client


@pytest.fixture
def scored(agency):
    """An assessment scored through every level and finalized, its scheme not yet published."""
    people = chain(agency=agency)
    values = {"progress": "90", "budget": "80", "targets": "85", "management": "95"}
    services.assessment_score(
        actor=people.lead, assessment=people.assessment, expected_version=None, entries=scores(values, SELF_NOTE)
    )
    services.assessment_submit(actor=people.lead, assessment=people.assessment, expected_version=None)
    services.assessment_score(
        actor=people.reviewer,
        assessment=people.assessment,
        expected_version=None,
        entries=[{"criterion": "budget", "score": REVIEW_SCORE, "note": REVIEW_NOTE}],
    )
    services.assessment_endorse(actor=people.reviewer, assessment=people.assessment, expected_version=None)
    services.assessment_score(
        actor=people.secretariat,
        assessment=people.assessment,
        expected_version=None,
        entries=[{"criterion": "targets", "score": FINAL_SCORE, "note": FINAL_NOTE}],
    )
    services.assessment_finalize(actor=people.secretariat, assessment=people.assessment, expected_version=None)
    assessment = people.refresh()
    assert (str(assessment.self_total), str(assessment.review_total), str(assessment.final_total)) == (
        SELF_TOTAL,
        REVIEW_TOTAL,
        FINAL_TOTAL,
    )
    assert assessment.grade == GRADE
    return people


def body(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):  # a workbook: its text is in its XML parts, Chinese as character references
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            content = b"".join(workbook.read(name) for name in workbook.namelist() if name.endswith(".xml"))
        content = html.unescape(content.decode("utf-8")).encode("utf-8")
    return content


def reads(assessment):
    detail = f"{ASSESSMENTS}{assessment.pk}/"
    return {
        "list": (ASSESSMENTS, {}),
        "grade": (ASSESSMENTS, {"grade": GRADE}),
        "status": (ASSESSMENTS, {"status": AssessmentStatus.FINALIZED}),
        "ordering": (ASSESSMENTS, {"ordering": "-final_total"}),
        "detail": (detail, {}),
        "history": (f"{detail}history/", {}),
        "files": (f"{detail}files/", {}),
        "csv": (EXPORT, {"format": "csv"}),
        "xlsx": (EXPORT, {"format": "xlsx"}),
        "jsonl": (EXPORT, {"format": "jsonl", "grade": GRADE}),
    }


def csv_rows(response_or_bytes):
    content = response_or_bytes if isinstance(response_or_bytes, bytes) else body(response_or_bytes)
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_before_publication_outsiders_see_nothing_of_it(request, scored, outsider):
    client = request.getfixturevalue(outsider)

    answers = {name: client.get(path, query) for name, (path, query) in reads(scored.assessment).items()}
    contents = {name: body(response) for name, response in answers.items()}

    for name, content in contents.items():
        content = content.decode("utf-8")
        leaked = [value for value in (*INTERMEDIATE, FINAL_TOTAL, GRADE) if value in content]
        assert not leaked, f"{name} shows {leaked}"
    for name in ("list", "grade", "status", "ordering"):
        assert answers[name].json()["count"] == 0, name
    assert {answers[name].status_code for name in ("detail", "history", "files")} == {404}
    assert csv_rows(contents["csv"]) == []


@pytest.mark.parametrize("outsider", OUTSIDERS)
def test_after_publication_outsiders_see_the_grade_and_final_total_only(request, scored, outsider):
    services.scheme_publish(actor=scored.secretariat, scheme=scored.scheme)
    client = request.getfixturevalue(outsider)

    answers = {name: client.get(path, query) for name, (path, query) in reads(scored.assessment).items()}
    contents = {name: body(response) for name, response in answers.items()}

    for name, content in contents.items():
        content = content.decode("utf-8")
        leaked = [value for value in INTERMEDIATE if value in content]
        assert not leaked, f"{name} shows {leaked}"
        assert scored.lead.username not in content and scored.reviewer.username not in content, name
    for name in ("list", "grade", "status", "ordering"):
        (row,) = answers[name].json()["results"]
        assert set(row) == PUBLISHED_FIELDS, name
        assert (row["final_total"], row["grade"]) == (FINAL_TOTAL, GRADE)
    assert set(answers["detail"].json()) == PUBLISHED_FIELDS
    assert answers["detail"].get("ETag") != scored.refresh().etag  # no version to write against
    assert {answers[name].status_code for name in ("history", "files")} == {404}
    (row,) = csv_rows(contents["csv"])
    assert (row["final_total"], row["grade"]) == (FINAL_TOTAL, GRADE)
    assert {name for name, value in row.items() if value} == {
        "id",
        "scheme",
        "plan",
        "year",
        "project",
        "project_title",
        "final_total",
        "grade",
    }
    assert FINAL_TOTAL in contents["xlsx"].decode() and GRADE in contents["xlsx"].decode()


@pytest.mark.parametrize("published", [False, True])
@pytest.mark.parametrize("member", ["secretariat_client", "lead_client", "reviewer_client"])
def test_the_chain_sees_it_whole_before_and_after(request, scored, member, published):
    if published:
        services.scheme_publish(actor=scored.secretariat, scheme=scored.scheme)
    client = request.getfixturevalue(member)

    detail = client.get(f"{ASSESSMENTS}{scored.assessment.pk}/").json()
    listed = client.get(ASSESSMENTS, {"grade": GRADE}).json()["results"]
    exported = csv_rows(client.get(EXPORT, {"format": "csv"}))
    content = body(client.get(f"{ASSESSMENTS}{scored.assessment.pk}/")).decode()

    assert all(value in content for value in INTERMEDIATE)
    assert (detail["self_total"], detail["review_total"], detail["final_total"]) == (
        SELF_TOTAL,
        REVIEW_TOTAL,
        FINAL_TOTAL,
    )
    budget = next(score for score in detail["scores"] if score["criterion"] == "budget")
    assert (budget["review_score"], budget["review_note"], budget["self_note"]) == (
        REVIEW_SCORE,
        REVIEW_NOTE,
        SELF_NOTE,
    )
    assert [row["id"] for row in listed] == [scored.assessment.pk]
    assert listed[0]["scores"][1]["review_note"] == REVIEW_NOTE
    assert (exported[0]["self_total"], exported[0]["review_total"], exported[0]["status"]) == (
        SELF_TOTAL,
        REVIEW_TOTAL,
        AssessmentStatus.FINALIZED,
    )


def test_a_lead_sees_its_own_whole_and_anothers_published_result_only(agency, other_agency, lead_client):
    ours = chain(agency=agency, to=AssessmentStatus.FINALIZED)
    theirs = chain(agency=other_agency, to=AssessmentStatus.FINALIZED)
    services.scheme_publish(actor=theirs.secretariat, scheme=theirs.scheme)

    rows = {row["id"]: row for row in lead_client.get(ASSESSMENTS).json()["results"]}
    exported = {int(row["id"]): row for row in csv_rows(lead_client.get(EXPORT, {"format": "csv"}))}

    assert set(rows) == {ours.assessment.pk, theirs.assessment.pk}
    assert "scores" in rows[ours.assessment.pk]
    assert set(rows[theirs.assessment.pk]) == PUBLISHED_FIELDS
    assert exported[ours.assessment.pk]["self_total"] and not exported[theirs.assessment.pk]["self_total"]


# --------------------------------------------------------------------------- query counts


@pytest.mark.parametrize(("client_name", "queries"), [("secretariat_client", 5), ("reader_client", 4)])
def test_the_list_takes_the_same_queries_for_one_row_and_many(
    request, agency, django_assert_num_queries, client_name, queries
):
    client = request.getfixturevalue(client_name)
    secretariat = secretariat_user()
    one, _ = open_scheme(agency=agency)
    many, _ = open_scheme(agency=agency, subprojects=4)
    for scheme in (one, many):
        scheme.assessments.update(status=AssessmentStatus.FINALIZED, final_total="88.00", grade="甲等")
        services.scheme_publish(actor=secretariat, scheme=scheme)

    with django_assert_num_queries(queries):
        assert client.get(ASSESSMENTS, {"scheme": one.pk}).json()["count"] == 1
    with django_assert_num_queries(queries):
        assert client.get(ASSESSMENTS, {"scheme": many.pk}).json()["count"] == 4
