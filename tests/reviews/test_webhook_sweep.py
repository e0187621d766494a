"""The webhook sweep: a delivery whose next attempt is due is sent, whatever became of its retry job.

A failed attempt keeps on the delivery when the next one is due (``next_attempt_at``). The retry job Celery
holds is the quick way; if it is lost (every worker restarted, the broker lost it), the sweep (beat, every
minute) asks for that attempt again once it is due, and not before. The sweep, the retry job and a second
sweep may all ask for the same attempt: exactly one makes it, and a delivered one is never sent again.
After the last attempt the delivery is abandoned; the admin lists it under "abandoned" and sends it again.

A lost job is a job never run: the first attempt runs through the task eagerly, with its retry raised to
the test instead of published (``always_eager(propagates=True)``), and the test never runs it. The receiver is
the real HTTP server on 127.0.0.1 of ``test_webhooks``.
"""

import datetime

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Role
from reviews.models import OutboxMessage, WebhookDelivery
from reviews.services import notifications
from reviews.services.notifications import WebhookFailed
from reviews.tasks import deliver_webhook, sweep_webhooks
from tests.accounts.factories import UserFactory
from tests.projects.factories import AgencyFactory
from tests.reviews.factories import QuarterlyReportFactory
from tests.reviews.test_scan import run_together
from tests.reviews.test_webhooks import always_eager, delivery_for, subscribe

pytestmark = [pytest.mark.usefixtures("no_proxy")]
CHANGELIST = "/admin/reviews/webhookdelivery/"


@pytest.fixture
def report(db):
    return QuarterlyReportFactory(accepted=True)


@pytest.fixture
def quick_retries(settings):
    """A minute before the first retry, so that "not yet due" is certain; three attempts in all."""
    settings.GSTP_WEBHOOK_RETRY_FIRST_SECONDS = 60
    settings.GSTP_WEBHOOK_ATTEMPTS = 3
    return settings


def delivery_jobs() -> list[dict]:
    return list(
        OutboxMessage.objects.filter(task="reviews.deliver_webhook").order_by("pk").values_list("kwargs", flat=True)
    )


def run_new_delivery_jobs(seen: int = 0) -> list:
    """Run the delivery jobs written to the outbox after the first ``seen``, as a worker would."""
    return [deliver_webhook.apply(kwargs=kwargs).result for kwargs in delivery_jobs()[seen:]]


def failed_with_its_retry_lost(delivery) -> WebhookDelivery:
    """One attempt through the task; the retry it asks for is raised here and never run."""
    with always_eager(propagates=True), pytest.raises(Retry):
        deliver_webhook.delay(delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- the sweep ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delivery_whose_retry_was_lost_is_sent_by_the_sweep_once_due_and_not_before(receiver, report, quick_retries):
    # given a delivery that failed once, its retry job lost
    delivery = delivery_for(subscribe(receiver.url()), report)
    receiver.fail_next(1)
    delivery = failed_with_its_retry_lost(delivery)
    attempted_at = datetime.datetime.fromisoformat(delivery.log[0]["at"])
    assert delivery.next_attempt_at == attempted_at + datetime.timedelta(seconds=60)
    jobs_before = len(delivery_jobs())

    # when the sweep runs before the next attempt is due: nothing
    assert sweep_webhooks() == 0
    assert notifications.webhook_sweep(now=delivery.next_attempt_at - datetime.timedelta(seconds=1)) == []
    assert len(delivery_jobs()) == jobs_before

    # when it runs once due: it asks for the second attempt, once
    assert notifications.webhook_sweep(now=delivery.next_attempt_at) == [delivery.pk]
    assert notifications.webhook_sweep(now=delivery.next_attempt_at) == []
    assert delivery_jobs()[jobs_before:] == [{"delivery_id": delivery.pk, "after_attempts": 1}]

    # and the worker delivers it
    assert run_new_delivery_jobs(jobs_before) == [True]
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert (delivery.attempts, delivery.next_attempt_at, delivery.abandoned_at) == (2, None, None)
    assert [request.headers["X-GSTP-Delivery"] for request in receiver.requests] == [delivery.event_id] * 2

    # the lost retry turning up late, or another sweep, sends nothing more
    assert deliver_webhook.apply(kwargs={"delivery_id": delivery.pk, "after_attempts": 1}).result is True
    assert notifications.webhook_sweep(now=timezone.now() + datetime.timedelta(days=1)) == []
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_an_attempt_asked_for_twice_is_made_once(receiver, report, quick_retries):
    # given a delivery that failed once, swept once due, and whose attempt failed again
    delivery = delivery_for(subscribe(receiver.url()), report)
    receiver.fail_next(2)
    delivery = failed_with_its_retry_lost(delivery)
    notifications.webhook_sweep(now=delivery.next_attempt_at)
    with pytest.raises(WebhookFailed):
        notifications.webhook_deliver(delivery_id=delivery.pk, after_attempts=1)

    # when the retry job of the first attempt turns up late, asking for the same second attempt
    assert notifications.webhook_deliver(delivery_id=delivery.pk, after_attempts=1) is False

    # then it made no attempt: the third is for the backoff to bring
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2
    assert delivery.next_attempt_at == datetime.datetime.fromisoformat(delivery.log[1]["at"]) + datetime.timedelta(
        seconds=120
    )


@pytest.mark.django_db
def test_a_wait_longer_than_a_job_may_wait_in_the_broker_is_left_to_the_sweep(receiver, report, settings):
    # given waits longer than the broker's visibility timeout lets a job wait in a worker
    settings.GSTP_WEBHOOK_RETRY_FIRST_SECONDS = settings.GSTP_LONGEST_COUNTDOWN_SECONDS + 1
    delivery = delivery_for(subscribe(receiver.url()), report)
    receiver.fail_next(1)
    jobs_before = len(delivery_jobs())

    # when the first attempt fails, run eagerly with its retry raised here if it asked for one
    with always_eager(propagates=True):
        assert deliver_webhook.delay(delivery.pk).get() is False

    # then it asked for no retry job: its next attempt is the sweep's, once due
    delivery.refresh_from_db()
    attempted_at = datetime.datetime.fromisoformat(delivery.log[0]["at"])
    assert delivery.next_attempt_at == attempted_at + datetime.timedelta(
        seconds=settings.GSTP_LONGEST_COUNTDOWN_SECONDS + 1
    )
    assert notifications.webhook_sweep(now=delivery.next_attempt_at - datetime.timedelta(seconds=1)) == []
    assert len(delivery_jobs()) == jobs_before
    assert notifications.webhook_sweep(now=delivery.next_attempt_at) == [delivery.pk]
    assert run_new_delivery_jobs(jobs_before) == [True]
    delivery.refresh_from_db()
    assert (delivery.attempts, len(receiver.requests)) == (2, 2)
    assert delivery.delivered_at is not None


@pytest.mark.django_db
def test_a_claimed_attempt_that_is_lost_too_is_asked_for_again_after_the_claim(report, quick_retries):
    delivery = delivery_for(subscribe("http://127.0.0.1:9/hooks"), report)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1, next_attempt_at=timezone.now())
    now = timezone.now()

    assert notifications.webhook_sweep(now=now) == [delivery.pk]
    assert (
        notifications.webhook_sweep(now=now + notifications.WEBHOOK_SWEEP_CLAIM - datetime.timedelta(seconds=1)) == []
    )
    assert notifications.webhook_sweep(now=now + notifications.WEBHOOK_SWEEP_CLAIM) == [delivery.pk]


@pytest.mark.django_db
def test_the_last_failed_attempt_abandons_the_delivery(receiver, report, quick_retries):
    delivery = delivery_for(subscribe(receiver.url()), report)
    receiver.fail_next(3)

    for attempts in range(2):
        with pytest.raises(WebhookFailed) as failure:
            notifications.webhook_deliver(delivery_id=delivery.pk, after_attempts=attempts)
        assert failure.value.retry_at is not None
    with pytest.raises(WebhookFailed) as failure:
        notifications.webhook_deliver(delivery_id=delivery.pk, after_attempts=2)

    assert failure.value.retry_at is None
    delivery.refresh_from_db()
    assert delivery.abandoned_at is not None
    assert (delivery.attempts, delivery.next_attempt_at, delivery.last_error) == (3, None, "HTTP 500")
    # the sweep leaves it, and so does a job for it
    assert notifications.webhook_sweep(now=timezone.now() + datetime.timedelta(days=1)) == []
    assert notifications.webhook_deliver(delivery_id=delivery.pk) is False
    assert len(receiver.requests) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_ask_for_each_due_attempt_once_and_it_is_sent_once(receiver, report, quick_retries):
    # given twenty deliveries whose second attempt is due
    subscriptions = [subscribe(receiver.url(f"/hooks/{n}"), name=f"portal-{n}") for n in range(20)]
    ids = notifications.webhook_fan_out(event="report.accepted", ids=[report.pk])
    assert len(ids) == len(subscriptions)
    now = timezone.now()
    WebhookDelivery.objects.update(attempts=1, next_attempt_at=now)
    jobs_before = len(delivery_jobs())

    # when two sweeps run at the same moment
    first, second = run_together(
        lambda: notifications.webhook_sweep(now=now), lambda: notifications.webhook_sweep(now=now)
    )

    # then each delivery was asked for once, by one of them
    assert sorted(first + second) == sorted(ids)
    jobs = delivery_jobs()[jobs_before:]
    assert sorted(job["delivery_id"] for job in jobs) == sorted(ids)

    # and the attempt, asked for by the sweep and by a retry job at once, is made once
    delivery_id = ids[0]
    results = run_together(
        lambda: notifications.webhook_deliver(delivery_id=delivery_id, after_attempts=1),
        lambda: notifications.webhook_deliver(delivery_id=delivery_id, after_attempts=1),
    )
    assert results == [True, True]  # delivered, by one of them
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).attempts == 2


# --- the admin ---------------------------------------------------------------------------------------------------


@pytest.fixture
def abandoned(receiver, report, quick_retries):
    delivery = delivery_for(subscribe(receiver.url()), report)
    receiver.fail_next(3)
    for attempts in range(3):
        with pytest.raises(WebhookFailed):
            notifications.webhook_deliver(delivery_id=delivery.pk, after_attempts=attempts)
    delivery.refresh_from_db()
    assert delivery.abandoned_at is not None
    return delivery


def staff(role, username, **fields):
    user = UserFactory(username=username, role=role, is_staff=True, **fields)
    user.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    return user


@pytest.mark.django_db
def test_an_abandoned_delivery_is_listed_and_sent_again_from_the_admin(client, receiver, report, abandoned):
    delivered = delivery_for(subscribe(receiver.url(), name="delivered"), report)
    notifications.webhook_deliver(delivery_id=delivered.pk)
    client.force_login(staff(Role.SECRETARIAT, "secretariat-staff"))

    # the abandoned filter lists it alone
    listed = client.get(CHANGELIST, {"state": "abandoned"})
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [abandoned]
    assert "send_again" in dict(listed.context["action_form"].fields["action"].choices)

    # "send again" on both: the abandoned one is asked for afresh, the delivered one left alone
    jobs_before = len(delivery_jobs())
    response = client.post(
        CHANGELIST, {"action": "send_again", "_selected_action": [abandoned.pk, delivered.pk]}, follow=True
    )
    assert response.status_code == 200
    assert delivery_jobs()[jobs_before:] == [{"delivery_id": abandoned.pk, "after_attempts": 0}]
    abandoned.refresh_from_db()
    assert (abandoned.attempts, abandoned.abandoned_at) == (0, None)
    assert abandoned.log[-1]["resent_by"] == response.wsgi_request.user.pk

    # and the worker delivers it
    requests_before = len(receiver.requests)
    assert run_new_delivery_jobs(jobs_before) == [True]
    abandoned.refresh_from_db()
    assert abandoned.delivered_at is not None
    assert len(receiver.requests) == requests_before + 1
    assert list(client.get(CHANGELIST, {"state": "abandoned"}).context["cl"].result_list) == []


@pytest.mark.django_db
def test_only_the_secretariat_sends_again(client, abandoned):
    lead = staff(Role.LEAD, "lead-staff", agency=AgencyFactory())
    client.force_login(lead)

    assert client.get(CHANGELIST, {"state": "abandoned"}).status_code == 302  # the admin is not the lead's
    with pytest.raises(PermissionDenied):
        notifications.webhook_delivery_resend(delivery=abandoned, actor=lead)
    abandoned.refresh_from_db()
    assert abandoned.abandoned_at is not None
    assert abandoned.attempts == 3
