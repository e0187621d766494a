"""The assessment's chain: self-assessment (自評) → ministry review (初核) → secretariat review (複核), each step
allowed to the right role only (403 otherwise), in the right status only (409), and recorded."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assessments import access, services
from assessments.models import AssessmentAction, AssessmentStatus, Score
from gstp.exceptions import InvalidTransition, StaleVersion
from tests.accounts.factories import lead_user, reader_user, reviewer_user, secretariat_user
from tests.projects.factories import AgencyFactory

from .factories import SELF_SCORES, SELF_TOTAL, chain, open_scheme, scores

pytestmark = pytest.mark.django_db

ACTORS = ("lead", "other_lead", "reviewer", "other_reviewer", "secretariat", "reader")


def actor_of(name, people):
    if name in ("lead", "reviewer", "secretariat"):
        return getattr(people, name)
    other = AgencyFactory(name="經濟部")
    return {
        "other_lead": lambda: lead_user(other, "other-lead"),
        "other_reviewer": lambda: reviewer_user(other, "other-reviewer"),
        "reader": lambda: reader_user("reader"),
    }[name]()


def step(action, actor, assessment):
    reason = "理由"
    calls = {
        "score": lambda: services.assessment_score(
            actor=actor, assessment=assessment, expected_version=None, entries=scores({"progress": "70"})
        ),
        "submit": lambda: services.assessment_submit(actor=actor, assessment=assessment, expected_version=None),
        "withdraw": lambda: services.assessment_withdraw(actor=actor, assessment=assessment, expected_version=None),
        "endorse": lambda: services.assessment_endorse(actor=actor, assessment=assessment, expected_version=None),
        "return": lambda: services.assessment_return(
            actor=actor, assessment=assessment, expected_version=None, reason=reason
        ),
        "finalize": lambda: services.assessment_finalize(actor=actor, assessment=assessment, expected_version=None),
        "reopen": lambda: services.assessment_reopen(
            actor=actor, assessment=assessment, expected_version=None, reason=reason
        ),
    }
    return calls[action]()


# (status, action) -> the one actor allowed; every other actor is refused with 403.
ALLOWED = {
    (AssessmentStatus.DRAFT, "score"): "lead",
    (AssessmentStatus.RETURNED, "submit"): "lead",
    (AssessmentStatus.SUBMITTED, "withdraw"): "lead",
    (AssessmentStatus.SUBMITTED, "score"): "reviewer",
    (AssessmentStatus.SUBMITTED, "endorse"): "reviewer",
    (AssessmentStatus.SUBMITTED, "return"): "reviewer",
    (AssessmentStatus.ENDORSED, "score"): "secretariat",
    (AssessmentStatus.ENDORSED, "finalize"): "secretariat",
    (AssessmentStatus.ENDORSED, "return"): "secretariat",
    (AssessmentStatus.FINALIZED, "reopen"): "secretariat",
}
AFTER = {
    "submit": AssessmentStatus.SUBMITTED,
    "withdraw": AssessmentStatus.DRAFT,
    "endorse": AssessmentStatus.ENDORSED,
    "finalize": AssessmentStatus.FINALIZED,
    "reopen": AssessmentStatus.ENDORSED,
}


@pytest.mark.parametrize(("status", "action"), list(ALLOWED))
@pytest.mark.parametrize("who", ACTORS)
def test_each_step_is_taken_by_its_role_only(agency, status, action, who):
    people = chain(agency=agency, to=status)
    actor = actor_of(who, people)
    if who != ALLOWED[status, action]:
        with pytest.raises(PermissionDenied):
            step(action, actor, people.assessment)
        assert people.refresh().status == status
        return
    before = people.assessment.version
    step(action, actor, people.assessment)
    assessment = people.refresh()
    expected = AFTER.get(action) or (
        {AssessmentStatus.SUBMITTED: AssessmentStatus.RETURNED, AssessmentStatus.ENDORSED: AssessmentStatus.SUBMITTED}[
            status
        ]
        if action == "return"
        else status
    )
    assert assessment.status == expected
    assert assessment.version == before + 1
    event = assessment.events.order_by("-id").first()
    assert (event.actor, event.from_status, event.to_status) == (actor, status, expected)


# Steps a status does not allow, tried by the role that would take them elsewhere: 409, nothing changed.
OUT_OF_TURN = [
    (AssessmentStatus.DRAFT, "endorse", "reviewer"),
    (AssessmentStatus.DRAFT, "finalize", "secretariat"),
    (AssessmentStatus.DRAFT, "withdraw", "lead"),
    (AssessmentStatus.SUBMITTED, "submit", "lead"),
    (AssessmentStatus.SUBMITTED, "finalize", "secretariat"),
    (AssessmentStatus.ENDORSED, "endorse", "reviewer"),
    (AssessmentStatus.ENDORSED, "submit", "lead"),
    (AssessmentStatus.FINALIZED, "finalize", "secretariat"),
    (AssessmentStatus.FINALIZED, "score", "secretariat"),
    (AssessmentStatus.FINALIZED, "return", "secretariat"),
    (AssessmentStatus.RETURNED, "endorse", "reviewer"),
]


@pytest.mark.parametrize(("status", "action", "who"), OUT_OF_TURN)
def test_a_step_out_of_turn_is_409_and_changes_nothing(agency, status, action, who):
    people = chain(agency=agency, to=status)
    version = people.assessment.version
    with pytest.raises(InvalidTransition):
        step(action, getattr(people, who), people.assessment)
    assessment = people.refresh()
    assert (assessment.status, assessment.version) == (status, version)


def test_the_scores_go_up_the_chain_with_reasons_and_the_grade_follows_the_final_total(agency):
    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    assert people.assessment.self_total == SELF_TOTAL
    # The ministry lowers progress from 90 to 80 (−3 points of total): it passes it on only once it says why.
    services.assessment_score(
        actor=people.reviewer,
        assessment=people.assessment,
        expected_version=None,
        entries=[{"criterion": "progress", "score": "80", "note": ""}],
    )
    with pytest.raises(ValidationError) as refused:
        services.assessment_endorse(actor=people.reviewer, assessment=people.assessment, expected_version=None)
    assert list(refused.value.message_dict) == ["scores[0].note"]
    services.assessment_score(
        actor=people.reviewer,
        assessment=people.assessment,
        expected_version=None,
        entries=[{"criterion": "progress", "note": "第4季進度落後2%"}],
    )
    services.assessment_endorse(actor=people.reviewer, assessment=people.assessment, expected_version=None)
    assessment = people.refresh()
    assert assessment.review_total == Decimal("84.50")  # 87.50 − (90 − 80) × 0.3
    # What the ministry left alone is the self-assessment's, written into its column.
    reviewed = dict(Score.objects.filter(assessment=assessment).values_list("criterion__key", "review_score"))
    assert reviewed == {"progress": 80, "budget": 80, "targets": 85, "management": 95}
    # The secretariat lowers targets from 85 to 40: 84.50 − 45 × 0.3 = 71.00, 乙等 (70 ≤ 71 < 80).
    services.assessment_score(
        actor=people.secretariat,
        assessment=assessment,
        expected_version=None,
        entries=[{"criterion": "targets", "score": "40", "note": "指標未達成"}],
    )
    services.assessment_finalize(actor=people.secretariat, assessment=assessment, expected_version=None)
    assessment = people.refresh()
    assert (assessment.status, assessment.final_total, assessment.grade) == (
        AssessmentStatus.FINALIZED,
        Decimal("71.00"),
        "乙等",
    )
    actions = list(assessment.events.values_list("action", flat=True))
    assert actions == [
        AssessmentAction.CREATE,
        AssessmentAction.SCORE,
        AssessmentAction.SUBMIT,
        AssessmentAction.SCORE,
        AssessmentAction.SCORE,
        AssessmentAction.ENDORSE,
        AssessmentAction.SCORE,
        AssessmentAction.FINALIZE,
    ]
    # Every change of a score is in its history.
    progress = Score.objects.get(assessment=assessment, criterion__key="progress")
    assert [row.review_score for row in progress.history.order_by("history_id")][-1] == 80


def test_a_lead_submits_only_when_every_criterion_is_scored_and_justified(agency):
    people = chain(agency=agency)
    partial = {key: value for key, value in SELF_SCORES.items() if key != "budget"}
    services.assessment_score(
        actor=people.lead, assessment=people.assessment, expected_version=None, entries=scores(partial)
    )
    with pytest.raises(ValidationError) as refused:
        services.assessment_submit(actor=people.lead, assessment=people.assessment, expected_version=None)
    assert list(refused.value.message_dict) == ["scores[1].score"]
    services.assessment_score(
        actor=people.lead,
        assessment=people.assessment,
        expected_version=None,
        entries=[{"criterion": "budget", "score": "75", "note": ""}],
    )
    with pytest.raises(ValidationError) as refused:
        services.assessment_submit(actor=people.lead, assessment=people.assessment, expected_version=None)
    assert list(refused.value.message_dict) == ["scores[1].note"]
    assert people.refresh().status == AssessmentStatus.DRAFT


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"criterion": "nope", "score": "1"}, "scores[0].criterion"),
        ({"criterion": "budget", "score": "101"}, "scores[0].score"),
        ({"criterion": "budget", "score": "-1"}, "scores[0].score"),
        ({"criterion": "budget", "score": "1.005"}, "scores[0].score"),
        ({"criterion": "budget", "score": "NaN"}, "scores[0].score"),
        ({"criterion": "budget", "score": "八十"}, "scores[0].score"),
        ({"criterion": "budget", "note": "字" * 2001}, "scores[0].note"),
    ],
)
def test_a_bad_score_is_refused_naming_it_and_nothing_is_written(agency, entry, field):
    people = chain(agency=agency)
    version = people.assessment.version
    with pytest.raises(ValidationError) as refused:
        services.assessment_score(
            actor=people.lead, assessment=people.assessment, expected_version=None, entries=[entry]
        )
    assert list(refused.value.message_dict) == [field]
    assert people.refresh().version == version
    assert not Score.objects.filter(assessment=people.assessment, self_score__isnull=False).exists()


def test_four_eyes_nobody_reviews_what_they_submitted_or_finalizes_what_they_reviewed(agency):
    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    assert access.submitted_assessment(people.lead, people.assessment)
    assert not access.can_review(people.lead, people.assessment)
    services.assessment_endorse(actor=people.reviewer, assessment=people.assessment, expected_version=None)
    people.refresh()
    assert access.reviewed_assessment(people.reviewer, people.assessment)
    assert not access.can_finalize(people.reviewer, people.assessment)
    assert access.can_finalize(people.secretariat, people.assessment)


def test_a_stale_version_is_412(agency):
    people = chain(agency=agency)
    stale = people.assessment.version
    services.assessment_score(
        actor=people.lead, assessment=people.assessment, expected_version=stale, entries=scores({"budget": "70"})
    )
    with pytest.raises(StaleVersion):
        services.assessment_score(
            actor=people.lead, assessment=people.refresh(), expected_version=stale, entries=scores({"budget": "60"})
        )


def test_returns_go_one_level_down_with_a_reason(agency):
    people = chain(agency=agency, to=AssessmentStatus.ENDORSED)
    with pytest.raises(ValidationError) as refused:
        services.assessment_return(
            actor=people.secretariat, assessment=people.assessment, expected_version=None, reason=" "
        )
    assert list(refused.value.message_dict) == ["reason"]
    services.assessment_return(
        actor=people.secretariat, assessment=people.assessment, expected_version=None, reason="請部會重新檢視"
    )
    assert people.refresh().status == AssessmentStatus.SUBMITTED  # back with the ministry
    services.assessment_return(
        actor=people.reviewer, assessment=people.assessment, expected_version=None, reason="請補充佐證"
    )
    assert people.refresh().status == AssessmentStatus.RETURNED  # back with the lead
    reasons = list(people.assessment.events.filter(action=AssessmentAction.RETURN).values_list("reason", flat=True))
    assert reasons == ["請部會重新檢視", "請補充佐證"]


def test_publication_needs_every_final_score_then_freezes_everything(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=2)
    people = chain(agency=agency, to=AssessmentStatus.FINALIZED, scheme_and_assessments=(scheme, assessments))
    with pytest.raises(InvalidTransition) as refused:
        services.scheme_publish(actor=people.secretariat, scheme=scheme)
    assert refused.value.code == "not_finalized"
    second = chain(agency=agency, to=AssessmentStatus.FINALIZED, scheme_and_assessments=(scheme, assessments[1:]))
    with pytest.raises(PermissionDenied):
        services.scheme_publish(actor=people.reviewer, scheme=scheme)
    services.scheme_publish(actor=people.secretariat, scheme=scheme)
    scheme.refresh_from_db()
    assert scheme.is_published and scheme.published_by == people.secretariat
    with pytest.raises(InvalidTransition):
        services.assessment_reopen(
            actor=people.secretariat, assessment=second.refresh(), expected_version=None, reason="x"
        )
    with pytest.raises(InvalidTransition):
        services.scheme_update(actor=people.secretariat, scheme=scheme, expected_version=None, data={"bands": []})


def test_the_scheme_defaults_and_its_checks(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=3)
    assert [(c.key, c.name, c.weight) for c in scheme.criteria.all()] == [
        ("progress", "計畫執行進度", 30),
        ("budget", "經費執行", 20),
        ("targets", "目標達成", 30),
        ("management", "作業管理", 20),
    ]
    assert [(b.name, b.minimum) for b in scheme.bands.all()] == [("優等", 90), ("甲等", 80), ("乙等", 70), ("丙等", 0)]
    assert (scheme.self_due.isoformat(), scheme.publish_on.isoformat()) == ("2025-02-15", "2025-04-30")
    assert len(assessments) == 3 and Score.objects.filter(assessment__scheme=scheme).count() == 12
    secretariat = secretariat_user()
    with pytest.raises(InvalidTransition):
        services.scheme_open(actor=secretariat, plan=scheme.plan, year=2024)
    bad = [
        (
            {"criteria": [{"key": "a", "name": "甲", "weight": "60"}, {"key": "b", "name": "乙", "weight": "30"}]},
            "criteria",
        ),
        ({"bands": [{"name": "優等", "minimum": "90"}]}, "bands"),
        ({"self_due": scheme.final_due.replace(year=2026)}, "review_due"),
    ]
    for data, field in bad:
        with pytest.raises(ValidationError) as refused:
            services.scheme_update(actor=secretariat, scheme=scheme, expected_version=None, data=data)
        assert field in refused.value.message_dict, data
    services.scheme_update(
        actor=secretariat,
        scheme=scheme,
        expected_version=scheme.version,
        data={"bands": [{"name": "通過", "minimum": "60"}, {"name": "不通過", "minimum": "0"}]},
    )
    assert scheme.history.count() == 2
    # Once a self-assessment is submitted, the criteria stay as they were scored.
    chain(agency=agency, to=AssessmentStatus.SUBMITTED, scheme_and_assessments=(scheme, assessments))
    with pytest.raises(InvalidTransition):
        services.scheme_update(
            actor=secretariat,
            scheme=scheme,
            expected_version=None,
            data={"criteria": [{"key": "all", "name": "整體", "weight": "100"}]},
        )


def test_the_queue_puts_the_largest_gap_over_the_suggestions_first(agency):
    from assessments.selectors import review_queue

    scheme, assessments = open_scheme(agency=agency, subprojects=3)
    Score.objects.filter(assessment__scheme=scheme).update(suggested=Decimal(80))
    people = []
    for assessment, progress in zip(assessments, ("80", "100", "60"), strict=True):
        people.append(chain(agency=agency, scheme_and_assessments=(scheme, [assessment])))
        values = {**SELF_SCORES, "progress": progress}
        services.assessment_score(
            actor=people[-1].lead, assessment=assessment, expected_version=None, entries=scores(values)
        )
        services.assessment_submit(actor=people[-1].lead, assessment=assessment, expected_version=None)
    queue = list(review_queue(user=people[0].reviewer))
    # progress 100: (100−80)×.3 + 0 + (85−80)×.3 + (95−80)×.2 = 6 + 1.5 + 3 = 10.5; 80: 4.5; 60: −1.5
    assert [(a.pk, a.gap) for a in queue] == [
        (assessments[1].pk, Decimal("10.50")),
        (assessments[0].pk, Decimal("4.50")),
        (assessments[2].pk, Decimal("-1.50")),
    ]
    assert list(review_queue(user=people[0].lead)) == []


def test_the_events_are_written_once(agency, connection_is_postgres):
    from django.db import DatabaseError, connection, transaction

    from assessments.models import AssessmentEvent

    people = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    event = AssessmentEvent.objects.filter(assessment=people.assessment).first()
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    if not connection_is_postgres:
        return
    # The database refuses too, whoever writes past the model.
    for sql in ("UPDATE assessments_assessmentevent SET reason = 'x'", "DELETE FROM assessments_assessmentevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AssessmentEvent.objects.filter(assessment=people.assessment).count() == 3


def test_a_stale_version_is_412_even_when_nothing_would_change(agency):
    people = chain(agency=agency)
    stale = people.assessment.version
    services.assessment_score(
        actor=people.lead, assessment=people.assessment, expected_version=stale, entries=scores({"budget": "70"})
    )
    with pytest.raises(StaleVersion):
        services.assessment_score(
            actor=people.lead, assessment=people.refresh(), expected_version=stale, entries=scores({"budget": "70"})
        )


def test_the_lead_takes_back_only_what_the_ministry_has_not_reviewed_since(agency):
    people = chain(agency=agency, to=AssessmentStatus.ENDORSED)
    services.assessment_return(
        actor=people.secretariat, assessment=people.assessment, expected_version=None, reason="請部會重新檢視"
    )
    assessment = people.refresh()
    assert assessment.status == AssessmentStatus.SUBMITTED  # back with the ministry, which reviewed it
    assert "withdraw" not in access.assessment_actions(people.lead, assessment)
    with pytest.raises(InvalidTransition):
        services.assessment_withdraw(actor=people.lead, assessment=assessment, expected_version=None)
    # Returned to the lead and submitted again, it is the lead's to take back until the ministry reviews it.
    services.assessment_return(actor=people.reviewer, assessment=assessment, expected_version=None, reason="補件")
    services.assessment_submit(actor=people.lead, assessment=people.refresh(), expected_version=None)
    assert "withdraw" in access.assessment_actions(people.lead, people.refresh())
    services.assessment_withdraw(actor=people.lead, assessment=people.assessment, expected_version=None)
    assert people.refresh().status == AssessmentStatus.DRAFT


def test_scores_a_level_left_alone_follow_the_level_below_after_a_return(agency):
    people = chain(agency=agency, to=AssessmentStatus.ENDORSED)  # the ministry left every score as the lead's
    for actor, reason in ((people.secretariat, "請部會重新檢視"), (people.reviewer, "請補充")):
        services.assessment_return(actor=actor, assessment=people.refresh(), expected_version=None, reason=reason)
    # The lead lowers budget from 80 to 60 and submits again: the ministry passes it on without a word.
    services.assessment_score(
        actor=people.lead, assessment=people.refresh(), expected_version=None, entries=scores({"budget": "60"})
    )
    services.assessment_submit(actor=people.lead, assessment=people.refresh(), expected_version=None)
    services.assessment_endorse(actor=people.reviewer, assessment=people.refresh(), expected_version=None)
    assessment = people.refresh()
    # 87.50 − (80 − 60) × 0.2 = 83.50: the lead's 60 stands, not the 80 the ministry once passed on.
    assert assessment.review_total == Decimal("83.50")
    assert Score.objects.get(assessment=assessment, criterion__key="budget").review_score == 60


def test_a_criterion_given_another_source_gets_its_suggestions_again(agency):
    scheme, assessments = open_scheme(agency=agency)
    Score.objects.filter(assessment__scheme=scheme, criterion__key="targets").update(suggested=Decimal(55))
    version = assessments[0].version
    criteria = [
        {"key": c.key, "name": c.name, "weight": str(c.weight), "source": "" if c.key == "targets" else c.source}
        for c in scheme.criteria.all()
    ]
    services.scheme_update(actor=secretariat_user(), scheme=scheme, expected_version=None, data={"criteria": criteria})
    targets = Score.objects.get(assessment=assessments[0], criterion__key="targets")
    assert (targets.suggested, targets.evidence) == (None, {})
    # The assessments changed with it: a client's ETag and updated_since see it.
    assert assessments[0].__class__.objects.get(pk=assessments[0].pk).version == version + 1


def test_publication_is_a_step_of_every_assessment(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=2)
    for assessment in assessments:
        chain(agency=agency, to=AssessmentStatus.FINALIZED, scheme_and_assessments=(scheme, [assessment]))
    before = {a.pk: a.version for a in scheme.assessments.all()}
    services.scheme_publish(actor=secretariat_user(), scheme=scheme)
    for assessment in scheme.assessments.all():
        assert assessment.version == before[assessment.pk] + 1
        event = assessment.events.order_by("-id").first()
        assert (event.action, event.version) == (AssessmentAction.PUBLISH, assessment.version)
        assert assessment.history.order_by("-history_id").first().version == assessment.version


def test_a_subproject_without_a_lead_agency_is_not_assessed(agency):
    from tests.projects.factories import SubprojectFactory

    scheme, assessments = open_scheme(agency=agency)
    orphan = SubprojectFactory(parent=assessments[0].node.parent)  # nobody to self-assess it
    following = services.scheme_open(actor=secretariat_user(), plan=scheme.plan, year=2025)
    assert list(following.assessments.values_list("node", flat=True)) == [assessments[0].node_id]
    assert orphan.pk != assessments[0].node_id
