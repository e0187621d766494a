"""Webhooks: one delivery per subscription and event, POSTed signed, retried until the receiver takes it.

A real HTTP server in a thread on 127.0.0.1 (``tests.support.servers.WebhookReceiver``) receives the POSTs,
checks nothing itself but records them; the tests verify the signature with the subscription's secret, as a
receiver would. Proxy variables are cleared so urllib talks to it directly.
"""

import datetime
import hashlib
import hmac
import json
import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django.conf import settings

from accounts.models import Role
from reviews import services
from reviews.models import OutboxMessage, ReportStatus, WebhookDelivery, WebhookEvent
from reviews.periods import Quarter
from reviews.services import notifications
from reviews.services.notifications import WebhookFailed
from reviews.tasks import deliver_webhook, fan_out_webhook
from tests.accounts.factories import UserFactory, secretariat_user
from tests.projects.factories import AgencyFactory, make_tree
from tests.reviews.factories import (
    LagSettingsFactory,
    QuarterlyReportFactory,
    WebhookSubscriptionFactory,
    lead_user_for,
    report_in_status,
)
from tests.support.processes import free_port
from tests.support.servers import HungServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_proxy")]

SECRET = "whsec-3f1c0d"


@pytest.fixture
def report(db):
    return QuarterlyReportFactory(accepted=True)


def subscribe(url, *, events=(WebhookEvent.REPORT_ACCEPTED,), name="portal", is_active=True, secret=SECRET):
    return WebhookSubscriptionFactory(name=name, url=url, secret=secret, events=list(events), is_active=is_active)


def verify(request, secret=SECRET) -> bool:
    """What a receiver does: HMAC-SHA256 over ``<timestamp>.<body>`` with the shared secret."""
    timestamp = request.headers["X-GSTP-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-GSTP-Signature"], f"sha256={expected}")


def delivery_for(subscription, report):
    (delivery_id,) = notifications.webhook_fan_out(event=WebhookEvent.REPORT_ACCEPTED, ids=[report.pk])
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.subscription == subscription
    return delivery


# --- fan-out -------------------------------------------------------------------------------------------------


def test_fan_out_makes_one_delivery_per_active_subscription_to_the_event(report):
    wanted = subscribe("http://127.0.0.1:9/a", name="a")
    both = subscribe("http://127.0.0.1:9/b", name="b", events=[WebhookEvent.FLAG_RAISED, WebhookEvent.REPORT_ACCEPTED])
    subscribe("http://127.0.0.1:9/c", name="c", events=[WebhookEvent.FLAG_RAISED])
    subscribe("http://127.0.0.1:9/d", name="d", is_active=False)

    created = notifications.webhook_fan_out(event=WebhookEvent.REPORT_ACCEPTED, ids=[report.pk])

    deliveries = WebhookDelivery.objects.filter(pk__in=created)
    assert len(created) == 2
    assert {delivery.subscription for delivery in deliveries} == {wanted, both}
    event_ids = {delivery.event_id for delivery in deliveries}
    (event_id,) = event_ids  # the same event for every subscriber
    assert re.fullmatch(rf"report\.accepted:{report.pk}:[0-9a-f]{{12}}", event_id)
    for delivery in deliveries:
        assert delivery.event == WebhookEvent.REPORT_ACCEPTED
        assert delivery.payload == {
            "event": "report.accepted",
            "id": event_id,
            "report": {
                "id": report.pk,
                "project": report.node_id,
                "period": "2024Q1",
                "kind": "quarterly",
                "status": "accepted",
                "version": report.version,
            },
        }
        assert (delivery.attempts, delivery.delivered_at, delivery.log) == (0, None, [])


def test_fan_out_twice_creates_nothing_more(report):
    subscribe("http://127.0.0.1:9/a")

    first = notifications.webhook_fan_out(event=WebhookEvent.REPORT_ACCEPTED, ids=[report.pk])
    second = notifications.webhook_fan_out(event=WebhookEvent.REPORT_ACCEPTED, ids=[report.pk])

    assert (len(first), second) == (1, [])
    assert WebhookDelivery.objects.count() == 1


def test_fan_out_skips_objects_that_are_gone(report):
    subscribe("http://127.0.0.1:9/a")

    created = notifications.webhook_fan_out(event=WebhookEvent.REPORT_ACCEPTED, ids=[report.pk + 1000, report.pk])

    assert len(created) == 1
    assert WebhookDelivery.objects.get().payload["report"]["id"] == report.pk


# --- delivery --------------------------------------------------------------------------------------------------


def test_a_delivery_is_posted_as_signed_json(receiver, report):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)

    assert notifications.webhook_deliver(delivery_id=delivery.pk) is True

    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/gstp")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-GSTP-Event"] == "report.accepted"
    assert request.headers["X-GSTP-Delivery"] == delivery.event_id
    assert re.fullmatch(r"\d{10}", request.headers["X-GSTP-Timestamp"])
    assert request.headers["X-GSTP-Signature"].startswith("sha256=")
    assert verify(request)
    assert not verify(request, secret="another-secret")
    assert json.loads(request.body) == delivery.payload
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (1, 200, "")
    assert [(entry["status"], entry["error"]) for entry in delivery.log] == [(200, "")]


def test_a_failed_delivery_is_logged_and_a_later_attempt_delivers_it(receiver, report):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    receiver.fail_next(2)

    for _ in range(2):
        with pytest.raises(WebhookFailed, match="HTTP 500"):
            notifications.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status, delivery.last_error, delivery.delivered_at) == (
        2,
        500,
        "HTTP 500",
        None,
    )
    assert [(entry["status"], entry["error"]) for entry in delivery.log] == [(500, "HTTP 500"), (500, "HTTP 500")]

    assert notifications.webhook_deliver(delivery_id=delivery.pk) is True

    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert [entry["status"] for entry in delivery.log] == [500, 500, 200]
    # every attempt carried the same delivery id and body, each signed afresh
    requests = receiver.requests
    assert len(requests) == 3
    assert {request.headers["X-GSTP-Delivery"] for request in requests} == {delivery.event_id}
    assert {request.body for request in requests} == {requests[0].body}
    assert all(verify(request) for request in requests)


def test_a_delivered_delivery_is_not_sent_again(receiver, report):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    notifications.webhook_deliver(delivery_id=delivery.pk)

    again = notifications.webhook_deliver(delivery_id=delivery.pk)

    assert again is True
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_an_unreachable_receiver_is_logged_and_raises_only_webhook_failed(report):
    closed_port = free_port()
    subscription = subscribe(f"http://127.0.0.1:{closed_port}/hooks")
    delivery = delivery_for(subscription, report)

    with pytest.raises(WebhookFailed) as failure:
        notifications.webhook_deliver(delivery_id=delivery.pk)

    assert "URLError" in str(failure.value)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status, delivery.delivered_at) == (1, None, None)
    assert delivery.last_error.startswith("URLError: ")
    assert "refused" in delivery.last_error.lower()
    assert [entry["status"] for entry in delivery.log] == [None]


def test_a_receiver_that_never_answers_times_out_as_a_failed_attempt(report, monkeypatch, request):
    hung = HungServer()
    request.addfinalizer(hung.close)
    monkeypatch.setattr(notifications, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    subscription = subscribe(f"http://127.0.0.1:{hung.port}/hooks")
    delivery = delivery_for(subscription, report)

    with pytest.raises(WebhookFailed, match="timed out"):
        notifications.webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status, delivery.delivered_at) == (1, None, None)
    assert hung.connections == 1


def test_a_reply_that_is_not_http_is_a_failed_attempt(receiver, report):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    receiver.reply_raw(b"SSH-2.0-OpenSSH_9.2\r\n")

    with pytest.raises(WebhookFailed):
        notifications.webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.delivered_at) == (1, None)
    assert len(delivery.log) == 1


def test_a_redirect_is_not_taken_as_delivered(receiver, report):
    subscription = subscribe(receiver.url("/old-hook"))
    delivery = delivery_for(subscription, report)
    receiver.redirect("/new-hook")

    try:
        notifications.webhook_deliver(delivery_id=delivery.pk)
    except WebhookFailed:
        pass

    delivery.refresh_from_db()
    posted = [request for request in receiver.requests if request.method == "POST" and request.body]
    assert delivery.delivered_at is None or any(request.path == "/new-hook" for request in posted)


# --- the Celery task ---------------------------------------------------------------------------------------------


def test_the_delivery_task_retries_webhook_failures_with_exponential_backoff():
    assert deliver_webhook.name == "reviews.deliver_webhook"
    assert deliver_webhook.acks_late is True
    # the wait after n failed attempts: 2 s, doubling, capped at an hour; abandoned after the 11th
    waits = [notifications.webhook_retry_delay(attempts).total_seconds() for attempts in range(1, 14)]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
    assert settings.GSTP_WEBHOOK_ATTEMPTS == 11


@pytest.fixture
def recorded_retries(monkeypatch):
    """The eta and arguments of every retry the task asks for (the retries still run: eagerly, at once)."""
    retries = []
    original = deliver_webhook.retry

    def retry(*args, **kwargs):
        retries.append((kwargs.get("eta"), kwargs.get("kwargs")))
        return original(*args, **kwargs)

    monkeypatch.setattr(deliver_webhook, "retry", retry)
    return retries


def waits_before(retries, delivery) -> list[float]:
    """How long after each failed attempt (its log entry) the task asked for the next one."""
    attempted = [datetime.datetime.fromisoformat(entry["at"]) for entry in delivery.log]
    return [(eta - at).total_seconds() for (eta, _), at in zip(retries, attempted, strict=False)]


def test_the_task_retries_until_the_receiver_takes_it(receiver, report, recorded_retries):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    receiver.fail_next(3)

    result = deliver_webhook.apply(args=[delivery.pk])

    assert result.successful()
    assert result.get() is True
    assert len(receiver.requests) == 4
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    assert [entry["status"] for entry in delivery.log] == [500, 500, 500, 200]
    assert waits_before(recorded_retries, delivery) == [2, 4, 8]
    # each retry asks for the attempt after the ones made, so a sweep asking for the same one makes nothing
    assert [kwargs for _, kwargs in recorded_retries] == [
        {"delivery_id": delivery.pk, "after_attempts": attempts} for attempts in (1, 2, 3)
    ]


@pytest.fixture
def every_wait_a_retry_job(settings):
    """Each wait of the backoff (up to an hour) a retry job of the task's, not the sweep's part (test_webhook_sweep)."""
    settings.GSTP_LONGEST_COUNTDOWN_SECONDS = settings.GSTP_WEBHOOK_RETRY_LONGEST_SECONDS


@pytest.mark.usefixtures("every_wait_a_retry_job")
def test_the_task_gives_up_after_its_retries(receiver, report, recorded_retries):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    receiver.fail_next(100)

    result = deliver_webhook.apply(args=[delivery.pk])

    assert result.failed()
    assert isinstance(result.result, WebhookFailed)
    assert result.result.retry_at is None
    assert len(recorded_retries) == settings.GSTP_WEBHOOK_ATTEMPTS - 1
    assert len(receiver.requests) == settings.GSTP_WEBHOOK_ATTEMPTS
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.delivered_at, delivery.next_attempt_at) == (11, None, None)
    assert delivery.abandoned_at is not None
    assert delivery.last_error == "HTTP 500"


@contextmanager
def always_eager(*, propagates):
    from gstp.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, propagates
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def test_run_eagerly_the_task_retries_at_once(receiver, report):
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    receiver.fail_next(1)

    with always_eager(propagates=False):
        result = deliver_webhook.delay(delivery.pk)

    assert result.get() is True
    assert len(receiver.requests) == 2


def test_run_eagerly_with_propagation_a_failure_surfaces_as_a_retry_two_seconds_later(receiver, report):
    # Celery's eager mode re-raises the Retry when it propagates, instead of running the retry
    subscription = subscribe(receiver.url())
    delivery = delivery_for(subscription, report)
    receiver.fail_next(1)

    with always_eager(propagates=True), pytest.raises(Retry) as retry:
        deliver_webhook.delay(delivery.pk)

    delivery.refresh_from_db()
    assert retry.value.when == delivery.next_attempt_at
    assert (delivery.next_attempt_at - datetime.datetime.fromisoformat(delivery.log[0]["at"])).total_seconds() == 2
    assert isinstance(retry.value.exc, WebhookFailed)
    assert len(receiver.requests) == 1


# --- end to end -------------------------------------------------------------------------------------------------


def test_accepting_a_report_reaches_the_receiver(receiver):
    # given a subscription to accepted reports
    subscription = subscribe(receiver.url())
    node = make_tree(lead_agency=AgencyFactory())[3][0]

    # when a report is accepted
    report = report_in_status(node=node, status=ReportStatus.ACCEPTED)

    # then the acceptance wrote the fan-out job in the outbox
    message = OutboxMessage.objects.get(task="reviews.fan_out_webhook")
    assert message.kwargs == {"event": "report.accepted", "ids": [report.pk], "versions": [report.version]}
    assert message.sent_at is None

    # when the worker runs it: one delivery, written with the outbox job that sends it
    created = fan_out_webhook(**message.kwargs)
    assert created == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.subscription == subscription
    send = OutboxMessage.objects.get(task="reviews.deliver_webhook")
    assert (send.kwargs, send.sent_at) == ({"delivery_id": delivery.pk}, None)

    # and delivering it reaches the receiver with the report
    assert notifications.webhook_deliver(delivery_id=delivery.pk) is True
    (request,) = receiver.requests
    assert verify(request)
    body = json.loads(request.body)
    assert body["event"] == "report.accepted"
    assert body["report"] == {
        "id": report.pk,
        "project": node.pk,
        "period": "2024Q1",
        "kind": "quarterly",
        "status": "accepted",
        "version": report.version,
    }


def test_without_a_subscription_accepting_writes_no_fan_out_job(db):
    subscribe("http://127.0.0.1:9/hooks", events=[WebhookEvent.FLAG_RAISED])
    node = make_tree(lead_agency=AgencyFactory())[3][0]

    report_in_status(node=node, status=ReportStatus.ACCEPTED)

    assert sorted(OutboxMessage.objects.values_list("task", flat=True)) == [
        "reviews.notify_report_step",  # the lead's email of the acceptance
        "reviews.scan_lagging",
    ]


# --- the review chain ---------------------------------------------------------------------------------------------

REVIEW_EVENTS = [
    WebhookEvent.REPORT_ENDORSED,
    WebhookEvent.REPORT_RETURNED,
    WebhookEvent.REPORT_ACCEPTED,
    WebhookEvent.REPORT_REOPENED,
]


@pytest.fixture
def chain(db):
    """A sub-project in a plan whose ministry (數位發展部) endorses its reports first, with that ministry's
    reviewer, the sub-project's lead and the secretariat."""
    ministry = AgencyFactory(name="數位發展部")
    node = make_tree(lead_agency=ministry)[3][0]
    LagSettingsFactory(plan=node.plan, endorsement_required=True)
    return SimpleNamespace(
        node=node,
        lead=lead_user_for(node),
        reviewer=UserFactory(username="moda-reviewer", role=Role.REVIEWER, agency=ministry),
        secretariat=secretariat_user(),
    )


def fan_out_all() -> list[WebhookDelivery]:
    """Run every fan-out job in the outbox, oldest first, as a worker would; every delivery there is."""
    for message in OutboxMessage.objects.filter(task="reviews.fan_out_webhook").order_by("pk"):
        fan_out_webhook(**message.kwargs)
    return list(WebhookDelivery.objects.order_by("pk"))


def returned_by_the_reviewer(chain, report, reason="請補附佐證資料"):
    return services.report_return(actor=chain.reviewer, report=report, expected_version=report.version, reason=reason)


def test_each_step_of_the_review_chain_reaches_the_receiver(receiver, chain):
    subscribe(receiver.url(), events=REVIEW_EVENTS)

    # when the ministry endorses the report, the secretariat accepts it, then reopens it
    report = report_in_status(node=chain.node, status=ReportStatus.SUBMITTED)
    report = services.report_endorse(actor=chain.reviewer, report=report, expected_version=report.version)
    report = services.report_accept(actor=chain.secretariat, report=report, expected_version=report.version)
    services.report_reopen(actor=chain.secretariat, report=report, expected_version=report.version, reason="有誤")
    for delivery in fan_out_all():
        assert notifications.webhook_deliver(delivery_id=delivery.pk) is True

    # then the receiver has one signed POST per step, each with the report at that step's version
    requests = receiver.requests
    assert all(verify(request) for request in requests)
    bodies = [json.loads(request.body) for request in requests]
    assert [request.headers["X-GSTP-Event"] for request in requests] == [
        "report.endorsed",
        "report.accepted",
        "report.reopened",
    ]
    assert [(body["event"], body["report"]["status"], body["report"]["version"]) for body in bodies] == [
        ("report.endorsed", "endorsed", 3),
        ("report.accepted", "accepted", 4),
        ("report.reopened", "returned", 5),
    ]
    assert {body["report"]["id"] for body in bodies} == {report.pk}
    assert {body["report"]["project"] for body in bodies} == {chain.node.pk}


def test_two_returns_of_one_report_are_two_deliveries(receiver, chain):
    subscribe(receiver.url(), events=[WebhookEvent.REPORT_RETURNED])
    # given the report returned, resubmitted and returned again before the worker ran any fan-out
    report = returned_by_the_reviewer(chain, report_in_status(node=chain.node, status=ReportStatus.SUBMITTED))
    report = services.report_submit(actor=chain.lead, report=report, expected_version=report.version)
    returned_by_the_reviewer(chain, report, reason="仍缺佐證資料")

    deliveries = fan_out_all()

    assert [(d.payload["report"]["version"], d.payload["report"]["status"]) for d in deliveries] == [
        (3, "returned"),
        (5, "returned"),
    ]
    assert len({delivery.event_id for delivery in deliveries}) == 2
    for delivery in deliveries:
        notifications.webhook_deliver(delivery_id=delivery.pk)
    assert len({request.headers["X-GSTP-Delivery"] for request in receiver.requests}) == 2
    # and the jobs run again deliver nothing more
    assert fan_out_all() == deliveries


def test_a_late_fan_out_tells_of_the_step_not_of_the_report_as_it_is_now(chain):
    subscribe("http://127.0.0.1:9/hooks", events=[WebhookEvent.REPORT_RETURNED])
    # given the report returned and resubmitted before the worker ran the fan-out
    report = returned_by_the_reviewer(chain, report_in_status(node=chain.node, status=ReportStatus.SUBMITTED))
    services.report_submit(actor=chain.lead, report=report, expected_version=report.version)

    (delivery,) = fan_out_all()

    assert delivery.payload["report"] == {
        "id": report.pk,
        "project": chain.node.pk,
        "period": "2024Q1",
        "kind": "quarterly",
        "status": "returned",
        "version": 3,
    }


def test_without_a_subscription_to_the_step_no_fan_out_job(chain):
    subscribe("http://127.0.0.1:9/hooks", events=[WebhookEvent.REPORT_ACCEPTED])

    report = report_in_status(node=chain.node, status=ReportStatus.SUBMITTED)
    report = services.report_endorse(actor=chain.reviewer, report=report, expected_version=report.version)
    returned_by_the_reviewer(
        chain, report_in_status(node=chain.node, status=ReportStatus.SUBMITTED, period=Quarter(2024, 2))
    )

    assert not OutboxMessage.objects.filter(task="reviews.fan_out_webhook").exists()
