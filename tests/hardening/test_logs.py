"""Every request has an id (the caller's X-Request-ID when sane), answered in X-Request-ID and carried by every
log line written during the request; a Celery task's lines carry its task id. In production the lines are one
JSON object each on stdout."""

import io
import json
import logging
import os
import re
import textwrap
import uuid
from contextlib import contextmanager
from datetime import datetime

import pytest
import redis
from django.test import override_settings

from gstp.celery import app
from gstp.logs import JsonFormatter, LogContextFilter
from tests.reviews.test_worker import worker_database_url
from tests.support.processes import CeleryWorker, free_port, wait_until
from tests.test_settings import GOOD_SECRET_KEY, fresh_environment, run_fresh

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@contextmanager
def json_log_lines():
    """What the configured console handler writes, as JSON lines, while the block runs."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    assert any(isinstance(f, LogContextFilter) for f in handler.filters)
    lines: list[dict] = []
    stream = io.StringIO()
    previous_stream = handler.setStream(stream)
    previous_formatter = handler.formatter
    handler.setFormatter(JsonFormatter())
    try:
        yield lines
    finally:
        handler.setStream(previous_stream)
        handler.setFormatter(previous_formatter)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


# --- the request id ------------------------------------------------------------------------------


@pytest.mark.parametrize("incoming", ["3f2a9c1e-77b0-4c55-9d61-0f1e2d3c4b5a", "lb-1234.abc:5", "A" * 128])
def test_a_sane_incoming_request_id_is_kept(anonymous_client, incoming):
    response = anonymous_client.get("/healthz/", HTTP_X_REQUEST_ID=incoming)

    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", [None, "", "two words", 'quote"d', "x" * 129, "línea", "-leading-dash"])
def test_anything_else_gets_a_new_request_id(anonymous_client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}

    response = anonymous_client.get("/healthz/", **headers)

    assert GENERATED_ID.fullmatch(response["X-Request-ID"])


def test_each_request_gets_its_own_id(anonymous_client):
    ids = {anonymous_client.get("/healthz/")["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


@pytest.mark.django_db
def test_error_answers_carry_the_request_id_too(anonymous_client):
    response = anonymous_client.get("/api/v1/projects/", HTTP_X_REQUEST_ID="trace-401")

    assert response.status_code == 401
    assert response["X-Request-ID"] == "trace-401"


# --- log lines during a request ------------------------------------------------------------------


@pytest.mark.django_db
def test_every_line_written_during_a_request_carries_its_id(anonymous_client):
    # given: a broker that is not there, so that /readyz/ logs from our own logger (in a thread of its
    # own), Django logs the 503, and the request log line follows
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"), json_log_lines() as lines:
        response = anonymous_client.get("/readyz/", HTTP_X_REQUEST_ID="trace-42")

    # then
    assert response.status_code == 503
    by_logger = {line["logger"]: line for line in lines}
    assert {"gstp.health", "django.request", "gstp.request"} <= set(by_logger)
    assert {line["request_id"] for line in lines} == {"trace-42"}
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "request_id"} <= set(line)
        assert datetime.fromisoformat(line["timestamp"]).utcoffset().total_seconds() == 0
    assert by_logger["gstp.health"]["level"] == "WARNING"
    assert "broker" in by_logger["gstp.health"]["message"]
    assert by_logger["django.request"]["status"] == 503
    assert by_logger["django.request"]["path"] == "/readyz/"

    request_line = by_logger["gstp.request"]
    assert request_line["level"] == "INFO"
    assert request_line["method"] == "GET"
    assert request_line["path"] == "/readyz/"
    assert request_line["status"] == 503
    assert isinstance(request_line["duration_ms"], float)
    assert 0 < request_line["duration_ms"] < 5000


def test_a_line_outside_any_request_has_no_request_id():
    with json_log_lines() as lines:
        logging.getLogger("gstp.test").warning("between requests")

    assert lines[0]["message"] == "between requests"
    assert lines[0]["request_id"] is None


def test_an_exception_is_logged_in_the_same_line():
    with json_log_lines() as lines:
        try:
            raise ValueError("no such quarter")
        except ValueError:
            logging.getLogger("gstp.test").exception("import failed")

    assert len(lines) == 1
    assert "ValueError: no such quarter" in lines[0]["exc_info"]


# --- Celery tasks --------------------------------------------------------------------------------


@app.task(name="tests.hardening.log_a_line")
def log_a_line(text):
    logging.getLogger("gstp.test").info(text)


def test_a_tasks_lines_carry_its_task_id():
    with json_log_lines() as lines:
        result = log_a_line.apply(args=["inside the task"], task_id="task-7f3a")

    line = next(line for line in lines if line["message"] == "inside the task")
    assert line["task_id"] == result.id == "task-7f3a"
    assert line["task_name"] == "tests.hardening.log_a_line"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_writes_json_lines_with_the_task_id(transactional_db, tmp_path):
    # given: a real worker in production log format, on the test database and a queue of its own
    queue = f"hardening-{uuid.uuid4().hex[:8]}"
    env = fresh_environment(
        tmp_path,
        DATABASE_URL=worker_database_url(),
        CELERY_BROKER_URL=os.environ["REDIS_URL"],
        GSTP_LOG_FORMAT="json",
    )

    args = list(CeleryWorker.ARGS)
    args[args.index("-Q") + 1] = queue

    class Worker(CeleryWorker):
        ARGS = args

    worker = Worker(env=env, log_path=tmp_path / "worker.log", hostname=f"{queue}@localhost")
    try:
        worker.wait_ready()

        # when
        task_id = app.send_task("reviews.relay_outbox", queue=queue).id  # an empty outbox: nothing to do

        # then
        def succeeded():
            return [line for line in json_lines(worker.log()) if line.get("task_id") == task_id]

        lines = wait_until(succeeded, timeout=30, what="the worker's line about the task")
    finally:
        worker.stop()
        with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
            client.delete(queue, f"_kombu.binding.{queue}")
    assert "succeeded" in lines[-1]["message"]
    assert lines[-1]["task_name"] == "reviews.relay_outbox"
    assert lines[-1]["logger"] == "celery.app.trace"


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --- the production configuration, in a fresh process --------------------------------------------

ONE_REQUEST = textwrap.dedent(
    """
    import os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")
    import django
    django.setup()
    from django.test import Client
    response = Client().get("/api/v1/projects/", HTTP_HOST="gstp.example.gov.tw",
                            HTTP_X_FORWARDED_PROTO="https", HTTP_X_REQUEST_ID="prod-req-1")
    assert response.status_code == 401, response.status_code
    """
)


@pytest.mark.parametrize(
    "environment",
    [
        pytest.param(
            {"DEBUG": "0", "SECRET_KEY": GOOD_SECRET_KEY, "ALLOWED_HOSTS": "gstp.example.gov.tw"},
            id="production-default",
        ),
        pytest.param({"GSTP_LOG_FORMAT": "json", "ALLOWED_HOSTS": "gstp.example.gov.tw"}, id="asked-for"),
    ],
)
def test_production_logs_are_json_lines_on_stdout(tmp_path, environment):
    completed = run_fresh(tmp_path, "-c", ONE_REQUEST, STATIC_ROOT=str(tmp_path), **environment)

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    lines = [json.loads(line) for line in completed.stdout.splitlines()]  # every line is one JSON object
    loggers = {line["logger"]: line for line in lines}
    assert {"django.request", "gstp.request"} <= set(loggers)
    assert {line["request_id"] for line in lines if line["logger"] in {"django.request", "gstp.request"}} == {
        "prod-req-1"
    }
    assert loggers["gstp.request"]["status"] == 401
    assert loggers["gstp.request"]["method"] == "GET"
    assert loggers["gstp.request"]["path"] == "/api/v1/projects/"


def test_development_logs_are_text_on_stderr(tmp_path):
    completed = run_fresh(tmp_path, "-c", ONE_REQUEST, STATIC_ROOT=str(tmp_path), ALLOWED_HOSTS="gstp.example.gov.tw")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == ""
    assert re.search(r"INFO gstp\.request \[prod-req-1\] GET /api/v1/projects/ 401 [\d.]+ ms", completed.stderr)
