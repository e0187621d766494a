"""Redis stopped, or hung, while reports are filed and accepted through the API: every request answers within
2 s, and once Redis is back a real Celery worker runs every job the reports asked for, once.

The broker is a ``redis-server`` of the test's own, with a worker on it from the start. The fault is injected
before the API files, submits and accepts three reports (two of them 12 points behind plan):

* stopped: the server shuts down and connections are refused; it comes back empty, on the same port;
* hung: the server is frozen (SIGSTOP): it accepts connections and never answers; then it is thawed.

The jobs wait in the outbox meanwhile. Once Redis is back the test relays the outbox, as beat does, until the
work has settled, and counts its effects: one red flag per lagging sub-project, one email per red flag (written
by the worker's file-based email backend), one webhook delivery per accepted report and per raised flag, each
POSTed to the receiver once. ``tests/reviews/test_broker_faults.py`` covers the relay itself against a broker
that refuses or never answers; this is the whole path, with a worker, end to end.
"""

import datetime
import time
from collections import Counter

import pytest

from accounts.models import User
from reviews.models import (
    EmailLog,
    LagFlag,
    LagRule,
    OutboxMessage,
    ReportStatus,
    Severity,
    WebhookDelivery,
    WebhookEvent,
)
from reviews.tasks import deliver_webhook, fan_out_webhook
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import WebhookSubscriptionFactory, file_report_through_api, report_in_status
from tests.support.broker import use_broker
from tests.support.processes import RedisServer, free_port
from tests.support.workers import keep_relaying, relay_until, relay_with_deadline, sent_emails, task_runs

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST_BUDGET_SECONDS = 2.0
# Once the work is done, this long with the relay still running shows that nothing more happens.
SETTLE_SECONDS = 1.0
FIGURES = {
    "period": "2024Q1",
    "planned_progress": "60",
    "budget_spent": "4600000",
    "achievements": "完成平臺上線。",
}
BEHIND = {"actual_progress": "48", "delay_reasons": "採購延宕，已調整履約期程。"}  # 12 points behind: red
ON_PLAN = {"actual_progress": "60"}


@pytest.fixture
def subprojects(agency):
    """Three sub-projects of 2024Q1 only, led by ``agency``: their 2024Q1 report is the only one ever due."""
    _, _, _, nodes = make_tree(PlanFactory(), lead_agency=agency, subprojects=3)
    for node in nodes:
        node.start_date, node.end_date = datetime.date(2024, 1, 1), datetime.date(2024, 3, 31)
        node.save()
    return nodes


@pytest.fixture
def people(lead_client, secretariat_client):
    """The lead of ``agency`` and the secretariat, each with an email address for the red-flag emails."""
    User.objects.filter(pk=secretariat_client.user.pk).update(email="secretariat@example.org")
    User.objects.filter(pk=lead_client.user.pk).update(email="lead@example.org")
    return lead_client, secretariat_client


@pytest.fixture
def subscription(receiver):
    return WebhookSubscriptionFactory(
        name="open-data portal",
        url=receiver.url(),
        secret="whsec-portal",
        events=[WebhookEvent.REPORT_ACCEPTED, WebhookEvent.FLAG_RAISED],
    )


def pending_tasks() -> Counter:
    return Counter(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("task", flat=True))


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("fault", ["stopped", "hung"])
def test_reports_filed_while_redis_is_unavailable_are_worked_once_when_it_is_back(
    fault, request, tmp_path, broker, workers, receiver, mail_dir, people, subprojects, subscription, record_figures
):
    lead_client, secretariat_client = people
    behind, also_behind, on_plan = subprojects
    worker = workers.start(broker.url)

    # given Redis stopped, or frozen, with a worker that was taking jobs from it
    if fault == "stopped":
        broker.stop()
    else:
        broker.pause()

    # when three reports are filed, submitted and accepted through the API
    steps = []
    for node, figures in ((behind, BEHIND), (also_behind, BEHIND), (on_plan, ON_PLAN)):
        filed = file_report_through_api(
            lead_client,
            node,
            status=ReportStatus.ACCEPTED,
            secretariat_client=secretariat_client,
            **FIGURES,
            **figures,
        )
        steps += filed.timings

    # then every request answered as usual, within the budget: none of them waits on the broker
    slowest = max(seconds for _, _, seconds in steps)
    print(f"Redis {fault}: {len(steps)} requests, slowest {slowest:.3f}s")
    assert slowest < REQUEST_BUDGET_SECONDS, steps
    # and the relay, run as beat runs it, gives up and keeps every job in the outbox
    (published, pending), seconds = relay_with_deadline(unblock=broker.resume if fault == "hung" else None)
    print(f"Redis {fault}: the relay gave up after {seconds:.2f}s with {pending} jobs waiting")
    assert (published, pending) == (0, 9)
    assert pending_tasks() == {"reviews.scan_lagging": 3, "reviews.notify_report_step": 3, "reviews.fan_out_webhook": 3}

    # when Redis is back: started again (empty) on its port, or thawed
    if fault == "stopped":
        restarted = RedisServer(port=broker.port, log_path=tmp_path / "redis-again.log")
        request.addfinalizer(restarted.stop)
    else:
        broker.resume()
    back = time.monotonic()

    # then the worker, fed by the relay, raises the flags, sends their emails and delivers every webhook
    def work_done():
        return (
            EmailLog.objects.count() >= 5
            and WebhookDelivery.objects.filter(delivered_at__isnull=False).count() >= 5
            and len(receiver.requests) >= 5
            and not pending_tasks()
        )

    relay_until(work_done, what="every job of the three reports done", workers=[worker])
    print(f"Redis {fault}: all work done {time.monotonic() - back:.1f}s after Redis was back")
    keep_relaying(SETTLE_SECONDS)

    flags = list(LagFlag.objects.values_list("node_id", "rule", "year", "quarter", "severity"))
    emails, deliveries = sent_emails(mail_dir), list(WebhookDelivery.objects.all())
    # two red flags' emails, and one to the lead of each accepted report
    red = [message for message in emails if "紅燈" in message["Subject"]]
    told = [message for message in emails if "紅燈" not in message["Subject"]]
    posted = Counter(received.headers["X-GSTP-Delivery"] for received in receiver.requests)
    record_figures(
        cases=len(steps),
        errors=sum(1 for _, _, seconds in steps if seconds >= REQUEST_BUDGET_SECONDS),
        server_errors=0,  # file_report_through_api asserts each answer's 2xx
        lost=max(0, 2 - len(flags))
        + max(0, 2 - len(red))
        + max(0, 3 - len(told))
        + max(0, 5 - len(deliveries))
        + sum(1 for delivery in deliveries if not delivery.delivered_at),
        duplicated=max(0, len(flags) - 2)
        + max(0, len(red) - 2)
        + max(0, len(told) - 3)
        + max(0, len(deliveries) - 5)
        + sum(count - 1 for count in posted.values()),
    )

    # and each of it happened once: two red flags, one email each, one delivery per event, each POSTed once
    assert sorted(flags) == sorted(
        (node.pk, LagRule.PROGRESS_GAP, 2024, 1, Severity.RED) for node in (behind, also_behind)
    )
    red_flags = LagFlag.objects.filter(severity=Severity.RED)
    red_keys = EmailLog.objects.filter(key__startswith="red-flag:").values_list("key", flat=True)
    assert sorted(key.split(":")[1] for key in red_keys) == sorted(str(flag.pk) for flag in red_flags)
    assert len(red) == 2, [message["Subject"] for message in emails]
    assert all(message["To"] == "lead@example.org, secretariat@example.org" for message in red)
    assert len(told) == 3 and all(message["To"] == "lead@example.org" for message in told), told
    deliveries = WebhookDelivery.objects.all()
    assert Counter(delivery.event for delivery in deliveries) == {"report.accepted": 3, "flag.raised": 2}
    assert all(delivery.delivered_at and delivery.attempts == 1 for delivery in deliveries)
    posted = Counter(received.headers["X-GSTP-Delivery"] for received in receiver.requests)
    assert posted == Counter(delivery.event_id for delivery in deliveries)
    # and every job ran once: none was lost while Redis was away, none was published twice
    assert not pending_tasks()
    runs = {
        message.pk: task_runs([worker], message.task, f"outbox-{message.pk}") for message in OutboxMessage.objects.all()
    }
    assert set(runs.values()) == {1}, runs


def test_a_fan_out_run_while_the_broker_is_down_keeps_the_deliveries_it_creates(settings, receiver):
    """A worker that creates webhook deliveries must not depend on the broker to remember them: if it asked
    the broker directly, a broker down at that moment (or a worker killed right then) would leave deliveries
    that nothing ever sends, since running the fan-out again finds them made already."""
    # given a subscription, and an accepted report whose fan-out job waits in the outbox
    WebhookSubscriptionFactory(
        name="portal", url=receiver.url(), secret="whsec-portal", events=[WebhookEvent.REPORT_ACCEPTED]
    )
    node = make_tree(lead_agency=AgencyFactory())[3][0]
    report = report_in_status(node=node, status=ReportStatus.ACCEPTED)
    fan_out = OutboxMessage.objects.get(task="reviews.fan_out_webhook")

    # when a worker runs the fan-out while the broker is down, and runs it again (a redelivered message)
    with use_broker(f"redis://127.0.0.1:{free_port()}/0", django_settings=settings):
        started = time.perf_counter()
        assert fan_out_webhook(**fan_out.kwargs) == 1
        assert fan_out_webhook(**fan_out.kwargs) == 0
        seconds = time.perf_counter() - started

    # then there is one delivery, and the job that sends it waits in the outbox, written with it
    assert seconds < REQUEST_BUDGET_SECONDS
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["report"]["id"] == report.pk
    (send,) = OutboxMessage.objects.filter(task="reviews.deliver_webhook")
    assert (send.kwargs, send.sent_at) == ({"delivery_id": delivery.pk}, None)

    # and once that job runs, the receiver gets the delivery
    assert deliver_webhook.apply(kwargs=send.kwargs).get() is True
    (received,) = receiver.requests
    assert received.headers["X-GSTP-Delivery"] == delivery.event_id
