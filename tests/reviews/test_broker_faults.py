"""The broker down or hung: the API still answers at once, the outbox keeps the jobs, and they are published
once when the broker is back.

Two faults, each standing in for Redis at ``CELERY_BROKER_URL`` with the transport options
``gstp/settings.py`` gives a Redis URL (socket connect and read timeouts of 2 s):

* down: a port nothing listens on (connections refused);
* hung: a local TCP server that accepts connections and never answers.

Neither needs a Redis server, so those tests run everywhere. The recovery tests then publish to a real
``redis-server`` started for the test (on the dead port, or on a port of its own instead of the hung one) and
read the ``celery`` list back, so they are marked ``redis``.

``outbox_relay()`` runs in a thread with a hard timeout, so a relay that hangs fails the test instead of
hanging the suite; the thread has its own database connection, hence committed data (``transaction=True``).
"""

import datetime
import time
from collections import Counter
from contextlib import ExitStack

import pytest
from django.utils import timezone

from reviews.models import OutboxMessage, ReportStatus
from reviews.services import outbox_enqueue
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.factories import WebhookSubscriptionFactory, file_report_through_api
from tests.support.broker import queued_tasks, settings_for_broker, use_broker
from tests.support.processes import RedisServer, free_port, redis_server_binary
from tests.support.servers import HungServer
from tests.support.workers import relay_with_deadline

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REQUEST_BUDGET_SECONDS = 2.0
# The relay must give up and return: far longer than this is a hang, not a slow broker.
RELAY_HARD_TIMEOUT_SECONDS = 60
# A loose bound for "it gives up by itself"; the test of one socket timeout holds it to 2 s.
RELAY_GIVES_UP_WITHIN_SECONDS = 10


@pytest.fixture
def subproject(agency):
    _, _, _, (node,) = make_tree(PlanFactory(), lead_agency=agency)
    return node


@pytest.fixture
def subscription(db):
    return WebhookSubscriptionFactory(
        name="portal", url="http://127.0.0.1:9/hooks", secret="s3cret", events=["report.accepted"]
    )


@pytest.fixture
def unavailable_broker(request):
    """``(kind, url, hung_server_or_None)`` for a broker that is down or hung."""
    if request.param == "down":
        return "down", f"redis://127.0.0.1:{free_port()}/0", None
    hung = HungServer()
    request.addfinalizer(hung.close)
    return "hung", hung.url, hung


def both_faults(test):
    return pytest.mark.parametrize("unavailable_broker", ["down", "hung"], indirect=True)(test)


def needs_redis_server():
    if redis_server_binary() is None:
        pytest.skip("needs the redis-server binary to start a broker of its own")


def run_relay(*, timeout=RELAY_HARD_TIMEOUT_SECONDS, unblock=None):
    """``outbox_relay()`` in a thread; ``((published, pending), seconds)``, or the test fails if it hangs."""
    try:
        return relay_with_deadline(timeout=timeout, unblock=unblock)
    except TimeoutError:
        pytest.fail(f"outbox_relay() was still running after {timeout}s: it hangs on an unavailable broker")


def pending_rows():
    return list(OutboxMessage.objects.filter(sent_at__isnull=True).order_by("id"))


def wait_out_backoff(rows):
    """Sleep until every row is available again (the relay's backoff is a few seconds at first)."""
    latest = max(row.available_at for row in rows)
    delay = (latest - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay + 0.05)


def expected_jobs(subproject, report_id):
    return [
        ("reviews.scan_lagging", {"node_ids": [subproject.pk]}),
        ("reviews.notify_report_step", {"report_id": report_id, "step": "accepted", "version": 3}),
        ("reviews.fan_out_webhook", {"event": "report.accepted", "ids": [report_id]}),
    ]


def test_settings_give_a_redis_broker_short_socket_timeouts():
    options = settings_for_broker("redis://127.0.0.1:6379/0")["CELERY_BROKER_TRANSPORT_OPTIONS"]

    assert options["socket_connect_timeout"] == 2
    assert options["socket_timeout"] == 2


@both_faults
def test_requests_answer_at_once_and_the_relay_leaves_the_jobs_waiting(
    unavailable_broker, settings, lead_client, secretariat_client, subproject, subscription
):
    kind, url, hung = unavailable_broker
    with use_broker(url, django_settings=settings):
        # when a report is filed, submitted and accepted through the API
        filed = file_report_through_api(
            lead_client, subproject, status=ReportStatus.ACCEPTED, secretariat_client=secretariat_client
        )
        report_id, steps = filed.id, filed.timings

        # then every request answered as usual, at once: none of them talks to the broker
        print(f"broker {kind}: " + ", ".join(f"{step} {status} in {seconds:.3f}s" for step, status, seconds in steps))
        assert [(step, status) for step, status, _ in steps] == [("create", 201), ("submit", 200), ("accept", 200)]
        assert all(seconds < REQUEST_BUDGET_SECONDS for _, _, seconds in steps), steps
        # and the jobs the acceptance asks for wait in the outbox
        assert [(row.task, row.kwargs) for row in pending_rows()] == expected_jobs(subproject, report_id)

        # when the relay runs
        before = timezone.now()
        (published, pending), seconds = run_relay(unblock=hung.close if hung else None)
        print(f"broker {kind}: outbox_relay() gave up after {seconds:.2f}s")

    # then it gave up by itself, published nothing and left both rows
    assert (published, pending) == (0, 2)
    assert seconds < RELAY_GIVES_UP_WITHIN_SECONDS
    if hung is not None:
        assert hung.connections >= 1, "the relay never reached the hung server"
    first, second = pending_rows()
    # the first row records the error and waits a backoff; the relay stopped there, not trying each row in turn
    assert first.attempts == 1
    assert first.last_error.startswith("OperationalError: ")
    assert ("refused" if kind == "down" else "Timeout") in first.last_error
    assert first.available_at >= before + datetime.timedelta(seconds=2)
    assert first.sent_at is None
    assert (second.attempts, second.last_error, second.sent_at) == (0, "", None)


@pytest.mark.redis
@both_faults
def test_jobs_left_by_an_unavailable_broker_are_published_once_when_it_is_back(
    unavailable_broker, settings, request, tmp_path, lead_client, secretariat_client, subproject, subscription
):
    needs_redis_server()
    kind, url, hung = unavailable_broker
    with ExitStack() as stack:
        stack.enter_context(use_broker(url, django_settings=settings))
        report_id = file_report_through_api(
            lead_client, subproject, status=ReportStatus.ACCEPTED, secretariat_client=secretariat_client
        ).id
        assert run_relay(unblock=hung.close if hung else None)[0] == (0, 2)
        rows = pending_rows()

        # when the broker is back: Redis starts on the dead port, or replaces the hung server
        port = int(url.rsplit(":", 1)[1].split("/")[0]) if kind == "down" else None
        redis_server = RedisServer(port=port, log_path=tmp_path / "redis.log")
        request.addfinalizer(redis_server.stop)
        if kind == "hung":
            stack.enter_context(use_broker(redis_server.url, django_settings=settings))
        wait_out_backoff(rows)
        (published, pending), seconds = run_relay()
        print(f"broker {kind} then back: outbox_relay() published {published} in {seconds:.2f}s")
        again = run_relay()[0]

    # then every row was published, once, and is marked sent
    assert (published, pending) == (2, 0)
    assert again == (0, 0)
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    ids = [row.pk for row in rows]
    with redis_server.client() as client:
        assert client.llen("celery") == 2
        queued = queued_tasks(client)
    assert [(task.id, task.task, task.kwargs) for task in queued] == [
        (f"outbox-{pk}", task, kwargs)
        for pk, (task, kwargs) in zip(ids, expected_jobs(subproject, report_id), strict=True)
    ]


@pytest.mark.redis
def test_a_broker_that_freezes_after_connecting_times_out_within_the_socket_timeout(request, tmp_path, settings):
    """A Redis that stops answering on a connection the relay already holds (SIGSTOP): the read times out after
    ``socket_timeout``, the rows wait; once it answers again they are published. At least once: the frozen
    server still runs the push it had received, so the first row may be queued twice (its job is idempotent)."""
    needs_redis_server()
    redis_server = RedisServer(log_path=tmp_path / "redis.log")
    request.addfinalizer(redis_server.stop)
    socket_timeout = settings_for_broker(redis_server.url)["CELERY_BROKER_TRANSPORT_OPTIONS"]["socket_timeout"]
    with use_broker(redis_server.url, django_settings=settings):
        warm_up = outbox_enqueue("reviews.weekly_digest", week_of="2024-12-23")
        assert run_relay()[0] == (1, 0)  # the relay's connection is open and pooled
        first = outbox_enqueue("reviews.weekly_digest", week_of="2024-12-30")
        second = outbox_enqueue("reviews.weekly_digest", week_of="2025-01-06")

        redis_server.pause()
        try:
            (published, pending), seconds = run_relay(unblock=redis_server.resume)
        finally:
            redis_server.resume()
        print(f"broker frozen: outbox_relay() gave up after {seconds:.2f}s")
        assert (published, pending) == (0, 2)
        assert seconds < 2 * socket_timeout
        first.refresh_from_db()
        assert (first.attempts, first.sent_at) == (1, None)
        assert "Timeout" in first.last_error

        wait_out_backoff([first])
        assert run_relay()[0] == (2, 0)

    with redis_server.client() as client:
        queued = Counter(task.id for task in queued_tasks(client))
    print(f"after the freeze the queue holds {dict(queued)}")
    assert queued[f"outbox-{warm_up.pk}"] == 1
    assert queued[f"outbox-{first.pk}"] in (1, 2)
    assert queued[f"outbox-{second.pk}"] == 1
    assert set(queued) == {f"outbox-{warm_up.pk}", f"outbox-{first.pk}", f"outbox-{second.pk}"}


@both_faults
def test_a_relay_against_an_unavailable_broker_gives_up_within_one_socket_timeout(unavailable_broker, settings):
    kind, url, hung = unavailable_broker
    OutboxMessage.objects.create(task="reviews.weekly_digest", kwargs={}, available_at=timezone.now())
    options = settings_for_broker(url)["CELERY_BROKER_TRANSPORT_OPTIONS"]

    with use_broker(url, django_settings=settings):
        (published, pending), seconds = run_relay(unblock=hung.close if hung else None)

    print(f"broker {kind}: outbox_relay() gave up after {seconds:.2f}s")
    assert (published, pending) == (0, 1)
    assert seconds < max(options["socket_connect_timeout"], options["socket_timeout"]) + 1


def test_enqueueing_in_a_transaction_writes_only_a_row(settings):
    # given a broker nobody could reach
    with use_broker(f"redis://127.0.0.1:{free_port()}/0", django_settings=settings):
        started = time.perf_counter()
        message = outbox_enqueue("reviews.weekly_digest", week_of="2024-12-30")
        seconds = time.perf_counter() - started

    assert seconds < REQUEST_BUDGET_SECONDS
    message.refresh_from_db()
    assert (message.task, message.kwargs, message.attempts, message.sent_at) == (
        "reviews.weekly_digest",
        {"week_of": "2024-12-30"},
        0,
        None,
    )
