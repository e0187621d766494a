"""PostgreSQL restarted under load: requests meanwhile get a clean 503 JSON answer, requests after it succeed,
and nothing is half-written.

GSTP runs as in production: gunicorn with sync workers, DEBUG off, persistent database connections
(``DATABASE_CONN_MAX_AGE=60``, checked before reuse), against a PostgreSQL cluster of the test's own. Client
threads send a steady mix of reads (reports, the plan tree) and writes (a draft report with a milestone entry
and an indicator value, under an ``Idempotency-Key``) while the database is restarted twice:
``pg_ctl restart -m fast`` (every session ended, down for a fraction of a second), then ``pg_ctl stop -m
fast`` and ``start`` a moment later (down long enough that requests arrive while nothing listens).

Then, from the answers and the database itself: no answer is a 500 or an HTML page, none took more than a few
seconds, every failure is ``{"detail": ..., "code": "service_unavailable"}`` with ``Retry-After``; every
request sent while the database was up succeeded; every report answered 201 is there with all its rows, and no
report is there half-written (one answered 503 may exist whole, when its commit happened just as its
connection was cut).
"""

import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import psycopg
import pytest
import requests

from gstp.unavailable import RETRY_AFTER_SECONDS
from tests.faults.live_data import report_body
from tests.support.postgres import PostgresCluster, postgres_bin_dir
from tests.support.processes import REPO_ROOT
from tests.support.web import PYTHON, WebServer, production_environment

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 4
SUBPROJECTS = 40
HANG_LIMIT_SECONDS = 5.0
DOWN_SECONDS = 1.5
CALM_SECONDS = 1.0
PERIODS = [f"{year}Q{quarter}" for year in range(2021, 2026) for quarter in range(1, 5)]


@pytest.fixture
def cluster():
    if postgres_bin_dir() is None:
        pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl) to run a server of its own")
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def live(cluster, tmp_path):
    """(server, data): gunicorn on the migrated cluster, and the lead's key and sub-projects."""
    env = production_environment(database_url=cluster.url, var_dir=tmp_path / "var")
    output = tmp_path / "data.json"
    argv = [str(PYTHON), "-m", "tests.faults.live_data", "--migrate", "--subprojects", str(SUBPROJECTS)]
    done = subprocess.run([*argv, "--output", str(output)], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    data = json.loads(output.read_text(encoding="utf-8"))
    server = WebServer(env=env, log_path=tmp_path / "gunicorn.log")
    yield server, data
    server.stop()


@dataclass
class Answer:
    method: str
    path: str
    started: float
    seconds: float
    status: int | None = None
    content_type: str = ""
    body: object = None
    retry_after: str | None = None
    error: str = ""
    slot: tuple[int, str] | None = None
    key: str | None = None
    sent: dict | None = None


class Load:
    """``CLIENTS`` threads, each alternating a read and a write until ``stop()``; every answer is kept."""

    def __init__(self, server: WebServer, data: dict):
        self.url = server.url
        self.token = data["token"]
        self.rows = {row["project"]: row for row in data["subprojects"]}
        self.slots = iter([(project, period) for period in PERIODS for project in self.rows])
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def start(self):
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(HANG_LIMIT_SECONDS * 3)
        assert not any(thread.is_alive() for thread in self._threads), "a client is stuck on a request"

    def _next_slot(self):
        with self._lock:
            return next(self.slots)

    def _client(self, index):
        session = requests.Session()
        session.trust_env = False  # straight to 127.0.0.1, whatever proxy the environment names
        session.headers["Authorization"] = f"Token {self.token}"
        reads = ["/api/v1/reports/?page_size=20", "/api/v1/projects/?kind=subproject&page_size=20"]
        turn = index
        while not self._stop.is_set():
            turn += 1
            if turn % 2:
                self._send(session, "GET", reads[turn // 2 % 2])
            else:
                self._send(session, "POST", "/api/v1/reports/", slot=self._next_slot())
            time.sleep(0.01)

    def _send(self, session, method, path, slot=None):
        kwargs = {"timeout": HANG_LIMIT_SECONDS * 2}
        key = None
        if slot is not None:
            project, period = slot
            kwargs["json"] = report_body(self.rows[project], period)
            key = str(uuid.uuid4())
            kwargs["headers"] = {"Idempotency-Key": key}
        answer = Answer(method=method, path=path, started=time.monotonic(), seconds=0.0, slot=slot, key=key)
        answer.sent = kwargs.get("json")
        try:
            response = session.request(method, f"{self.url}{path}", **kwargs)
        except requests.RequestException as exc:
            answer.error = f"{type(exc).__name__}: {exc}"
        else:
            answer.status = response.status_code
            answer.content_type = response.headers.get("Content-Type", "")
            answer.retry_after = response.headers.get("Retry-After")
            try:
                answer.body = response.json()
            except ValueError:
                answer.body = response.text[:300]
        answer.seconds = time.monotonic() - answer.started
        with self._lock:
            self.answers.append(answer)


def reports_in(cluster) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """Every report, by (sub-project, period): (id, milestone entries, indicator values, history events)."""
    with psycopg.connect(cluster.connection_info) as conn:
        rows = conn.execute(
            """
            SELECT r.node_id, r.year || 'Q' || r.quarter, r.id,
                   (SELECT count(*) FROM reviews_reportmilestoneentry e WHERE e.report_id = r.id),
                   (SELECT count(*) FROM reviews_reportindicatorvalue v WHERE v.report_id = r.id),
                   (SELECT count(*) FROM reviews_reportevent h WHERE h.report_id = r.id)
            FROM reviews_quarterlyreport r
            """
        ).fetchall()
    return {(node, period): (pk, entries, values, events) for node, period, pk, entries, values, events in rows}


def test_postgresql_restarted_under_load(cluster, live, record_figures):
    server, data = live
    load = Load(server, data)
    up = []  # (from, to): while the database was up and accepting connections
    faults = []

    # when PostgreSQL is restarted twice while the clients read and write
    load.start()
    try:
        began = time.monotonic()
        time.sleep(CALM_SECONDS)
        restart_began = time.monotonic()
        up.append((began, restart_began))
        cluster.restart(mode="fast")
        back = time.monotonic()
        faults.append(("pg_ctl restart -m fast", restart_began, back))
        time.sleep(CALM_SECONDS)
        stop_began = time.monotonic()
        up.append((back, stop_began))
        cluster.stop_server(mode="fast")
        time.sleep(DOWN_SECONDS)
        cluster.start()
        back = time.monotonic()
        faults.append(("pg_ctl stop -m fast, start", stop_began, back))
        time.sleep(CALM_SECONDS * 1.5)
        up.append((back, time.monotonic()))
    finally:
        load.stop()

    answers = load.answers
    statuses = Counter(answer.status for answer in answers)
    slowest = max(answers, key=lambda answer: answer.seconds)
    print(
        f"{len(answers)} requests: {dict(statuses)}; slowest {slowest.seconds:.2f}s ({slowest.method} "
        f"{slowest.path} -> {slowest.status})"
    )
    for name, began_at, back_at in faults:
        during = Counter(
            answer.status
            for answer in answers
            if answer.started < back_at and answer.started + answer.seconds > began_at
        )
        print(f"{name}: database back after {back_at - began_at:.2f}s; requests meanwhile: {dict(during)}")

    stored = reports_in(cluster)
    created = {answer.slot: answer.body["id"] for answer in answers if answer.status == 201}
    refused_slots = {answer.slot for answer in answers if answer.status == 503 and answer.method == "POST"}
    record_figures(
        cases=len(answers),
        errors=sum(1 for a in answers if a.error or not (a.content_type or "").startswith("application/json")),
        server_errors=sum(1 for answer in answers if (answer.status or 0) >= 500 and answer.status != 503),
        lost=sum(1 for slot, pk in created.items() if stored.get(slot, (None,))[0] != pk),
        duplicated=sum(1 for slot, rows in stored.items() if rows[1:] != (1, 1, 1))
        + len(set(stored) - set(created) - refused_slots),
    )

    # then every request got an answer within a few seconds: a success or a clean 503, never a 500 or HTML
    assert [answer for answer in answers if answer.error] == []
    assert slowest.seconds < HANG_LIMIT_SECONDS
    assert set(statuses) <= {200, 201, 503}, [a for a in answers if a.status not in (200, 201, 503)][:3]
    assert all(answer.content_type.startswith("application/json") for answer in answers)
    unavailable = [answer for answer in answers if answer.status == 503]
    assert unavailable, "no request reached the server while the database was down: the fault was not injected"
    assert all(
        answer.body.get("code") == "service_unavailable"
        and answer.body.get("detail")
        and answer.retry_after == str(RETRY_AFTER_SECONDS)
        for answer in unavailable
    ), unavailable[:3]
    # and every request sent while the database was up, before the restarts and after each, succeeded
    calm = [
        answer for answer in answers if any(a <= answer.started and answer.started + answer.seconds <= b for a, b in up)
    ]
    assert len(calm) >= 4 * CLIENTS, len(calm)
    assert [answer for answer in calm if answer.status not in (200, 201)] == []
    after = [answer for answer in answers if answer.started >= up[-1][0]]
    assert after and all(answer.status in (200, 201) for answer in after)

    # and the database holds every report answered 201 with all its rows, and none half-written
    assert {slot: stored.get(slot, (None,))[0] for slot in created} == created
    assert {slot: rows[1:] for slot, rows in stored.items() if rows[1:] != (1, 1, 1)} == {}
    refused = {answer.slot: answer for answer in unavailable if answer.method == "POST"}
    written_anyway = set(stored) - set(created)
    assert written_anyway <= set(refused)
    print(
        f"{len(created)} reports created, {len(refused)} writes answered 503, "
        f"{len(written_anyway)} of them committed as their connection was cut"
    )
    # and such a report (committed, but its answer lost with the connection) is answered by the retry the 503
    # asks for: the first answer, replayed under the same Idempotency-Key
    session = requests.Session()
    session.trust_env = False
    for slot in written_anyway:
        answer = refused[slot]
        retry = session.post(
            f"{server.url}{answer.path}",
            json=answer.sent,
            headers={"Authorization": f"Token {data['token']}", "Idempotency-Key": answer.key},
            timeout=HANG_LIMIT_SECONDS,
        )
        assert (retry.status_code, retry.json()["id"]) == (201, stored[slot][0])
