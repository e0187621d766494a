"""Constant-rate, open-loop traffic for bench/load.py and bench/capacity.py: other systems and leads, mixed reads
and report writes.

Request ``i`` is due at ``start + i / rate`` whatever happened to the ones before it (as wrk2 schedules), sent
by bench/loadgen.py with at most ``clients`` requests in flight, each on a new connection (as a reverse proxy
opens them to gunicorn's sync workers) unless ``keep_alive``. A response's time counts from when its request
was due, so a stall is charged to every request queued behind it, not hidden by a client that waited. 4 in 10
requests read a sub-project, 3 in 10 a report, 1 in 10 a page of 50 reports, 1 in 10 a page of 50 sub-projects,
and 1 in 10 files a new quarterly report as the lead agency's lead; only a 201 counts as a filed report.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field

from loadgen import Call, Generator, Run, percentile, request_bytes

PROJECT, REPORT = "GET /api/v1/projects/{id}/", "GET /api/v1/reports/{id}/"
REPORTS_PAGE, PROJECTS_PAGE = "GET /api/v1/reports/ (50)", "GET /api/v1/projects/ (50)"
FILE_REPORT = "POST /api/v1/reports/"
DETAIL_READS = (PROJECT, REPORT)
MIX = [PROJECT] * 4 + [REPORT] * 3 + [REPORTS_PAGE, PROJECTS_PAGE, FILE_REPORT]
DETAIL_MIX = [PROJECT] * 4 + [REPORT] * 3  # the detail reads alone, in the mixed traffic's proportions

__all__ = ["DETAIL_MIX", "DETAIL_READS", "FILE_REPORT", "MIX", "Traffic", "percentile"]


@dataclass
class Traffic:
    port: int
    reader_token: str
    lead_token: str
    projects: tuple[int, int]  # first and last sub-project id
    reports: list[int]  # report ids to read
    period: str  # the quarter the writes file
    seed: int = 1
    keep_alive: bool = False  # use a connection again when the server keeps it open
    answers: list[tuple[int, int]] = field(default_factory=list)  # (sub-project, status) of every write
    times: dict[str, list[float]] = field(default_factory=dict)  # seconds from due to answered, by request
    failures: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0

    def __post_init__(self):
        self._unfiled = itertools.count(self.projects[0])  # each write files the next sub-project's report
        self._picks = random.Random(self.seed)
        self.writes_planned = 0

    def run(self, *, rate: float, seconds: float, clients: int, warm_up: float = 2.0) -> Run:
        """Send ``rate`` requests a second for ``warm_up + seconds``; record those due after the warm-up."""
        total = int(rate * (warm_up + seconds))
        counted_from = int(rate * warm_up)
        calls, filing = self.plan(total)
        run = Generator(self.port, connections=clients, timeout=30).open_loop(calls, rate)
        for i, answer in enumerate(run.answers):
            if filing[i] is not None:
                self.answers.append((filing[i], answer.status))
            if i >= counted_from:
                self._record(answer.name, answer.status, answer.seconds)
        return run

    def plan(self, count: int, mix: list[str] = MIX) -> tuple[list[Call], list[int | None]]:
        """``count`` calls drawn from ``mix``, and the sub-project each files a report for (None: a read)."""
        calls, filing = [], []
        for _ in range(count):
            call, project = self.call(mix[self._picks.randrange(len(mix))], self._picks.random())
            calls.append(call)
            filing.append(project)
        return calls, filing

    def call(self, name: str, pick: float, headers: dict[str, str] | None = None) -> tuple[Call, int | None]:
        """The request ``name`` for ``pick`` (0 <= pick < 1 chooses the object) and the sub-project it files for."""
        return self.call_to(name, self.path(name, pick), headers)

    def path(self, name: str, pick: float) -> str:
        if name == PROJECT:
            first, last = self.projects
            return f"/api/v1/projects/{first + int(pick * (last - first + 1))}/"
        if name == REPORT:
            return f"/api/v1/reports/{self.reports[int(pick * len(self.reports))]}/"
        if name == REPORTS_PAGE:
            return "/api/v1/reports/?cursor=&page_size=50"
        if name == PROJECTS_PAGE:
            return "/api/v1/projects/?kind=subproject&page_size=50"
        return "/api/v1/reports/"

    def call_to(self, name: str, path: str, headers: dict[str, str] | None = None) -> tuple[Call, int | None]:
        headers = {"Authorization": f"Token {self.reader_token}", **(headers or {})}
        host, close = f"127.0.0.1:{self.port}", not self.keep_alive
        if name != FILE_REPORT:
            return Call(name, request_bytes("GET", path, headers, host=host, close=close)), None
        project = next(self._unfiled)
        self.writes_planned += 1
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
        return Call(name, request_bytes("POST", path, headers, body, host=host, close=close), expected=201), project

    def _record(self, name: str, status: int, took: float) -> None:
        expected = 201 if name == FILE_REPORT else 200
        self.times.setdefault(name, []).append(took)
        if status != expected:
            self.failures[name] = self.failures.get(name, 0) + 1
        if status >= 500 or status == 0:
            self.server_errors += 1
