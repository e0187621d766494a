"""Probes for a load balancer or an orchestrator.

``/healthz/``: the process is up and answers; nothing else is touched.
``/readyz/``: the database answers ``SELECT 1`` and the Celery broker answers (a Redis ``PING``),
each within ``CHECK_TIMEOUT`` seconds; 503 naming what did not answer otherwise.

``HealthCheckMiddleware`` answers both before host validation, the HTTPS redirect, sessions and
authentication: a probe comes over plain HTTP, often with the container's address as its Host.
"""

import contextvars
import logging
import threading
import time

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Both checks run at once; the answer comes within this many seconds whatever hangs.
CHECK_TIMEOUT = 1.5

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def healthz(request):
    """The process is up; readiness of the database and the broker is /readyz/."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    # A connection of this thread's own, closed at once: a hung server holds this thread, not a request's.
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(REDIS_SCHEMES):
        client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
        return
    from gstp.celery import app  # imported here: the Celery app loads every app's tasks

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0)


READINESS_CHECKS = {"database": _check_database, "broker": _check_broker}


def run_checks(checks=None, timeout: float = CHECK_TIMEOUT) -> dict[str, str]:
    """Each check's outcome: ``ok``, ``error`` or ``timeout`` (still running after ``timeout`` seconds)."""
    checks = READINESS_CHECKS if checks is None else checks
    outcomes = dict.fromkeys(checks, "timeout")
    lock = threading.Lock()

    def run(name, check):
        try:
            check()
        except (TimeoutError, redis.exceptions.TimeoutError) as exc:
            # Its own socket gave up waiting: a hung server, whichever of the two clocks ran out first.
            logger.warning("readiness check %s timed out: %s", name, exc)
            outcome = "timeout"
        except Exception as exc:  # whatever the failure, the answer is "not ready"
            logger.warning("readiness check %s failed: %s: %s", name, type(exc).__name__, exc)
            outcome = "error"
        else:
            outcome = "ok"
        with lock:
            outcomes[name] = outcome

    threads = []
    for name, check in checks.items():
        context = contextvars.copy_context()  # so the check's log lines carry the request id
        thread = threading.Thread(target=context.run, args=(run, name, check), name=f"readyz-{name}", daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        result = dict(outcomes)
    for name, outcome in result.items():
        if outcome == "timeout":
            logger.warning("readiness check %s did not answer within %.1f s", name, timeout)
    return result


def readyz(request):
    checks = run_checks()
    failed = [name for name, outcome in checks.items() if outcome != "ok"]
    if not failed:
        return JsonResponse({"status": "ok", "checks": checks})
    return JsonResponse(
        {
            "status": "unavailable",
            "detail": _("Not ready: %(checks)s did not answer.") % {"checks": ", ".join(failed)},
            "code": "not_ready",
            "checks": checks,
        },
        status=503,
    )


PROBES = {"/healthz/": healthz, "/readyz/": readyz}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
