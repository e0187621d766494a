"""Traffic for bench/load.py: other systems and leads at a constant rate, mixed reads and report writes.

Each simulated client sends ``GSTP_LOAD_RATE`` requests a second (locust's ``constant_throughput``):
7 in 10 are detail reads (a sub-project, a report), 2 in 10 list pages of 50, and 1 in 10 files a new
quarterly report as the lead agency's lead. Only a 201 counts as a filed report.
"""

import itertools
import json
import os
import random

import gevent
from locust import FastHttpUser, constant_throughput, task

SECRETARIAT = os.environ["GSTP_LOAD_READER_TOKEN"]
LEAD = os.environ["GSTP_LOAD_LEAD_TOKEN"]
FIRST, LAST = (int(x) for x in os.environ["GSTP_LOAD_PROJECTS"].split("-"))
with open(os.environ["GSTP_LOAD_REPORTS"]) as _ids:
    REPORTS = [int(line) for line in _ids if line.strip()]
PERIOD = os.environ["GSTP_LOAD_PERIOD"]
RATE = float(os.environ.get("GSTP_LOAD_RATE", "2"))
CLIENTS = int(os.environ.get("GSTP_LOAD_CLIENTS", "20"))
_clients = itertools.count()
_unfiled = itertools.count(FIRST)  # each write files the next sub-project's report: no two the same
_answers = open(os.environ["GSTP_LOAD_ANSWERS"], "a", buffering=1)  # noqa: SIM115 - one line per write, kept open


class Client(FastHttpUser):
    # geventhttpclient rather than requests: the load generator shares the machine's two cores with
    # gunicorn and PostgreSQL, and should take as little of them as it can.
    wait_time = constant_throughput(RATE)
    # One connection per request, as a reverse proxy in front of gunicorn's sync workers opens them (the
    # workers close every connection after its response; a client that holds it open for the next
    # request waits on the close).
    default_headers = {"Authorization": f"Token {SECRETARIAT}", "Connection": "close"}

    def on_start(self):
        # Clients start together and keep their rate from their first request on: each first waits for
        # its own share of the period, so that the requests arrive evenly (CLIENTS * RATE a second, one
        # every 1 / (CLIENTS * RATE) s) instead of in bursts of every client at once.
        gevent.sleep(next(_clients) % CLIENTS / (CLIENTS * RATE))

    @task(4)
    def project(self):
        self.client.get(f"/api/v1/projects/{random.randint(FIRST, LAST)}/", name="GET /api/v1/projects/{id}/")

    @task(3)
    def report(self):
        self.client.get(f"/api/v1/reports/{random.choice(REPORTS)}/", name="GET /api/v1/reports/{id}/")

    @task(1)
    def reports_page(self):
        self.client.get("/api/v1/reports/?cursor=&page_size=50", name="GET /api/v1/reports/ (50)")

    @task(1)
    def projects_page(self):
        self.client.get("/api/v1/projects/?kind=subproject&page_size=50", name="GET /api/v1/projects/ (50)")

    @task(1)
    def file_report(self):
        project = next(_unfiled)
        body = {
            "project": project,
            "period": PERIOD,
            "planned_progress": "100.00",
            "actual_progress": "96.00",
            "budget_allocated": "30000000",
            "budget_spent": "29000000",
            "achievements": "完成系統上線與驗收。",
            "delay_reasons": "整合測試較預期費時。",
            "countermeasures": "增加測試人力。",
            "progress_explanation": "依實際完成項目重新核算累計進度。",
        }
        with self.client.post(
            "/api/v1/reports/",
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Authorization": f"Token {LEAD}", "Content-Type": "application/json", "Connection": "close"},
            name="POST /api/v1/reports/",
            catch_response=True,
        ) as response:
            _answers.write(f"{project} {response.status_code}\n")
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
