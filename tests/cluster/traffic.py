"""Constant-rate traffic at the cluster's proxy, from the client host: every answer kept.

Requests are sent on schedule (an open loop: one every ``1/rate`` seconds, whatever the answers take), by a pool
of threads, half of them reads (reports, sub-projects) and half of them quarterly reports filed with an
``Idempotency-Key``, each for a (sub-project, quarter) of its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests.faults.live_data import report_body

READS = ("/api/v1/reports/?page_size=20", "/api/v1/projects/?kind=subproject&page_size=20")
PERIODS = [f"{year}Q{quarter}" for year in range(2021, 2026) for quarter in range(1, 5)]
TIMEOUT = 60


@dataclass
class Answer:
    method: str
    path: str
    sent_at: float
    seconds: float = 0.0
    status: int | None = None
    json: object = None
    served_by: str = ""
    replayed: bool = False
    retry_after: str | None = None
    error: str = ""
    key: str | None = None
    slot: tuple[int, str] | None = None
    body: dict | None = None

    @property
    def failed(self) -> bool:
        """No answer, not JSON, or a server error."""
        return self.status is None or self.status >= 500 or self.json is None


@dataclass
class Traffic:
    base_url: str
    data: dict
    rate: float
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self):
        self.rows = {row["project"]: row for row in self.data["subprojects"]}
        self._slots = iter([(project, period) for period in PERIODS for project in self.rows])
        self._lock = threading.Lock()
        self._local = threading.local()
        self.started = time.monotonic()

    def report_body(self, slot) -> dict:
        project, period = slot
        return report_body(self.rows[project], period)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
            session.headers["Authorization"] = f"Token {self.data['token']}"
        return session

    def send(self, method: str, path: str, *, body=None, key=None, slot=None) -> Answer:
        answer = Answer(method, path, time.monotonic() - self.started, key=key, slot=slot, body=body)
        headers = {"Idempotency-Key": key} if key else {}
        began = time.monotonic()
        try:
            response = self._session().request(
                method, self.base_url + path, json=body, headers=headers, timeout=TIMEOUT
            )
            answer.status = response.status_code
            answer.served_by = response.headers.get("X-Served-By", "")
            answer.replayed = response.headers.get("Idempotent-Replayed") == "true"
            answer.retry_after = response.headers.get("Retry-After")
            try:
                answer.json = response.json()
            except ValueError:
                answer.error = f"not JSON: {response.text[:200]!r}"
        except requests.RequestException as error:
            answer.error = f"{type(error).__name__}: {error}"
        answer.seconds = time.monotonic() - began
        with self._lock:
            self.answers.append(answer)
        return answer

    def one(self, turn: int) -> Answer:
        if turn % 2:
            return self.send("GET", READS[turn // 2 % 2])
        with self._lock:
            slot = next(self._slots)
        return self.send("POST", "/api/v1/reports/", body=self.report_body(slot), key=str(uuid.uuid4()), slot=slot)

    def run(self, seconds: float, *, threads: int = 32, on_tick=None) -> None:
        """Send ``rate`` requests a second for ``seconds``; ``on_tick(elapsed)`` is called between sends (the
        test's faults). Returns when every request sent has its answer."""
        interval = 1.0 / self.rate
        with ThreadPoolExecutor(threads) as pool:
            turn = 0
            self.started = start = time.monotonic()
            while (elapsed := time.monotonic() - start) < seconds:
                if on_tick is not None:
                    on_tick(elapsed)
                due = start + turn * interval
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
                pool.submit(self.one, turn)
                turn += 1

    def posts(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.method == "POST"]
