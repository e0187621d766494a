"""Celery workers for tests on the test's own database, the outbox relayed as beat would, and counting what
the workers did: the emails they wrote and the task runs they logged.

A worker is ``celery -A gstp worker`` in a subprocess (``processes.CeleryWorker``) with the settings of
``tests.support.worker_settings``: production's, with a visibility timeout and an email directory the test
chooses. It reads the database the test process uses (pytest-django's ``test_<name>``), so what it needs
must be committed: tests that start one use ``transaction=True``.
"""

from __future__ import annotations

import email
import email.policy
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

from .processes import CeleryWorker, wait_until

MESSAGE_SEPARATOR = "-" * 79  # what Django's file-based backend writes after each message


def database_url(settings_dict: dict) -> str:
    """A ``DATABASE_URL`` for the database a Django connection uses (the test database, during tests)."""
    user = urllib.parse.quote(settings_dict["USER"] or "", safe="")
    password = urllib.parse.quote(settings_dict["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if user else ""
    host = settings_dict["HOST"] or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{urllib.parse.quote(settings_dict['NAME'], safe='')}"


def worker_environment(
    *, database_url: str, broker_url: str, email_dir: Path | None = None, visibility_timeout: int | None = None
) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    for name in (
        "CELERY_BROKER_READ_URL",
        "CELERY_BROKER_WRITE_URL",
        "GSTP_TEST_EMAIL_DIR",
        "GSTP_BROKER_VISIBILITY_TIMEOUT",
    ):
        env.pop(name, None)
    if email_dir is not None:
        env["GSTP_TEST_EMAIL_DIR"] = str(email_dir)
    if visibility_timeout is not None:
        env["GSTP_BROKER_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
    return env


def start_worker(*, env: dict[str, str], log_path: Path, pool: str = "solo", timeout: float = 60) -> CeleryWorker:
    """Start a worker and wait for its "ready."; the caller registers ``stop`` as a finalizer at once."""
    worker = CeleryWorker(env=env, log_path=log_path, hostname=f"gstp-test-{uuid.uuid4().hex[:8]}@%h", pool=pool)
    try:
        worker.wait_ready(timeout=timeout)
    except BaseException:
        worker.stop()
        raise
    return worker


def sent_emails(directory: Path) -> list[email.message.EmailMessage]:
    """Every message Django's file-based email backend wrote under ``directory``, whichever process wrote it."""
    messages = []
    for path in sorted(Path(directory).glob("*.log")):
        text = path.read_text(encoding="utf-8")
        for chunk in text.split(f"\n{MESSAGE_SEPARATOR}\n"):
            if chunk.strip():
                messages.append(email.message_from_string(chunk, policy=email.policy.default))
    return messages


def task_runs(workers: list[CeleryWorker], task: str, task_id: str) -> int:
    """How many times the workers logged ``task`` with ``task_id`` as succeeded."""
    return sum(worker.count(f"Task {task}[{task_id}] succeeded") for worker in workers)


def relay_until(
    predicate: Callable[[], object], *, what: str, workers: list[CeleryWorker], timeout: float = 60, interval=0.3
):
    """Publish the outbox (as beat does every 5 s, here faster) until ``predicate()`` holds; its value.

    A TimeoutError names what was awaited and shows the tail of each worker's log.
    """
    from reviews.services import outbox_relay

    def step():
        outbox_relay()
        return predicate()

    try:
        return wait_until(step, timeout=timeout, interval=interval, what=what)
    except TimeoutError as exc:
        logs = "\n".join(f"--- {worker.log_path.name} ---\n{worker.log_tail(60)}" for worker in workers)
        raise TimeoutError(f"{exc}\n{logs}") from None


def relay_with_deadline(*, timeout: float = 60, unblock: Callable[[], None] | None = None) -> tuple[tuple, float]:
    """``outbox_relay()`` in a thread of its own: ``((published, pending), seconds)``; a relay still running after
    ``timeout`` seconds raises TimeoutError (after ``unblock()``, which lets it finish) instead of hanging the test.
    """
    from django.db import connection

    from reviews.services import outbox_relay

    outcome = {}

    def relay():
        try:
            outcome["result"] = outbox_relay()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=relay, name="outbox-relay", daemon=True)
    started = time.perf_counter()
    thread.start()
    thread.join(timeout)
    seconds = time.perf_counter() - started
    if thread.is_alive():
        if unblock is not None:
            unblock()
        thread.join(15)
        raise TimeoutError(f"outbox_relay() was still running after {timeout}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"], seconds


def keep_relaying(seconds: float, *, interval: float = 0.3) -> None:
    """Go on publishing the outbox for a while once the work looks done: whatever would happen twice (a job
    published again, a message redelivered) has its chance to, before a test counts the effects."""
    from reviews.services import outbox_relay

    until = time.monotonic() + seconds
    while time.monotonic() < until:
        outbox_relay()
        time.sleep(interval)
