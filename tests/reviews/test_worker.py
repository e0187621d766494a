"""A real Celery worker runs the jobs the outbox publishes: the lag scan, then the red-flag email it asks for.

The worker is ``celery -A gstp worker`` in a subprocess, on the Redis at ``REDIS_URL`` and the test's own
PostgreSQL database (pytest-django's ``test_<name>``), so the data it reads must be committed
(``transaction=True``). Its email backend is the console one: what it sends appears in its log, which the test
reads along with the "Task ...[outbox-<id>] succeeded" lines. Nothing else runs beat here, so the test
relays the outbox itself, as beat would every 5 s.
"""

import datetime
import os
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.models import Role
from reviews.models import EmailLog, LagFlag, LagRule, OutboxMessage, ReportStatus, Severity
from reviews.periods import Quarter
from reviews.services import outbox_enqueue, outbox_relay
from reviews.services.outbox import _publish
from tests.accounts.factories import UserFactory
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.factories import report_in_status
from tests.support.broker import use_broker
from tests.support.processes import CeleryWorker, wait_until
from tests.support.workers import database_url

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
]

WAIT_SECONDS = 60


def worker_database_url() -> str:
    """DATABASE_URL for the database this test process uses, which is the test database by now."""
    return database_url(connection.settings_dict)


@pytest.fixture
def broker_url(settings):
    url = os.environ["REDIS_URL"]
    with use_broker(url, django_settings=settings):
        yield url


@pytest.fixture
def worker(transactional_db, broker_url, tmp_path, request):
    """A worker on the test database; stopped before the database is flushed (it depends on the database)."""
    assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gstp.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
        env.pop(name, None)
    process = CeleryWorker(env=env, log_path=tmp_path / "worker.log", hostname=f"gstp-test-{uuid.uuid4().hex[:8]}@%h")
    request.addfinalizer(process.stop)
    process.wait_ready()
    return process


@pytest.fixture
def lagging_subproject(agency):
    """A sub-project of 2024Q1 only, whose accepted report is 12 points behind plan: one red flag, no other."""
    _, _, _, (node,) = make_tree(PlanFactory(), lead_agency=agency)
    node.start_date, node.end_date = datetime.date(2024, 1, 1), datetime.date(2024, 3, 31)
    node.save()
    report_in_status(
        node=node,
        status=ReportStatus.ACCEPTED,
        period=Quarter(2024, 1),
        planned_progress=Decimal("60"),
        actual_progress=Decimal("48"),
        budget_allocated=Decimal("500000"),
        budget_spent=Decimal("500000"),
        delay_reasons="採購延宕",
    )
    return node


def succeeded(task: str, message: OutboxMessage) -> str:
    return f"Task {task}[outbox-{message.pk}] succeeded"


def relay_until(predicate, *, what: str, worker: CeleryWorker):
    """Relay the outbox (as beat would) until ``predicate()`` holds; fail with the worker's log if it never does."""

    def step():
        outbox_relay()
        return predicate()

    try:
        return wait_until(step, timeout=WAIT_SECONDS, interval=0.5, what=what)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n--- worker log ---\n{worker.log_tail(80)}")


def test_a_worker_runs_the_scan_and_the_red_flag_email_published_from_the_outbox(worker, lagging_subproject, agency):
    secretariat = UserFactory(username="sec-with-mail", role=Role.SECRETARIAT, email="sec@example.org")
    lead = UserFactory(username="lead-with-mail", role=Role.LEAD, agency=agency, email="lead@example.org")

    # when the scan is asked for through the outbox, and the outbox is relayed
    with transaction.atomic():
        scan = outbox_enqueue("reviews.scan_lagging", as_of="2024-12-31")
    flag = relay_until(
        lambda: LagFlag.objects.filter(node=lagging_subproject).first(), what="the red flag", worker=worker
    )
    # the scan asked for the email through the outbox too: relay until the worker has sent it
    email = relay_until(
        lambda: EmailLog.objects.filter(key__startswith=f"red-flag:{flag.pk}:").first(),
        what="the red-flag email",
        worker=worker,
    )

    # then the worker raised one red progress-gap flag for 2024Q1
    assert LagFlag.objects.filter(node=lagging_subproject).count() == 1
    assert (flag.rule, flag.period, flag.severity, flag.status) == (
        LagRule.PROGRESS_GAP,
        "2024Q1",
        Severity.RED,
        "open",
    )
    assert Decimal(flag.evidence["gap"]) == Decimal("-12")
    # and the email went to the secretariat and the sub-project's lead
    assert email.recipients == sorted([secretariat.email, lead.email])
    assert email.subject.startswith("[GSTP] 紅燈")
    notify = OutboxMessage.objects.get(task="reviews.notify_red_flags")
    assert notify.kwargs == {"flag_ids": [flag.pk]}
    assert all(message.sent_at for message in OutboxMessage.objects.all())
    wait_until(lambda: worker.count(succeeded("reviews.notify_red_flags", notify)) == 1, timeout=10, what="log")
    assert worker.count(succeeded("reviews.scan_lagging", scan)) == 1
    # besides the red flag's, the email that told the lead its report was accepted (the fixture's)
    steps = list(OutboxMessage.objects.filter(task="reviews.notify_report_step"))
    wait_until(
        lambda: all(worker.count(succeeded("reviews.notify_report_step", step)) == 1 for step in steps),
        timeout=10,
        what="the report steps' emails",
    )
    emails = EmailLog.objects.count()
    assert EmailLog.objects.filter(key__startswith="red-flag:").count() == 1
    assert worker.count("Message-ID:") == emails, worker.log_tail(80)

    # when both jobs are published a second time (a relay that died before recording sent_at)
    _publish(scan)
    _publish(notify)
    wait_until(
        lambda: worker.count(succeeded("reviews.scan_lagging", scan)) == 2
        and worker.count(succeeded("reviews.notify_red_flags", notify)) == 2,
        timeout=WAIT_SECONDS,
        what="the worker running both jobs again",
    )

    # then nothing happened twice: one flag, each email logged and sent once, no new job
    assert LagFlag.objects.filter(node=lagging_subproject).count() == 1
    assert EmailLog.objects.count() == emails
    assert worker.count("Message-ID:") == emails, worker.log_tail(80)
    assert outbox_relay() == (0, 0)
