"""The year's assessment (年度考評) on the pages: the lead's scoring form with the suggestions beside it, the
ministry reviewer's and the secretariat's queues and review pages, the secretariat's year page with the
publication, and the published results every signed-in user reads afterwards (and nobody outside the chain
before). Each step goes through the service the API calls; what it refuses shows next to its field in zh-Hant."""

import re
from decimal import Decimal

import pytest
from django.test import Client

from assessments import services
from assessments.models import Assessment, AssessmentStatus, Score
from tests.accounts.factories import lead_user, reader_user, reviewer_user
from tests.assessments.factories import SELF_SCORES, chain, open_scheme, scores
from tests.projects.factories import AgencyFactory

from .conftest import small_pdf, upload
from .test_query_counts import queries
from .test_report_form import field_errors

pytestmark = pytest.mark.django_db

NOTE = "依據季報與佐證資料"


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(user)
    return client


def suggest(assessment, values: dict[str, str], evidence=None):
    """Suggested scores, as ``assessments.scoring`` would have stored them."""
    for key, value in values.items():
        Score.objects.filter(assessment=assessment, criterion__key=key).update(
            suggested=Decimal(value), evidence=(evidence or {}).get(key, {})
        )


def form_body(assessment, values: dict[str, str], note=NOTE, action="save", **extra) -> dict:
    assessment.refresh_from_db()
    body = {"version": assessment.version, "action": action}
    for key, value in values.items():
        body[f"score-{key}"] = value
        body[f"note-{key}"] = note
    return {**body, **extra}


def url(assessment) -> str:
    return f"/assessments/{assessment.pk}/"


@pytest.fixture
def people(agency):
    return chain(agency=agency)


# --- pages by role -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "expected"),
    [
        ("lead", AssessmentStatus.DRAFT, 200),
        ("reviewer", AssessmentStatus.DRAFT, 200),
        ("secretariat", AssessmentStatus.DRAFT, 200),
        ("other_lead", AssessmentStatus.DRAFT, 404),
        ("other_reviewer", AssessmentStatus.SUBMITTED, 404),
        ("reader", AssessmentStatus.FINALIZED, 404),  # not published yet
    ],
)
def test_an_assessment_s_page_is_the_chain_s_until_publication(agency, who, status, expected):
    people = chain(agency=agency, to=status)
    other = AgencyFactory(name="經濟部")
    user = {
        "other_lead": lambda: lead_user(other, "other-lead"),
        "other_reviewer": lambda: reviewer_user(other, "other-reviewer"),
        "reader": lambda: reader_user("reader"),
    }.get(who, lambda: getattr(people, who))()

    assert signed_in(user).get(url(people.assessment)).status_code == expected


def test_the_form_is_offered_only_at_the_user_s_turn(people):
    lead, reviewer = signed_in(people.lead), signed_in(people.reviewer)

    assert 'id="score-form"' in lead.get(url(people.assessment)).content.decode()
    page = reviewer.get(url(people.assessment)).content.decode()
    assert 'id="score-form"' not in page and 'id="score-table"' in page
    # a step out of turn is refused by the service: the reviewer may not score a draft
    response = reviewer.post(url(people.assessment), form_body(people.assessment, {"progress": "70"}))
    assert response.status_code == 403
    assert Score.objects.get(assessment=people.assessment, criterion__key="progress").self_score is None


def test_the_year_page_and_its_publication_are_the_secretariat_s(people):
    scheme = people.scheme
    assert signed_in(people.lead).get(f"/assessments/years/{scheme.pk}/").status_code == 200
    response = signed_in(people.lead).post(f"/assessments/years/{scheme.pk}/publish/", {"version": scheme.version})
    assert response.status_code == 403
    assert signed_in(people.secretariat).get("/assessments/years/999999/").status_code == 404


# --- the lead's form -----------------------------------------------------------------------------------------


def test_the_lead_sees_each_suggestion_with_its_evidence_in_words(people):
    suggest(
        people.assessment,
        {"progress": "80", "budget": "95"},
        evidence={
            "progress": {
                "basis": "accepted_report",
                "report": 7,
                "planned_progress": "80.00",
                "actual_progress": "76.00",
                "gap": "-4.00",
                "points_per_point_behind": "4",
            },
            "budget": {"basis": "accepted_report", "execution_rate": "95.5", "full_marks_from": "90"},
            "targets": {"basis": "no_indicator_with_target"},
        },
    )
    Score.objects.filter(assessment=people.assessment, criterion__key="targets").update(suggested=None)

    page = signed_in(people.lead).get(url(people.assessment)).content.decode()

    suggestion = re.search(r'id="suggestion-progress">(.*?)</div>', page, re.S).group(1)
    assert "80" in suggestion and "預定 80.00%、實際 76.00%、落後 4.00 個百分點" in suggestion
    assert "執行率 95.50%" in page
    assert "points per point" not in page and "accepted_report" not in page  # the working stays out
    targets = re.search(r'id="suggestion-targets">(.*?)</div>', page, re.S).group(1)
    assert "本年度尚無設定目標值之績效指標" in targets
    assert "計畫執行進度" in page and "權重 30" in page


def test_the_lead_saves_then_submits_and_the_total_follows(people):
    lead = signed_in(people.lead)

    response = lead.post(url(people.assessment), form_body(people.assessment, SELF_SCORES))
    assert response.status_code == 302
    saved = {s.criterion.key: (s.self_score, s.self_note) for s in people.assessment.scores.select_related("criterion")}
    assert saved["progress"] == (Decimal("90"), NOTE)
    page = lead.get(url(people.assessment)).content.decode()
    assert re.search(r'<output id="running-total"[^>]*>87.5</output>', page)

    response = lead.post(url(people.assessment), form_body(people.assessment, SELF_SCORES, action="submit"))

    assessment = people.refresh()
    assert response.status_code == 302
    assert (assessment.status, assessment.self_total) == (AssessmentStatus.SUBMITTED, Decimal("87.50"))
    assert "已將" in lead.get(url(assessment)).content.decode()  # the message, in zh-Hant


def test_errors_show_next_to_their_criterion_in_zh_hant(people):
    lead = signed_in(people.lead)

    response = lead.post(url(people.assessment), form_body(people.assessment, {**SELF_SCORES, "budget": "120"}))

    assert response.status_code == 400
    assert field_errors(response, "score-budget") == ["分數介於 0 到 100 之間，至多兩位小數。"]
    assert Score.objects.get(assessment=people.assessment, criterion__key="progress").self_score is None

    body = form_body(people.assessment, SELF_SCORES, action="submit")
    body["note-targets"] = ""
    response = lead.post(url(people.assessment), body)

    assert response.status_code == 400
    assert field_errors(response, "note-targets") == ["請為每個分數簡述理由。"]
    assert people.refresh().status == AssessmentStatus.DRAFT


def test_a_page_read_before_someone_else_s_change_is_refused_clearly(people):
    lead = signed_in(people.lead)
    stale = form_body(people.assessment, SELF_SCORES)
    services.assessment_score(
        actor=people.lead, assessment=people.assessment, expected_version=None, entries=scores({"progress": "60"})
    )

    response = lead.post(url(people.assessment), stale)

    assert response.status_code == 412
    assert "有人在您開啟此頁後修改了這份考評" in response.content.decode()
    assert Score.objects.get(assessment=people.assessment, criterion__key="progress").self_score == Decimal("60")


def test_the_lead_adds_and_removes_an_evidence_file(people, evidence_storage):
    lead = signed_in(people.lead)
    people.refresh()

    response = lead.post(
        f"/assessments/{people.assessment.pk}/files/",
        {"version": people.assessment.version, "file": upload("自評佐證.pdf")},
    )

    assert response.status_code == 302
    evidence = people.assessment.files.get()
    page = lead.get(url(people.assessment)).content.decode()
    assert "自評佐證.pdf" in page
    download = lead.get(f"/assessments/{people.assessment.pk}/files/{evidence.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == small_pdf()
    assert (
        signed_in(reader_user("reader")).get(f"/assessments/{people.assessment.pk}/files/{evidence.pk}/").status_code
        == 404
    )

    people.refresh()
    response = lead.post(
        f"/assessments/{people.assessment.pk}/files/{evidence.pk}/remove/", {"version": people.assessment.version}
    )
    assert response.status_code == 302 and not people.assessment.files.exists()


# --- the reviews -----------------------------------------------------------------------------------------------


def test_the_reviewer_changes_one_score_with_a_reason_and_passes_it_on(agency):
    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    reviewer = signed_in(people.reviewer)
    page = reviewer.get(url(people.assessment)).content.decode()
    assert NOTE in page and 'id="endorse-assessment"' in page and 'id="return-assessment"' in page

    body = form_body(people.assessment, {"progress": "80"}, note="", action="endorse")
    response = reviewer.post(url(people.assessment), body)
    assert response.status_code == 400
    assert field_errors(response, "note-progress") == ["請說明您調整每個分數的理由。"]

    response = reviewer.post(url(people.assessment), {**body, "note-progress": "進度落後，酌減"})

    assessment = people.refresh()
    assert response.status_code == 302
    assert assessment.status == AssessmentStatus.ENDORSED
    assert assessment.review_total == Decimal("84.50")  # 87.5 − 10 × 0.3


def test_a_return_needs_a_reason(agency):
    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    reviewer = signed_in(people.reviewer)
    people.refresh()
    prefix = f"return-{people.assessment.pk}-reason"

    response = reviewer.post(
        f"/assessments/{people.assessment.pk}/return/", {"version": people.assessment.version, prefix: " "}, follow=True
    )
    assert "請說明原因。" in response.content.decode()
    assert people.refresh().status == AssessmentStatus.SUBMITTED

    reviewer.post(
        f"/assessments/{people.assessment.pk}/return/", {"version": people.assessment.version, prefix: "請補充佐證"}
    )
    assert people.refresh().status == AssessmentStatus.RETURNED


def test_the_queues_put_the_largest_gap_first(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=3)
    lead = chain(agency=agency, scheme_and_assessments=(scheme, assessments)).lead
    for assessment, suggested in zip(assessments, ("85", "60", "75"), strict=True):
        suggest(assessment, dict.fromkeys(SELF_SCORES, suggested))
        services.assessment_score(actor=lead, assessment=assessment, expected_version=None, entries=scores(SELF_SCORES))
        services.assessment_submit(actor=lead, assessment=assessment, expected_version=None)
    reviewer = chain(agency=agency, scheme_and_assessments=(scheme, assessments)).reviewer

    page = signed_in(reviewer).get("/assessments/").content.decode()

    order = [int(pk) for pk in re.findall(r'<tr id="assessment-(\d+)"', page)]
    assert order == [assessments[1].pk, assessments[2].pk, assessments[0].pk]
    assert "27.5" in page  # 87.5 − 60
    assert "考評複核" in page


# --- the year, publication and the published results -------------------------------------------------------------


def test_publication_is_refused_while_some_are_not_final_then_done(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=2)
    first = chain(agency=agency, to=AssessmentStatus.FINALIZED, scheme_and_assessments=(scheme, assessments))
    desk = signed_in(first.secretariat)
    year = f"/assessments/years/{scheme.pk}/"
    page = desk.get(year).content.decode()
    assert re.search(r'data-status="finalized">1<', page) and re.search(r'data-status="draft">1<', page)
    reader = signed_in(reader_user("reader"))
    assert first.assessment.node.title not in reader.get(year).content.decode()

    scheme.refresh_from_db()
    response = desk.post(f"{year}publish/", {"version": scheme.version}, follow=True)
    assert "1 份考評尚未有最終分數" in response.content.decode()
    scheme.refresh_from_db()
    assert scheme.published_at is None

    second = chain(agency=agency, to=AssessmentStatus.FINALIZED, scheme_and_assessments=(scheme, assessments[1:]))
    response = desk.post(f"{year}publish/", {"version": scheme.version})
    scheme.refresh_from_db()
    assert response.status_code == 302 and scheme.published_at is not None

    page = reader.get(year).content.decode()
    for assessment in (first.refresh(), second.refresh()):
        row = re.search(rf'<tr id="result-{assessment.pk}">(.*?)</tr>', page, re.S).group(1)
        assert assessment.node.title in row and assessment.grade in row and "87.5" in row
    assert NOTE not in page
    published = reader.get(url(first.assessment)).content.decode()
    assert "甲等" in published and NOTE not in published and 'id="score-table"' not in published
    # and nothing is scored any more
    refused = signed_in(first.secretariat).post(url(first.assessment), form_body(first.assessment, {"progress": "1"}))
    assert refused.status_code == 409 and "年度考評已公布" in refused.content.decode()


# --- query counts ------------------------------------------------------------------------------------------------


def test_the_queue_costs_the_same_for_one_as_for_many(agency, django_assert_num_queries):
    scheme, assessments = open_scheme(agency=agency, subprojects=6)
    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED, scheme_and_assessments=(scheme, assessments))
    reviewer = signed_in(people.reviewer)
    one = queries(reviewer, "/assessments/")

    for assessment in assessments[1:]:
        services.assessment_score(
            actor=people.lead, assessment=assessment, expected_version=None, entries=scores(SELF_SCORES)
        )
        services.assessment_submit(actor=people.lead, assessment=assessment, expected_version=None)

    with django_assert_num_queries(one):
        response = reviewer.get("/assessments/")
    assert response.content.decode().count('data-action="open-assessment"') == 6


def test_the_form_costs_the_same_for_one_file_and_criterion_as_for_many(
    agency, evidence_storage, django_assert_num_queries
):
    small, _assessments = open_scheme(agency=agency, year=2023)
    services.scheme_update(
        actor=chain(agency=agency, scheme_and_assessments=(small, _assessments)).secretariat,
        scheme=small,
        expected_version=None,
        data={"criteria": [{"key": "all", "name": "整體表現", "weight": "100"}]},
    )
    one_criterion = chain(agency=agency, scheme_and_assessments=(small, list(small.assessments.all())))
    services.assessment_file_add(actor=one_criterion.lead, assessment=one_criterion.assessment, upload=upload("一.pdf"))
    lead = signed_in(one_criterion.lead)
    one = queries(lead, url(one_criterion.assessment))

    many = chain(agency=agency)  # four criteria
    for name in ("一.pdf", "二.pdf", "三.pdf"):
        services.assessment_file_add(actor=many.lead, assessment=many.assessment, upload=upload(name))
    assert Assessment.objects.get(pk=many.assessment.pk).scores.count() == 4

    with django_assert_num_queries(one):
        response = lead.get(url(many.assessment))
    assert response.content.decode().count('class="criterion"') == 4


def test_the_lead_withdraws_and_the_secretariat_reopens_with_a_reason(agency):
    submitted = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    lead = signed_in(submitted.lead)
    assert 'id="withdraw-assessment"' in lead.get(url(submitted.assessment)).content.decode()

    lead.post(f"/assessments/{submitted.assessment.pk}/withdraw/", {"version": submitted.refresh().version})
    assert submitted.refresh().status == AssessmentStatus.DRAFT

    finalized = chain(agency=agency, to=AssessmentStatus.FINALIZED)
    desk = signed_in(finalized.secretariat)
    reopen = f"/assessments/{finalized.assessment.pk}/reopen/"
    assert signed_in(finalized.lead).post(reopen, {"version": finalized.assessment.version}).status_code == 403
    desk.post(reopen, {"version": finalized.assessment.version})
    assert finalized.refresh().status == AssessmentStatus.FINALIZED  # no reason, no reopening

    desk.post(reopen, {"version": finalized.assessment.version, f"reopen-{finalized.assessment.pk}-reason": "總分誤植"})
    assert (finalized.refresh().status, finalized.assessment.grade) == (AssessmentStatus.ENDORSED, "")
