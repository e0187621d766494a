"""A job scheduled further ahead than the broker's visibility timeout is handed out again while a worker still
holds it (Redis cannot tell a job waiting for its time from one whose worker was lost): it runs twice, and the
email is still sent once, the webhook still POSTed once.

Production schedules nothing that far ahead (``GSTP_LONGEST_COUNTDOWN_SECONDS``, two thirds of
``GSTP_BROKER_VISIBILITY_TIMEOUT``): mail retries back off up to it, a webhook's longer waits are the sweep's. This
is what holds if a job waits longer all the same (a busy worker, a retry published before a change of the
setting): each job checks its state (``send_once``'s log row, the delivery's attempt count) under a row lock.
"""

import time

import pytest
from kombu import Connection

from accounts.models import Role
from gstp.celery import app
from reviews.models import EmailLog, EmailStatus, LagFlag, Severity, WebhookDelivery, WebhookEvent
from reviews.services import lag_scan, notifications
from tests.accounts.factories import UserFactory
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews import lagging
from tests.reviews.factories import WebhookSubscriptionFactory
from tests.support.processes import wait_until
from tests.support.workers import sent_emails

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

VISIBILITY_TIMEOUT = 1  # seconds
AHEAD = 4  # seconds: the jobs' countdown, past the visibility timeout


@pytest.fixture
def red_flag(receiver):
    UserFactory(username="secretariat-mail", role=Role.SECRETARIAT, email="secretariat@example.org")
    WebhookSubscriptionFactory(name="portal", url=receiver.url(), events=[WebhookEvent.FLAG_RAISED])
    _, _, _, (node,) = make_tree(PlanFactory(), lead_agency=AgencyFactory())
    lagging.KINDS["underspent"](node)
    lag_scan(as_of=lagging.AS_OF)  # its jobs stay in the outbox: this test publishes its own
    return LagFlag.objects.get(node=node, severity=Severity.RED)


def restore_unacknowledged(broker_url: str) -> None:
    """What every worker does when it starts and about every 100 s after (kombu's Redis transport): put back in the
    queue the jobs some worker took longer than the visibility timeout ago and has not acknowledged."""
    with Connection(broker_url, transport_options={"visibility_timeout": VISIBILITY_TIMEOUT}) as connection:
        connection.default_channel.qos.restore_visible(num=100)


def test_jobs_held_past_the_visibility_timeout_run_twice_and_send_once(red_flag, broker, workers, receiver, mail_dir):
    (delivery_id,) = notifications.webhook_fan_out(event=WebhookEvent.FLAG_RAISED, ids=[red_flag.pk])
    started = [workers.start(broker.url, visibility_timeout=VISIBILITY_TIMEOUT) for _ in range(2)]

    # given an email job and a webhook job due in 4 s, held by the workers longer than the visibility timeout
    jobs = {
        "reviews.notify_red_flags": app.send_task(
            "reviews.notify_red_flags", kwargs={"flag_ids": [red_flag.pk]}, countdown=AHEAD
        ).id,
        "reviews.deliver_webhook": app.send_task(
            "reviews.deliver_webhook", kwargs={"delivery_id": delivery_id, "after_attempts": 0}, countdown=AHEAD
        ).id,
    }

    def logged(task, what):
        return sum(worker.count(f"Task {task}[{jobs[task]}] {what}") for worker in started)

    wait_until(lambda: all(logged(task, "received") for task in jobs), timeout=30, what="the workers holding both jobs")
    time.sleep(VISIBILITY_TIMEOUT + 0.5)

    # when the broker hands them out again, as if their worker were lost
    restore_unacknowledged(broker.url)

    # then each job is taken again and run twice when due
    try:
        wait_until(lambda: all(logged(task, "succeeded") == 2 for task in jobs), timeout=30, what="each job run twice")
    except TimeoutError as exc:
        logs = "\n---\n".join(worker.log_tail(40) for worker in started)
        raise AssertionError(f"{exc}\n{logs}") from None
    assert all(logged(task, "received") == 2 for task in jobs)
    # and the email went out once, the webhook was POSTed once
    assert len(sent_emails(mail_dir)) == 1
    (log,) = EmailLog.objects.all()
    assert (log.status, log.attempts) == (EmailStatus.SENT, 1)
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 1 and delivery.delivered_at is not None
