"""/healthz/ (the process is up, nothing else touched) and /readyz/ (the database answers SELECT 1 and the
broker answers PING, each within a short timeout): against the real PostgreSQL and Redis, a closed port and a
server that accepts connections and never answers."""

import json
import os
import textwrap
import time

import pytest
from django.test import override_settings

from tests.support.processes import free_port
from tests.support.servers import HungServer
from tests.test_settings import run_fresh

# The probe answers within the checks' timeout (1.5 s) plus the request's own work.
ANSWER_WITHIN = 2.0


def test_healthz_answers_without_touching_the_database(anonymous_client):
    # No database fixture: any query here would fail the test.
    response = anonymous_client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_with_postgresql_and_redis_up(anonymous_client, settings):
    settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]

    response = anonymous_client.get("/readyz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_with_the_broker_on_a_closed_port(anonymous_client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        started = time.monotonic()
        response = anonymous_client.get("/readyz/")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "error"}
    assert body["code"] == "not_ready"
    assert "broker" in body["detail"]
    assert elapsed < ANSWER_WITHIN


@pytest.mark.django_db
def test_readyz_with_a_hung_broker_answers_503_in_time(anonymous_client):
    hung = HungServer()
    try:
        with override_settings(CELERY_BROKER_URL=hung.url):
            started = time.monotonic()
            response = anonymous_client.get("/readyz/")
            elapsed = time.monotonic() - started
        connections = hung.connections
    finally:
        hung.close()

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "timeout"}
    assert "broker" in response.json()["detail"]
    assert connections >= 1  # it did reach the server
    assert elapsed < ANSWER_WITHIN


@pytest.mark.django_db
def test_the_probes_are_anonymous_and_ignore_sessions_and_tokens(anonymous_client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = anonymous_client.get("/readyz/", HTTP_AUTHORIZATION="Token not-a-key")

    assert response.status_code == 503  # judged on the checks, not refused as unauthenticated


# --- the database check, in a fresh process pointed at a database that is not there --------------

READYZ = textwrap.dedent(
    """
    import json, os, time
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")
    import django
    django.setup()
    from django.test import Client
    started = time.monotonic()
    response = Client().get("/readyz/", HTTP_HOST="localhost")
    print(json.dumps({"status": response.status_code, "body": response.json(),
                      "elapsed": time.monotonic() - started}))
    """
)


def readyz_in_a_process(tmp_path, **environment):
    completed = run_fresh(tmp_path, "-c", READYZ, **environment)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_readyz_on_the_embedded_default(tmp_path):
    # SQLite and the broker kept in files: nothing to install, and ready.
    result = readyz_in_a_process(tmp_path)

    assert result["status"] == 200
    assert result["body"]["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.redis
def test_readyz_with_postgresql_on_a_closed_port(tmp_path):
    result = readyz_in_a_process(
        tmp_path,
        DATABASE_URL=f"postgres://gstp:gstp@127.0.0.1:{free_port()}/gstp",
        CELERY_BROKER_URL=os.environ["REDIS_URL"],
    )

    assert result["status"] == 503
    assert result["body"]["checks"] == {"database": "error", "broker": "ok"}
    assert "database" in result["body"]["detail"]
    assert result["elapsed"] < ANSWER_WITHIN


def test_readyz_with_a_hung_postgresql_answers_503_in_time(tmp_path):
    hung = HungServer()
    try:
        result = readyz_in_a_process(tmp_path, DATABASE_URL=f"postgres://gstp:gstp@127.0.0.1:{hung.port}/gstp")
    finally:
        hung.close()

    assert result["status"] == 503
    assert result["body"]["checks"]["database"] == "timeout"
    assert result["elapsed"] < ANSWER_WITHIN
