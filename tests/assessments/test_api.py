"""``/api/v1/assessment-schemes/`` and ``/api/v1/assessments/``: the chain over the API, per role, with
If-Match, Idempotency-Key and errors naming the field in both languages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments.models import AssessmentEvent, AssessmentScheme, AssessmentStatus
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.evidence_samples import pdf

from .factories import SELF_SCORES, chain, open_scheme, scores

pytestmark = pytest.mark.django_db

SCHEMES = "/api/v1/assessment-schemes/"
ASSESSMENTS = "/api/v1/assessments/"


def url(assessment, step=""):
    return f"{ASSESSMENTS}{assessment.pk}/{step + '/' if step else ''}"


# --------------------------------------------------------------------------- schemes


def test_the_secretariat_opens_a_year_and_a_lead_may_not(agency, secretariat_client, lead_client):
    _group, _strategy, _measure, subs = make_tree(PlanFactory(), lead_agency=agency, subprojects=2)
    body = {"plan": subs[0].plan_id, "year": 2024}

    refused = lead_client.post(SCHEMES, body, format="json")
    opened = secretariat_client.post(SCHEMES, body, format="json", HTTP_IDEMPOTENCY_KEY="open-2024")
    replayed = secretariat_client.post(SCHEMES, body, format="json", HTTP_IDEMPOTENCY_KEY="open-2024")
    again = secretariat_client.post(SCHEMES, body, format="json")

    assert refused.status_code == 403
    assert opened.status_code == 201, opened.content
    assert [c["key"] for c in opened.json()["criteria"]] == ["progress", "budget", "targets", "management"]
    assert [b["name"] for b in opened.json()["bands"]] == ["優等", "甲等", "乙等", "丙等"]
    assert opened["ETag"] == opened.json()["etag"]
    assert (replayed.status_code, replayed["Idempotent-Replayed"], replayed.json()) == (201, "true", opened.json())
    assert again.status_code == 409
    assert AssessmentScheme.objects.count() == 1
    assert lead_client.get(f"{SCHEMES}{opened.json()['id']}/").status_code == 200


def test_changing_a_scheme_takes_if_match_and_is_recorded(agency, secretariat_client):
    scheme, _ = open_scheme(agency=agency)
    detail = f"{SCHEMES}{scheme.pk}/"
    bands = [{"name": "通過", "minimum": "60"}, {"name": "未通過", "minimum": "0"}]

    missing = secretariat_client.patch(detail, {"bands": bands}, format="json")
    changed = secretariat_client.patch(detail, {"bands": bands}, format="json", HTTP_IF_MATCH=scheme.etag)
    stale = secretariat_client.patch(detail, {"publish_on": "2025-05-30"}, format="json", HTTP_IF_MATCH=scheme.etag)
    history = secretariat_client.get(f"{detail}history/").json()

    assert missing.status_code == 428
    assert changed.status_code == 200, changed.content
    assert [band["name"] for band in changed.json()["bands"]] == ["通過", "未通過"]
    assert stale.status_code == 412
    assert {("band", "deleted"), ("band", "created"), ("scheme", "changed")} <= {
        (entry["record"], entry["change"]) for entry in history
    }


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "The criteria's weights add up to 100."), ("zh-Hant", "考評項目的權重合計須為 100。")],
)
def test_a_bad_criterion_is_named_in_the_clients_language(agency, secretariat_client, language, message):
    scheme, _ = open_scheme(agency=agency)
    criteria = [{"key": "progress", "name": "進度", "weight": "60"}, {"key": "budget", "name": "經費", "weight": "30"}]
    bad_weight = [{"key": "progress", "name": "進度", "weight": "abc"}]

    response = secretariat_client.patch(
        f"{SCHEMES}{scheme.pk}/",
        {"criteria": criteria},
        format="json",
        HTTP_IF_MATCH="*",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    weight = secretariat_client.patch(
        f"{SCHEMES}{scheme.pk}/", {"criteria": bad_weight}, format="json", HTTP_IF_MATCH="*"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"criteria": [message]}
    assert "criteria[0].weight" in weight.json()["errors"]


# --------------------------------------------------------------------------- the chain


def test_the_chain_through_the_api(agency, client_of):
    people = chain(agency=agency)
    lead, reviewer, secretariat = (client_of(user) for user in (people.lead, people.reviewer, people.secretariat))
    assessment = people.assessment

    scored = lead.patch(url(assessment), {"scores": scores(SELF_SCORES)}, format="json", HTTP_IF_MATCH="*")
    assert scored.status_code == 200, scored.content
    assert scored.json()["self_total"] == "87.50"
    assert set(scored.json()["actions"]) == {"score", "submit", "add_file"}

    etag = scored["ETag"]
    assert lead.post(url(assessment, "submit"), {}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    # the lead cannot review its own, the reviewer endorses after adjusting one score with its reason
    assert lead.post(url(assessment, "endorse"), {}, format="json", HTTP_IF_MATCH="*").status_code == 403
    adjusted = reviewer.patch(
        url(assessment),
        {"scores": [{"criterion": "budget", "score": "70", "note": "執行率未達目標"}]},
        format="json",
        HTTP_IF_MATCH="*",
    )
    assert adjusted.json()["review_total"] == "85.50"
    assert reviewer.post(url(assessment, "endorse"), {}, format="json", HTTP_IF_MATCH="*").status_code == 200
    returned = secretariat.post(url(assessment, "return"), {"reason": "請再確認"}, format="json", HTTP_IF_MATCH="*")
    assert returned.json()["status"] == AssessmentStatus.SUBMITTED
    assert reviewer.post(url(assessment, "endorse"), {}, format="json", HTTP_IF_MATCH="*").status_code == 200
    finalized = secretariat.post(url(assessment, "finalize"), {}, format="json", HTTP_IF_MATCH="*")
    assert (finalized.json()["status"], finalized.json()["final_total"], finalized.json()["grade"]) == (
        AssessmentStatus.FINALIZED,
        "85.50",
        "甲等",
    )
    assert finalized.json()["actions"] == ["reopen"]

    published = secretariat.post(
        f"{SCHEMES}{people.scheme.pk}/publish/", {}, format="json", HTTP_IF_MATCH=f'"s{people.scheme.pk}-1"'
    )
    assert published.status_code == 200, published.content
    assert published.json()["published_at"]
    # published: nothing changes any more
    assert (
        secretariat.post(url(assessment, "reopen"), {"reason": "更正"}, format="json", HTTP_IF_MATCH="*").status_code
        == 409
    )
    actions = [event["action"] for event in lead.get(url(assessment, "history")).json()]
    assert actions == ["create", "score", "submit", "score", "endorse", "return", "endorse", "finalize", "publish"]


@pytest.fixture
def client_of():
    from tests.conftest import _client_for

    return _client_for


@pytest.mark.parametrize(
    ("status", "who", "step", "body", "expected"),
    [
        (AssessmentStatus.DRAFT, "reviewer", "submit", {}, 403),
        (AssessmentStatus.DRAFT, "secretariat", "finalize", {}, 409),
        (AssessmentStatus.DRAFT, "lead", "withdraw", {}, 409),
        (AssessmentStatus.DRAFT, "reviewer", "withdraw", {}, 403),
        (AssessmentStatus.SUBMITTED, "lead", "submit", {}, 409),
        (AssessmentStatus.SUBMITTED, "lead", "withdraw", {"reason": "再修改"}, 200),
        (AssessmentStatus.SUBMITTED, "secretariat", "finalize", {}, 409),
        (AssessmentStatus.SUBMITTED, "lead", "endorse", {}, 403),
        (AssessmentStatus.ENDORSED, "reviewer", "finalize", {}, 403),
        (AssessmentStatus.SUBMITTED, "reviewer", "return", {"reason": "請補充"}, 200),
        (AssessmentStatus.ENDORSED, "reviewer", "endorse", {}, 409),
        (AssessmentStatus.ENDORSED, "lead", "return", {"reason": "x"}, 403),
        (AssessmentStatus.FINALIZED, "secretariat", "finalize", {}, 409),
        (AssessmentStatus.FINALIZED, "secretariat", "reopen", {"reason": "分數誤植"}, 200),
        (AssessmentStatus.FINALIZED, "reviewer", "reopen", {"reason": "x"}, 403),
    ],
)
def test_steps_allowed_and_refused_per_role(agency, client_of, status, who, step, body, expected):
    people = chain(agency=agency, to=status)
    client = client_of(getattr(people, who))

    response = client.post(url(people.assessment, step), body, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == expected, response.content
    assert people.refresh().status == (response.json()["status"] if expected == 200 else status)


def test_out_of_scope_is_404_and_if_match_is_required_and_checked(agency, other_agency, client_of, other_lead_client):
    people = chain(agency=agency)
    lead = client_of(people.lead)
    body = {"scores": scores({"progress": "80"})}

    assert other_lead_client.get(url(people.assessment)).status_code == 404
    assert other_lead_client.patch(url(people.assessment), body, format="json", HTTP_IF_MATCH="*").status_code == 404
    assert lead.patch(url(people.assessment), body, format="json").status_code == 428
    assert (
        lead.patch(
            url(people.assessment), body, format="json", HTTP_IF_MATCH=f'"a{people.assessment.pk}-9"'
        ).status_code
        == 412
    )
    assert (
        lead.patch(url(people.assessment), body, format="json", HTTP_IF_MATCH=people.assessment.etag).status_code == 200
    )
    changed = {"scores": scores({"progress": "81"})}
    stale = lead.patch(url(people.assessment), changed, format="json", HTTP_IF_MATCH=people.assessment.etag)
    assert stale.status_code == 412


def test_a_step_replayed_with_its_idempotency_key_is_taken_once(agency, client_of):
    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    reviewer = client_of(people.reviewer)
    events = AssessmentEvent.objects.count()

    first = reviewer.post(
        url(people.assessment, "return"),
        {"reason": "請補充"},
        format="json",
        HTTP_IF_MATCH="*",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    again = reviewer.post(
        url(people.assessment, "return"),
        {"reason": "請補充"},
        format="json",
        HTTP_IF_MATCH="*",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    other = reviewer.post(
        url(people.assessment, "return"),
        {"reason": "別的"},
        format="json",
        HTTP_IF_MATCH="*",
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json() and again["ETag"] == first["ETag"]
    assert other.status_code == 422
    assert AssessmentEvent.objects.count() == events + 1


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Give a short justification of every score."), ("zh-Hant", "請為每個分數簡述理由。")],
)
def test_an_incomplete_self_assessment_is_refused_naming_the_field(agency, client_of, language, message):
    people = chain(agency=agency)
    lead = client_of(people.lead)
    lead.patch(url(people.assessment), {"scores": scores(SELF_SCORES, note="")}, format="json", HTTP_IF_MATCH="*")

    response = lead.post(
        url(people.assessment, "submit"), {}, format="json", HTTP_IF_MATCH="*", HTTP_ACCEPT_LANGUAGE=language
    )
    bad_score = lead.patch(
        url(people.assessment),
        {"scores": [{"criterion": "budget", "score": "101"}]},
        format="json",
        HTTP_IF_MATCH="*",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    no_reason = lead.post(
        url(people.assessment, "return"), {}, format="json", HTTP_IF_MATCH="*", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400
    assert response.json()["errors"]["scores[0].note"] == [message]
    assert bad_score.status_code == 400 and list(bad_score.json()["errors"]) == ["scores[0].score"]
    assert no_reason.status_code == 403  # a lead never returns: refused before the body is read
    assert people.refresh().status == AssessmentStatus.DRAFT


def test_unknown_fields_are_refused(agency, client_of):
    people = chain(agency=agency)
    response = client_of(people.lead).patch(
        url(people.assessment), {"scores": [], "grade": "優等"}, format="json", HTTP_IF_MATCH="*"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["grade"]


def test_suggestions_are_refreshed_by_the_lead(agency, client_of, reader_client):
    people = chain(agency=agency)

    response = client_of(people.lead).post(url(people.assessment, "suggest"), {}, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == 200
    assert response.json()["version"] == people.assessment.version + 1
    assert (
        reader_client.post(url(people.assessment, "suggest"), {}, format="json", HTTP_IF_MATCH="*").status_code == 404
    )


# --------------------------------------------------------------------------- files


def test_evidence_files_for_the_chain_only(agency, client_of, reader_client, media):
    people = chain(agency=agency)
    lead, reviewer = client_of(people.lead), client_of(people.reviewer)
    files = url(people.assessment, "files")

    def upload():
        return {"file": SimpleUploadedFile("自評佐證.pdf", pdf("assessment"), content_type="application/pdf")}

    added = lead.post(files, upload(), format="multipart", HTTP_IDEMPOTENCY_KEY="f1")
    replayed = lead.post(files, upload(), format="multipart", HTTP_IDEMPOTENCY_KEY="f1")
    listed = reviewer.get(files).json()
    download = reviewer.get(listed[0]["download"])

    assert added.status_code == 201, added.content
    assert replayed.json() == added.json() and replayed["Assessment-ETag"] == added["Assessment-ETag"]
    assert [entry["name"] for entry in listed] == ["自評佐證.pdf"]
    assert b"".join(download.streaming_content) == pdf("assessment")
    assert reviewer.post(files, upload(), format="multipart").status_code == 403
    assert reader_client.get(files).status_code == 404
    assert reviewer.delete(listed[0]["download"]).status_code == 403
    assert lead.delete(listed[0]["download"], HTTP_IF_MATCH=added["Assessment-ETag"]).status_code == 204
    assert lead.get(files).json() == []


def test_files_past_the_assessments_limit_are_413_and_nothing_is_stored(agency, client_of, media, settings):
    people = chain(agency=agency)
    lead = client_of(people.lead)
    files = url(people.assessment, "files")
    first = pdf("first")
    settings.GSTP_EVIDENCE_MAX_REPORT_BYTES = len(first) + 10

    def upload(content):
        return {"file": SimpleUploadedFile("佐證.pdf", content, content_type="application/pdf")}

    assert lead.post(files, upload(first), format="multipart").status_code == 201
    refused = lead.post(files, upload(pdf("second")), format="multipart")

    assert refused.status_code == 413, refused.content
    assert refused.json()["code"] == "file_too_large" and "file" in refused.json()["errors"]
    assert f"目前已有 {len(first)} 位元組" in refused.json()["detail"]  # in the secretariat's language
    assert len(lead.get(files).json()) == 1
    assert sum(1 for path in media.rglob("*") if path.is_file()) == 1
