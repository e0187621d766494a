"""Fixtures of the fault-injection tests: a Redis server of their own, Celery workers on the test database,
an HTTP receiver for webhooks, and a directory where the workers write the emails they send.

Every server here is started for the test and stopped after it; the servers the rest of the suite uses
(``DATABASE_URL``, ``REDIS_URL``) are never stopped, paused or restarted.
"""

import pytest
from django.db import connection

from tests.support.broker import use_broker
from tests.support.processes import RedisServer, redis_server_binary
from tests.support.workers import database_url, start_worker, worker_environment


@pytest.fixture
def record_figures(record_property):
    """Record what a fault test tried and found (``make reliability`` reads them from the JUnit report):
    ``cases``, ``errors`` (no answer, or not JSON), ``server_errors`` (5xx other than a clean 503), and the
    ``lost`` and ``duplicated`` writes, emails and deliveries."""

    def record(**values):
        for name, value in values.items():
            record_property(name, int(value))

    return record


@pytest.fixture(autouse=True)
def direct_to_loopback(no_proxy):
    """Every fault test's webhooks and workers reach 127.0.0.1 directly (``no_proxy``)."""


@pytest.fixture
def redis_server(request, tmp_path):
    """A ``redis-server`` of the test's own: stopping or pausing it disturbs nobody else."""
    if redis_server_binary() is None:
        pytest.skip("needs the redis-server binary to start a broker of its own")
    server = RedisServer(log_path=tmp_path / "redis.log")
    request.addfinalizer(server.stop)
    return server


@pytest.fixture
def broker(redis_server, settings):
    """The test process publishes to ``redis_server`` too (the API's outbox relay)."""
    with use_broker(redis_server.url, django_settings=settings):
        yield redis_server


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def workers(transactional_db, request, tmp_path, mail_dir):
    """``workers.start(broker_url, visibility_timeout=None, pool="solo")`` starts a worker on the test database
    and waits for it; every worker started is killed before the database is flushed. ``workers.started`` lists
    them, oldest first."""
    assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict["NAME"]

    class Workers:
        def __init__(self):
            self.started = []

        def start(self, broker_url, *, visibility_timeout=None, pool="solo"):
            env = worker_environment(
                database_url=database_url(connection.settings_dict),
                broker_url=broker_url,
                email_dir=mail_dir,
                visibility_timeout=visibility_timeout,
            )
            log_path = tmp_path / f"worker-{len(self.started) + 1}.log"
            worker = start_worker(env=env, log_path=log_path, pool=pool)
            request.addfinalizer(worker.kill)  # its work is checked by then: no need to wait for a warm shutdown
            self.started.append(worker)
            return worker

    return Workers()
