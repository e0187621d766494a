"""A caller's limit holds across web servers: two gunicorn servers on loopback, as two web hosts behind the load
balancer, sharing one PostgreSQL and one Redis, count one API key's requests together.

Each server runs as in production (DEBUG off, two sync workers) with the rates set small; requests alternate
between them, so whichever answers, the request past the limit is refused. A burst sent to both at once is
counted exactly too: every request adds to one counter with Redis' atomic INCR."""

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests
from django.core.management import call_command
from django.db import connection

from accounts.services import token_issue
from tests.accounts.factories import reader_user
from tests.support.web import WebServer, production_environment

# django_db: the test database is made for this module too (its keys are committed by a fixture, outside it).
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db]

LIMIT = 10
# An hour's window: the test takes seconds, and waits out the last ones of an hour rather than straddle two.
RATE = f"{LIMIT}/hour"
MARGIN_SECONDS = 30


def database_url() -> str:
    """The test database, as a URL for the servers."""
    db = connection.settings_dict
    return (
        f"postgres://{quote(db['USER'] or '', safe='')}:{quote(db['PASSWORD'] or '', safe='')}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, tmp_path_factory):
    """The two servers, started side by side, for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("hosts")
    env = production_environment(
        database_url=database_url(),
        var_dir=tmp_path / "var",
        GSTP_THROTTLE_READ_RATE=RATE,
    )
    env["REDIS_URL"] = os.environ["REDIS_URL"]  # the counts' cache (the broker stays in memory)
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(WebServer, env=env, log_path=tmp_path / f"gunicorn-{name}.log") for name in "ab"]
    started = [future.result() for future in starting if future.exception() is None]
    try:
        if len(started) < 2:
            raise next(future.exception() for future in starting if future.exception() is not None)
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def keys(servers, django_db_blocker):
    """Two readers' API keys, committed for the servers to see; the database is emptied after the module."""
    with django_db_blocker.unblock():
        yield [token_issue(user=reader_user(f"reader-{n}")) for n in range(2)]
        call_command("flush", "--no-input", verbosity=0)


def session_for(key: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # straight to 127.0.0.1, whatever proxy the environment names
    session.headers["Authorization"] = f"Token {key}"
    session.headers["Accept-Language"] = "en"
    return session


def inside_one_window():
    """Not in the last seconds of an hour: the counts must not start again halfway through the test."""
    left = 3600 - time.time() % 3600
    if left < MARGIN_SECONDS:
        time.sleep(left + 1)


def test_one_keys_limit_holds_whichever_server_answers(servers, keys):
    session = session_for(keys[0])
    inside_one_window()

    # when one key's requests alternate between the two servers
    answers = []
    with session:
        for i in range(LIMIT + 2):
            server = servers[i % 2]
            answers.append((server.port, session.get(f"{server.url}/api/v1/agencies/", timeout=10)))

    # then each server answered half of the first LIMIT, and both refuse the ones past it
    assert [response.status_code for _, response in answers] == [200] * LIMIT + [429, 429]
    assert Counter(port for port, _ in answers[:LIMIT]) == {servers[0].port: LIMIT // 2, servers[1].port: LIMIT // 2}
    assert {port for port, _ in answers[LIMIT:]} == {servers[0].port, servers[1].port}
    for _, refused in answers[LIMIT:]:
        assert refused.headers["Content-Type"] == "application/json"
        assert refused.json()["code"] == "throttled"
        assert refused.json()["detail"].startswith(f"Too many reads: the limit is {LIMIT} per hour. Try again in ")
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600


def test_a_burst_at_both_servers_at_once_lets_exactly_the_limit_through(servers, keys):
    inside_one_window()
    statuses = []
    lock = threading.Lock()

    def send(server):
        with session_for(keys[1]) as session:
            answer = session.get(f"{server.url}/api/v1/agencies/", timeout=20).status_code
        with lock:
            statuses.append(answer)

    # when 3 x LIMIT requests of one key arrive at both servers' four workers at once
    threads = [threading.Thread(target=send, args=(servers[i % 2],)) for i in range(3 * LIMIT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then exactly LIMIT were answered: no count was lost between the servers
    assert Counter(statuses) == {200: LIMIT, 429: 2 * LIMIT}
