"""A Celery worker killed (SIGKILL) in the middle of a batch of the lag scan, and in the middle of a webhook
delivery: once another worker runs, the end state is a clean run's, with no flag, email or delivery twice.

Tasks are ``acks_late``: a message is acknowledged when its task ends, so a worker that dies holds it
unacknowledged. Two ways a worker dies, two ways the message comes back:

* the whole worker is killed (its machine, its container): Redis hands the message to another worker once the
  visibility timeout has passed since it was taken (a starting worker looks at once, a running one every ~100 s).
  Production's timeout is ``GSTP_BROKER_VISIBILITY_TIMEOUT`` (150 s); these workers run with one second, nothing
  else differs. (So short a timeout is safe here only because no other worker starts while a task runs: a
  starting worker takes back every message held longer than that, running or not.)
* a process of a prefork pool is killed (the kernel's OOM killer picks the biggest process): the worker sees
  it lost, rejects the message back to the queue (``task_reject_on_worker_lost``) and runs it again at once.

The scan is killed for real mid-batch: its second batch is held on a row lock that the test takes (an
uncommitted flag on the key that batch inserts), so the worker dies with the first batch committed and the
second in flight, every time; the next worker redoes the second batch, and the run's rows say when. A webhook
delivery is killed while the receiver holds its POST open.

What is guaranteed for webhooks: the delivery is recorded as delivered once, and its effects happen once, but
the receiver may be sent it again when the worker dies after the receiver read it and before the worker
recorded the answer: the same body, signed anew, with the same ``X-GSTP-Delivery`` id, on which a receiver
dedupes. Emails are sent once per key; a worker killed between the mail server's acceptance and the commit of
that email's log row (one statement's time) would send it once more.
"""

import datetime
import os
import signal
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone

from accounts.models import Role
from projects.models import NodeKind, PlanNode
from reviews.models import (
    EmailLog,
    LagFlag,
    LagRule,
    OutboxMessage,
    ReportStatus,
    ScanRun,
    Severity,
    WebhookDelivery,
    WebhookEvent,
)
from reviews.services import lag_scan, notifications, outbox_enqueue, outbox_relay
from reviews.services import scan as scan_module
from tests.accounts.factories import UserFactory
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews import lagging
from tests.reviews.factories import WebhookSubscriptionFactory, report_in_status
from tests.reviews.lagging import AS_OF, ON_PLAN, state
from tests.support.processes import wait_until
from tests.support.workers import keep_relaying, relay_until, sent_emails, task_runs

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

VISIBILITY_TIMEOUT = 1  # seconds; production: 150
SETTLE_SECONDS = 1.0
SECRET = "whsec-portal"
# The kinds of sub-project whose flags a killed scan must leave as a clean scan does.
KINDS = {kind: lagging.KINDS[kind] for kind in ("green", "behind", "underspent", "late", "milestone")}


@pytest.fixture
def recipients(db):
    UserFactory(username="secretariat-mail", role=Role.SECRETARIAT, email="secretariat@example.org")


@pytest.fixture
def programme(recipients):
    """Sub-projects of every kind in the scan's first batch and again in its second, with idle sub-projects
    (starting in 2025, so nothing is due yet) filling the first batch to the scan's batch size."""
    plan = PlanFactory()
    agency = AgencyFactory()
    UserFactory(username="lead-mail", role=Role.LEAD, agency=agency, email="lead@example.org")
    _, _, measure, first = make_tree(plan, lead_agency=agency, subprojects=len(KINDS), prefix="甲")
    filler = scan_module.DEFAULT_BATCH_SIZE - len(first)
    PlanNode.objects.bulk_create(
        PlanNode(
            plan=plan,
            parent=measure,
            kind=NodeKind.SUBPROJECT,
            title=f"待啟動子計畫 {index}",
            position=index,
            start_date=datetime.date(2025, 1, 1),
            end_date=datetime.date(2025, 12, 31),
            path="",
        )
        for index in range(filler)
    )
    padded_id = LPad(Cast("id", output_field=CharField()), 8, Value("0"))
    PlanNode.objects.filter(path="").update(path=Concat(Value(measure.path), padded_id, Value("/")))
    _, _, _, second = make_tree(plan, lead_agency=agency, subprojects=len(KINDS), prefix="乙")
    batches = {"first": dict(zip(KINDS, first, strict=True)), "second": dict(zip(KINDS, second, strict=True))}
    for nodes in batches.values():
        for kind, node in nodes.items():
            KINDS[kind](node)
    assert max(node.pk for node in first) < min(node.pk for node in second)
    return batches


class RowLockHolder:
    """An uncommitted flag on one key, in a transaction of its own thread: a scan that inserts that key waits
    for it. ``release()`` rolls it back."""

    def __init__(self, **flag):
        self._flag = flag
        self._inserted, self._release = threading.Event(), threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._hold, name="row-lock-holder", daemon=True)
        self._thread.start()
        if not self._inserted.wait(30):
            raise RuntimeError(f"the flag was not inserted: {self._error!r}")

    def _hold(self):
        try:
            with transaction.atomic():
                LagFlag.objects.create(**self._flag)
                self._inserted.set()
                self._release.wait(120)
                transaction.set_rollback(True)
        except BaseException as exc:  # reported by release()
            self._error = exc
        finally:
            connection.close()

    def release(self):
        self._release.set()
        self._thread.join(30)
        if self._error is not None:
            raise self._error


def backend_waiting_on_flag_insert() -> int | None:
    """The process id of a database session of this test database waiting on a lock to insert flags."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO reviews_lagflag%%'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


def wait_for_redelivery(taken_at: float) -> None:
    """Sleep until a message taken at ``taken_at`` (monotonic) is past the workers' visibility timeout."""
    delay = taken_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def test_a_worker_killed_in_the_middle_of_a_batch_of_the_scan(
    programme, broker, workers, receiver, mail_dir, record_figures
):
    WebhookSubscriptionFactory(name="portal", url=receiver.url(), secret=SECRET, events=[WebhookEvent.FLAG_RAISED])
    # given what a clean scan finds
    lag_scan(as_of=AS_OF)
    clean = state()
    red = {key for key, value in clean.items() if value[0] == Severity.RED}
    assert (len(clean), len(red)) == (8, 4)
    LagFlag.objects.all().delete()
    OutboxMessage.objects.all().delete()
    first_nodes = {node.pk for node in programme["first"].values()}
    clean_first = {key: value for key, value in clean.items() if key[0] in first_nodes}

    # and a worker, and the second batch's insert of the underspent sub-project's flag held on a row lock
    worker = workers.start(broker.url, visibility_timeout=VISIBILITY_TIMEOUT)
    held = programme["second"]["underspent"]
    lock = RowLockHolder(
        node=held,
        rule=LagRule.BUDGET_EXECUTION,
        year=2024,
        quarter=3,
        severity=Severity.YELLOW,
        opened_at=timezone.now(),
    )

    # when the scan is asked for through the outbox, and the worker dispatches its batches and takes them
    with transaction.atomic():
        scan = outbox_enqueue("reviews.scan_lagging", as_of=AS_OF.isoformat())
    try:
        assert outbox_relay() == (1, 0)
        backend = wait_until(
            backend_waiting_on_flag_insert, timeout=60, interval=0.05, what="the scan waiting in its second batch"
        )
        taken_at = time.monotonic()  # the second batch's job was taken before
        run = ScanRun.objects.get()
        first, second = run.batches.order_by("number")
        # then its first batch is committed, as a clean scan leaves it
        assert state() == clean_first

        # when the worker is killed there
        worker.kill()
        killed_at = timezone.now()
    finally:
        lock.release()
    wait_until(lambda: backend_gone(backend), timeout=30, what="the killed worker's database session to end")

    # then nothing of the second batch was committed, and the run is not over: its second batch started once
    assert state() == clean_first
    assert task_runs([worker], "reviews.scan_lagging", f"outbox-{scan.pk}") == 1
    assert task_runs([worker], "reviews.scan_batch", f"scan-{run.pk}-2") == 0
    first.refresh_from_db(), second.refresh_from_db(), run.refresh_from_db()
    assert (first.attempts, first.finished_at is not None) == (1, True)
    assert (second.attempts, second.finished_at, run.finished_at) == (1, None, None)

    # when another worker starts, once the broker gives it the unacknowledged batch
    wait_for_redelivery(taken_at)
    again = workers.start(broker.url, visibility_timeout=VISIBILITY_TIMEOUT)

    # then it scans that batch again, and the flags, emails and deliveries are a clean scan's, each once
    def everything_done():
        return (
            state() == clean
            and EmailLog.objects.count() >= len(red)
            and WebhookDelivery.objects.filter(delivered_at__isnull=False).count() >= len(clean)
            and not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
        )

    relay_until(everything_done, what="the clean scan's flags, emails and deliveries", workers=workers.started)
    keep_relaying(SETTLE_SECONDS)
    after, flagged = state(), Counter(LagFlag.objects.values_list("node_id", "rule", "year", "quarter"))
    sent = Counter(received.headers["X-GSTP-Delivery"] for received in receiver.requests)
    record_figures(
        cases=1,
        errors=0,
        server_errors=0,
        lost=len(set(clean) - set(after)) + max(0, len(red) - len(sent_emails(mail_dir))),
        duplicated=sum(count - 1 for count in flagged.values())
        + max(0, len(sent_emails(mail_dir)) - len(red))
        + sum(count - 1 for count in sent.values()),
    )
    assert state() == clean
    # and the run's rows tell: the second batch started twice, redone by the other worker, the run ended once
    second.refresh_from_db(), run.refresh_from_db()
    assert second.attempts == 2
    assert second.worker.startswith(again.argv[again.argv.index("-n") + 1].split("@")[0])
    assert killed_at < second.last_started_at <= second.finished_at <= run.finished_at
    print(f"the lost batch was redone {(second.last_started_at - killed_at).total_seconds():.1f}s after the kill")
    assert run.batches_done == run.batches_total == 2
    assert again.count(f"lag scan #{run.pk} as of") == 1
    assert task_runs([again], "reviews.scan_batch", f"scan-{run.pk}-2") == 1
    # and every job ran to its end once, over both workers (the killed batch's first run never ended)
    runs = {
        f"{message.task}[outbox-{message.pk}]": task_runs(workers.started, message.task, f"outbox-{message.pk}")
        for message in OutboxMessage.objects.all()
    }
    assert set(runs.values()) == {1}, runs
    flagged = Counter(LagFlag.objects.values_list("node_id", "rule", "year", "quarter"))
    assert set(flagged.values()) == {1}
    red_ids = set(LagFlag.objects.filter(severity=Severity.RED).values_list("pk", flat=True))
    assert sorted(int(key.split(":")[1]) for key in EmailLog.objects.values_list("key", flat=True)) == sorted(red_ids)
    emails = sent_emails(mail_dir)
    assert len(emails) == len(red), [message["Subject"] for message in emails]
    deliveries = WebhookDelivery.objects.all()
    assert sorted(delivery.payload["flag"]["id"] for delivery in deliveries) == sorted(
        LagFlag.objects.values_list("pk", flat=True)
    )
    posted = Counter(received.headers["X-GSTP-Delivery"] for received in receiver.requests)
    assert posted == Counter(delivery.event_id for delivery in deliveries)


@pytest.fixture
def accepted_report(db, receiver):
    """An accepted 2024Q1 report, on plan, of a sub-project of that quarter only, with a subscription to accepted
    reports: accepting it asked for a scan (which finds nothing) and a ``report.accepted`` webhook fan-out."""
    WebhookSubscriptionFactory(name="portal", url=receiver.url(), secret=SECRET, events=[WebhookEvent.REPORT_ACCEPTED])
    node = make_tree(lead_agency=AgencyFactory())[3][0]
    node.start_date, node.end_date = datetime.date(2024, 1, 1), datetime.date(2024, 3, 31)
    node.save()
    return report_in_status(node=node, status=ReportStatus.ACCEPTED, **ON_PLAN)


def verify(received) -> bool:
    timestamp = received.headers["X-GSTP-Timestamp"]
    expected = notifications.sign(SECRET, received.body, timestamp)
    return received.headers["X-GSTP-Signature"] == f"sha256={expected}"


@pytest.mark.parametrize("killed", ["worker", "pool process"])
def test_a_worker_killed_while_a_webhook_is_being_delivered(
    killed, accepted_report, broker, workers, receiver, record_figures
):
    if killed == "worker":
        worker = workers.start(broker.url, visibility_timeout=VISIBILITY_TIMEOUT)
    else:
        worker = workers.start(broker.url, pool="prefork")
    receiver.hold()

    # when the worker POSTs the delivery, and is killed while the receiver holds the request open
    relay_until(
        lambda: OutboxMessage.objects.filter(task="reviews.deliver_webhook", sent_at__isnull=False).exists(),
        what="the delivery job published",
        workers=[worker],
    )
    (first,) = wait_until(lambda: receiver.requests, timeout=30, interval=0.01, what="the delivery's POST")
    taken_at = time.monotonic()
    print(f"{killed}: killed {taken_at - first.received_at:.2f}s after the POST arrived")
    assert taken_at - first.received_at < notifications.WEBHOOK_TIMEOUT_SECONDS  # the worker is still waiting
    if killed == "worker":
        worker.kill()
    else:
        (process,) = worker.pool_children()
        os.kill(process, signal.SIGKILL)

    # then the attempt left no trace: the delivery is not marked delivered, and waits to be sent again (read while
    # the receiver still answers nothing: a pool process started in the killed one's place may be sending it)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.delivered_at, delivery.attempts, delivery.log) == (None, 0, [])
    receiver.release()

    # when a worker runs again: the same one for a pool process, a new one once the broker hands the message on
    if killed == "worker":
        wait_for_redelivery(taken_at)
        workers.start(broker.url, visibility_timeout=VISIBILITY_TIMEOUT)

    # then the delivery is made and recorded once
    relay_until(
        lambda: WebhookDelivery.objects.filter(delivered_at__isnull=False).exists(),
        what="the delivery made again",
        workers=workers.started,
    )
    keep_relaying(SETTLE_SECONDS)
    delivery.refresh_from_db()
    record_figures(
        cases=1,
        errors=0,
        server_errors=0,
        lost=int(delivery.delivered_at is None),
        # The receiver gets the killed attempt's POST again, under the same delivery id: not a second delivery.
        duplicated=WebhookDelivery.objects.count() - 1 + max(0, delivery.attempts - 1),
    )
    assert delivery.attempts == 1
    assert [entry["status"] for entry in delivery.log] == [200]
    # and the receiver got it twice, the same body under the same delivery id, each signed: it acts on it once
    posts = receiver.requests
    assert len(posts) == 2
    assert [received.headers["X-GSTP-Delivery"] for received in posts] == [delivery.event_id] * 2
    assert posts[0].body == first.body == posts[1].body
    assert all(verify(received) for received in posts)
    assert WebhookDelivery.objects.count() == 1
