"""Who is told of the assessment's steps: emails to whoever acts next, webhooks, reminders before due dates.

- submitted: the ministry's reviewers (with the self-assessed total); endorsed: the secretariat; returned by the
  ministry: the sub-project's leads, returned by the secretariat: the ministry's reviewers, with the reason;
  published: every account with an email, each its own email;
- webhooks ``assessment.submitted`` (ids, status and version, no score) and ``assessment.published`` (each
  sub-project's grade and final total);
- reminders 7 days and 1 day before each due date, to those whose step is still pending.

The services write ``assessments.*`` jobs in the outbox; the tests run them as a worker would (``run_jobs``), and
an email goes out once per key however often its job runs. One test runs a real Celery worker.
"""

import datetime
import json
import os
import uuid

import pytest
from django.db import connection, transaction

from assessments import notifications, services, tasks
from assessments.models import AssessmentStatus
from reviews.models import EmailLog, OutboxMessage, WebhookDelivery, WebhookEvent
from reviews.services import notifications as webhooks
from reviews.services import outbox_relay
from reviews.tasks import fan_out_webhook
from tests.accounts.factories import lead_user, reader_user, reviewer_user, secretariat_user
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import WebhookSubscriptionFactory
from tests.support.broker import use_broker
from tests.support.processes import CeleryWorker, wait_until
from tests.support.workers import database_url

from .factories import SELF_SCORES, chain, open_scheme, scores

pytestmark = pytest.mark.django_db

SECRET = "whsec-assessments"
JOBS = {
    "assessments.notify_step": tasks.notify_step,
    "assessments.notify_published": tasks.notify_published,
}


@pytest.fixture
def people(agency, other_agency):
    """Everyone who might hear of an assessment of a sub-project led by ``agency`` (數位發展部), with emails."""
    return {
        "lead": lead_user(agency, email="lead@example.org"),
        "reviewer": reviewer_user(agency, email="reviewer@example.org"),
        "secretariat": secretariat_user(email="sec@example.org"),
        "other_lead": lead_user(other_agency, email="other-lead@example.org"),
        "other_reviewer": reviewer_user(other_agency, email="other-reviewer@example.org"),
        "reader": reader_user("reader-mail", email="reader@example.org"),
    }


def run_jobs(times: int = 1) -> None:
    """Run the assessment's jobs waiting in the outbox, ``times`` over (a job may run twice)."""
    for _ in range(times):
        for message in OutboxMessage.objects.filter(task__in=JOBS).order_by("pk"):
            JOBS[message.task](**message.kwargs)


def sent(mailoutbox) -> list[tuple[list[str], str]]:
    return [(sorted(message.to), message.subject) for message in mailoutbox]


def test_a_submitted_self_assessment_is_told_to_the_ministry_reviewers_once(people, agency, mailoutbox):
    people_ = chain(agency=agency, to=AssessmentStatus.SUBMITTED)

    run_jobs(times=2)

    assert sent(mailoutbox) == [
        (["reviewer@example.org"], f"[GSTP] 年度考評自評送出，待初核：{people_.assessment.node.title}")
    ]
    body = mailoutbox[0].body
    assert "自評總分：87.50" in body
    assert "自評已送出，待部會初核（第 3 版）" in body
    assert EmailLog.objects.filter(key=f"assessment-step:{people_.assessment.pk}:3:submitted").exists()


def test_a_reviewed_assessment_is_told_to_the_secretariat(people, agency, mailoutbox):
    people_ = chain(agency=agency, to=AssessmentStatus.ENDORSED)
    mailoutbox.clear()
    OutboxMessage.objects.filter(kwargs__step="submitted").delete()

    run_jobs(times=2)

    assert sent(mailoutbox) == [
        (["sec@example.org"], f"[GSTP] 年度考評部會初核完成，待複核：{people_.assessment.node.title}")
    ]
    assert "初核總分：87.50" in mailoutbox[0].body


def test_a_return_is_told_to_the_level_below_with_the_reason(people, agency, mailoutbox):
    # given one assessment returned by the ministry to its lead
    returned = chain(agency=agency, to=AssessmentStatus.RETURNED)
    # and another, reviewed, returned by the secretariat to the ministry
    reviewed = chain(agency=agency, to=AssessmentStatus.ENDORSED, scheme_and_assessments=open_scheme(agency=agency))
    services.assessment_return(
        actor=reviewed.secretariat, assessment=reviewed.assessment, expected_version=None, reason="初核理由不足"
    )
    OutboxMessage.objects.exclude(kwargs__step="returned").delete()

    run_jobs(times=2)

    assert sent(mailoutbox) == [
        (["lead@example.org"], f"[GSTP] 年度考評退回自評：{returned.assessment.node.title}"),
        (["reviewer@example.org"], f"[GSTP] 年度考評複核退回初核：{reviewed.assessment.node.title}"),
    ]
    assert "原因：請補充佐證" in mailoutbox[0].body
    assert "原因：初核理由不足" in mailoutbox[1].body


def test_a_late_job_tells_of_the_step_as_taken(people, agency, mailoutbox):
    # given a self-assessment submitted, returned and submitted again before any job ran
    people_ = chain(agency=agency, to=AssessmentStatus.RETURNED)
    services.assessment_submit(actor=people_.lead, assessment=people_.refresh(), expected_version=None)
    OutboxMessage.objects.filter(kwargs__step="returned").delete()

    run_jobs()

    # then each submission is its own email, telling of its version
    assert [message.to for message in mailoutbox] == [["reviewer@example.org"], ["reviewer@example.org"]]
    assert "（第 3 版）" in mailoutbox[0].body
    assert "（第 5 版）" in mailoutbox[1].body


def test_publication_is_told_to_every_account_with_an_email_each_once(people, agency, mailoutbox):
    people_ = chain(agency=agency, to=AssessmentStatus.FINALIZED)
    services.scheme_publish(actor=people_.secretariat, scheme=people_.scheme)
    OutboxMessage.objects.filter(task="assessments.notify_step").delete()

    run_jobs(times=2)

    assert sorted(message.to[0] for message in mailoutbox) == sorted(user.email for user in people.values())
    assert all(len(message.to) == 1 for message in mailoutbox)
    assert mailoutbox[0].subject.endswith(f"{people_.scheme.year} 年度考評結果公布")
    assert "等第分布：優等 0 件、甲等 1 件、乙等 0 件、丙等 0 件" in mailoutbox[0].body


# --- webhooks -------------------------------------------------------------------------------------------------


def fan_out_all() -> list[WebhookDelivery]:
    for message in OutboxMessage.objects.filter(task="reviews.fan_out_webhook").order_by("pk"):
        fan_out_webhook(**message.kwargs)
    return list(WebhookDelivery.objects.order_by("pk"))


@pytest.mark.usefixtures("no_proxy")
def test_submission_and_publication_reach_the_subscriber(receiver, people, agency):
    WebhookSubscriptionFactory(
        name="portal",
        url=receiver.url(),
        secret=SECRET,
        events=[WebhookEvent.ASSESSMENT_SUBMITTED, WebhookEvent.ASSESSMENT_PUBLISHED],
    )
    # when an assessment goes through the chain and its year is published
    people_ = chain(agency=agency, to=AssessmentStatus.FINALIZED)
    scheme = services.scheme_publish(actor=people_.secretariat, scheme=people_.scheme)
    for delivery in fan_out_all():
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) is True

    # then the receiver has one signed POST per event
    requests = receiver.requests
    assert [request.headers["X-GSTP-Event"] for request in requests] == ["assessment.submitted", "assessment.published"]
    for request in requests:
        timestamp = request.headers["X-GSTP-Timestamp"]
        assert request.headers["X-GSTP-Signature"] == f"sha256={webhooks.sign(SECRET, request.body, timestamp)}"
    submitted, published = (json.loads(request.body) for request in requests)
    assessment = people_.assessment
    # the submission: which assessment, at which step; no score
    assert submitted["assessment"] == {
        "id": assessment.pk,
        "project": assessment.node_id,
        "scheme": scheme.pk,
        "plan": scheme.plan_id,
        "year": scheme.year,
        "status": "submitted",
        "version": 3,
    }
    # the publication: each sub-project's grade and final total
    assert published["scheme"] == {
        "id": scheme.pk,
        "plan": scheme.plan_id,
        "year": scheme.year,
        "published_at": scheme.published_at.isoformat(),
        "results": [
            {"assessment": assessment.pk, "project": assessment.node_id, "grade": "甲等", "final_total": "87.50"}
        ],
    }
    # and the jobs run again deliver nothing more
    assert len(fan_out_all()) == 2


def test_without_a_subscription_no_assessment_webhook_job(people, agency):
    WebhookSubscriptionFactory(events=[WebhookEvent.REPORT_ACCEPTED])

    people_ = chain(agency=agency, to=AssessmentStatus.FINALIZED)
    services.scheme_publish(actor=people_.secretariat, scheme=people_.scheme)

    assert not OutboxMessage.objects.filter(task="reviews.fan_out_webhook").exists()


# --- reminders ------------------------------------------------------------------------------------------------


@pytest.fixture
def year_in_progress(people, agency, other_agency):
    """A scheme with, of 數位發展部's sub-projects, one draft, one returned and one submitted, and of 經濟部's
    one reviewed by its ministry."""
    plan = PlanFactory()
    make_tree(plan, lead_agency=other_agency, prefix="經濟")
    scheme, assessments = open_scheme(agency=agency, subprojects=3, plan=plan)
    draft, returned, submitted, reviewed = sorted(assessments, key=lambda a: a.node.title)
    lead, other_lead = people["lead"], people["other_lead"]
    for assessment, actor in ((returned, lead), (submitted, lead), (reviewed, other_lead)):
        services.assessment_score(
            actor=actor, assessment=assessment, expected_version=None, entries=scores(SELF_SCORES)
        )
        services.assessment_submit(actor=actor, assessment=assessment, expected_version=None)
    services.assessment_return(actor=people["reviewer"], assessment=returned, expected_version=None, reason="補件")
    services.assessment_endorse(actor=people["other_reviewer"], assessment=reviewed, expected_version=None)
    return scheme


def reminded(mailoutbox, on: datetime.date) -> list[tuple[str, str]]:
    before = len(mailoutbox)
    notifications.due_reminders(on=on)
    return [(message.to[0], message.subject) for message in mailoutbox[before:]]


def test_reminders_go_before_each_due_date_to_whoever_is_still_pending_once(year_in_progress, mailoutbox):
    scheme = year_in_progress
    days = datetime.timedelta

    # a week before the self-assessment is due: the lead of the draft and the returned one, once
    assert reminded(mailoutbox, scheme.self_due - days(8)) == []
    (self_week,) = reminded(mailoutbox, scheme.self_due - days(7))
    assert self_week == ("lead@example.org", f"[GSTP] 年度考評自評提醒：2 件待辦，{scheme.self_due} 到期")
    assert "子計畫 0" in mailoutbox[-1].body and "子計畫 1" in mailoutbox[-1].body
    assert reminded(mailoutbox, scheme.self_due - days(7)) == []
    assert reminded(mailoutbox, scheme.self_due - days(3)) == []
    # the day before, again; after it, no more
    assert [to for to, _subject in reminded(mailoutbox, scheme.self_due - days(1))] == ["lead@example.org"]
    assert reminded(mailoutbox, scheme.self_due) == []
    assert reminded(mailoutbox, scheme.self_due + days(1)) == []

    # a week before the ministry's review is due: 數位發展部's reviewer (one submitted), not 經濟部's (none)
    assert [to for to, _subject in reminded(mailoutbox, scheme.review_due - days(7))] == ["reviewer@example.org"]
    # a week before the final scores are due: the secretariat (經濟部's reviewed one)
    assert reminded(mailoutbox, scheme.final_due - days(7)) == [
        ("sec@example.org", f"[GSTP] 年度考評執行秘書室複核提醒：1 件待辦，{scheme.final_due} 到期")
    ]
    # the readers and other leads never
    everyone = {message.to[0] for message in mailoutbox}
    assert everyone == {"lead@example.org", "reviewer@example.org", "sec@example.org"}


def test_a_published_year_reminds_nobody(people, agency, mailoutbox):
    people_ = chain(agency=agency, to=AssessmentStatus.FINALIZED)
    services.scheme_publish(actor=people_.secretariat, scheme=people_.scheme)

    for field in ("self_due", "review_due", "final_due"):
        assert reminded(mailoutbox, getattr(people_.scheme, field) - datetime.timedelta(days=1)) == []


@pytest.mark.parametrize(("days_left", "day"), [(8, None), (7, 7), (2, 7), (1, 1), (0, 1), (-1, None)])
def test_each_day_before_a_due_date_falls_to_one_reminder(days_left, day):
    assert notifications.reminder_day(days_left) == day


# --- a real worker --------------------------------------------------------------------------------------------


@pytest.fixture
def worker(transactional_db, settings, tmp_path, request):
    """A Celery worker on the test database and the Redis at REDIS_URL (as in tests/reviews/test_worker.py)."""
    broker_url = os.environ["REDIS_URL"]
    with use_broker(broker_url, django_settings=settings):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "gstp.settings",
            "DATABASE_URL": database_url(connection.settings_dict),
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
            env.pop(name, None)
        process = CeleryWorker(
            env=env, log_path=tmp_path / "worker.log", hostname=f"gstp-test-{uuid.uuid4().hex[:8]}@%h"
        )
        request.addfinalizer(process.stop)
        process.wait_ready()
        yield process


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_the_submission_email_published_from_the_outbox(worker):
    agency = AgencyFactory(name="數位發展部")
    reviewer_user(agency, email="reviewer@example.org")
    lead_user(agency, email="lead@example.org")
    # when a lead submits its self-assessment (the job committed with it) and the outbox is relayed
    with transaction.atomic():
        people_ = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    key = f"assessment-step:{people_.assessment.pk}:3:submitted"

    def emailed():
        outbox_relay()
        return EmailLog.objects.filter(key=key).first()

    try:
        email = wait_until(emailed, timeout=60, interval=0.5, what="the submission's email")
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n--- worker log ---\n{worker.log_tail(80)}")

    # then the worker sent it to the ministry's reviewer, once
    assert email.recipients == ["reviewer@example.org"]
    assert email.subject.startswith("[GSTP] 年度考評自評送出，待初核")
    message = OutboxMessage.objects.get(task="assessments.notify_step")
    wait_until(
        lambda: worker.count(f"Task assessments.notify_step[outbox-{message.pk}] succeeded") == 1,
        timeout=10,
        what="the worker's log",
    )
    assert worker.count("Message-ID:") == 1, worker.log_tail(80)
