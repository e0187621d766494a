"""Constant-rate, open-loop traffic for bench/load.py: other systems and leads, mixed reads and report writes.

Request ``i`` is due at ``start + i / rate`` whatever happened to the ones before it (as wrk2 schedules);
``clients`` threads send them, each on a new connection (as a reverse proxy opens them to gunicorn's sync
workers). A response's time counts from when its request was due, so a stall is charged to every request
queued behind it, not hidden by a client that waited. 4 in 10 requests read a sub-project, 3 in 10 a report,
1 in 10 a page of 50 reports, 1 in 10 a page of 50 sub-projects, and 1 in 10 files a new quarterly report as
the lead agency's lead; only a 201 counts as a filed report.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field

PROJECT, REPORT = "GET /api/v1/projects/{id}/", "GET /api/v1/reports/{id}/"
REPORTS_PAGE, PROJECTS_PAGE = "GET /api/v1/reports/ (50)", "GET /api/v1/projects/ (50)"
FILE_REPORT = "POST /api/v1/reports/"
DETAIL_READS = (PROJECT, REPORT)
MIX = [PROJECT] * 4 + [REPORT] * 3 + [REPORTS_PAGE, PROJECTS_PAGE, FILE_REPORT]


@dataclass
class Traffic:
    port: int
    reader_token: str
    lead_token: str
    projects: tuple[int, int]  # first and last sub-project id
    reports: list[int]  # report ids to read
    period: str  # the quarter the writes file
    seed: int = 1
    answers: list[tuple[int, int]] = field(default_factory=list)  # (sub-project, status) of every write
    times: dict[str, list[float]] = field(default_factory=dict)  # seconds from due to answered, by request
    failures: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0

    def __post_init__(self):
        self._unfiled = itertools.count(self.projects[0])  # each write files the next sub-project's report
        self._lock = threading.Lock()

    def run(self, *, rate: float, seconds: float, clients: int, warm_up: float = 2.0) -> None:
        """Send ``rate`` requests a second for ``warm_up + seconds``; record those due after the warm-up."""
        total = int(rate * (warm_up + seconds))
        counted_from = int(rate * warm_up)
        picks = random.Random(self.seed)
        plan = [(MIX[picks.randrange(len(MIX))], picks.random()) for _ in range(total)]
        next_index = itertools.count()
        start = time.monotonic() + 0.2

        def client():
            while (i := next(next_index)) < total:
                due = start + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                name, pick = plan[i]
                status = self._send(name, pick)
                took = time.monotonic() - due
                if i >= counted_from:
                    self._record(name, status, took)

        threads = [threading.Thread(target=client, name=f"client-{n}", daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _send(self, name: str, pick: float) -> int:
        headers = {"Authorization": f"Token {self.reader_token}", "Connection": "close"}
        body = None
        if name == PROJECT:
            first, last = self.projects
            path = f"/api/v1/projects/{first + int(pick * (last - first + 1))}/"
        elif name == REPORT:
            path = f"/api/v1/reports/{self.reports[int(pick * len(self.reports))]}/"
        elif name == REPORTS_PAGE:
            path = "/api/v1/reports/?cursor=&page_size=50"
        elif name == PROJECTS_PAGE:
            path = "/api/v1/projects/?kind=subproject&page_size=50"
        else:
            with self._lock:
                project = next(self._unfiled)
            path = "/api/v1/reports/"
            headers.update({"Authorization": f"Token {self.lead_token}", "Content-Type": "application/json"})
            body = json.dumps(
                {
                    "project": project,
                    "period": self.period,
                    "planned_progress": "100.00",
                    "actual_progress": "96.00",
                    "budget_spent": "14400000",  # of 15,000,000 allocated by 2025Q4 (bench/scan.py)
                    "budget_payables": "150000",
                    "achievements": "完成系統上線與驗收。",
                    "delay_reasons": "整合測試較預期費時。",
                    "countermeasures": "增加測試人力。",
                    "progress_explanation": "依實際完成項目重新核算累計進度。",
                },
                ensure_ascii=False,
            ).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0  # no answer at all
        finally:
            connection.close()
        if body is not None:
            with self._lock:
                self.answers.append((project, status))
        return status

    def _record(self, name: str, status: int, took: float) -> None:
        expected = 201 if name == FILE_REPORT else 200
        with self._lock:
            self.times.setdefault(name, []).append(took)
            if status != expected:
                self.failures[name] = self.failures.get(name, 0) + 1
            if status >= 500 or status == 0:
                self.server_errors += 1


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at or above ``share`` of them."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1))]
