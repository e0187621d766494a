"""A constant-rate load on loopback: gunicorn serving GSTP, mixed reads and report writes sent to it.

On the scan benchmark's data (100,000 sub-projects, 800,000 reports), with the 2025Q4 reports of the
first sub-projects taken out so that leads can file them again during the run. For 60 seconds,
bench/traffic.py sends ``--clients`` x ``--rate`` requests a second, open-loop: each request leaves when it
is due and its time counts from then, so a slow answer cannot slow the load down. Prints each kind
of request's count, p50, p95 and failures, the error rate, and whether the reports in the database
are exactly the ones answered 201 (none lost, none doubled). Writes bench/out/load.json.

    bash .ci/run .venv/bin/python bench/load.py
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _setup
from django.db import connection
from scan import build
from traffic import DETAIL_READS, Traffic, percentile

from accounts.models import Role, User
from accounts.services import token_issue
from reviews.models import QuarterlyReport
from tests.support.processes import free_port

VENV_BIN = Path(sys.executable).parent
PERIOD = (2025, 4)


def prepare(subprojects: int, writable: int) -> dict:
    build(subprojects)
    first, last = subproject_range()
    with connection.cursor() as cursor:
        # Free the first sub-projects' last quarter, to be filed again under load (raw SQL: no tombstones).
        cursor.execute(
            "DELETE FROM reviews_quarterlyreport WHERE year = %s AND quarter = %s AND node_id BETWEEN %s AND %s",
            [*PERIOD, first, first + writable - 1],
        )
        cursor.execute("ANALYZE reviews_quarterlyreport")
    lead = User.objects.create(username="bench-lead", role=Role.LEAD, agency_id=1)
    return {
        "reader_token": token_issue(user=User.objects.get(username="bench")),
        "lead_token": token_issue(user=lead),
        "last": last,
        "reports": sample_of_reports(),
        "period": f"{PERIOD[0]}Q{PERIOD[1]}",
        "first": first,
    }


def sample_of_reports() -> list[int]:
    """10,000 report ids that exist, for the detail reads."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM reviews_quarterlyreport TABLESAMPLE SYSTEM (5) LIMIT 10000")
        return [row[0] for row in cursor.fetchall()]


def subproject_range() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM projects_plannode WHERE kind = 'subproject'")
        return cursor.fetchone()


def filed_reports(first: int, writable: int) -> set[int]:
    """The sub-projects whose freed quarter has a report again."""
    return set(
        QuarterlyReport.objects.filter(
            year=PERIOD[0], quarter=PERIOD[1], node_id__gte=first, node_id__lte=first + writable - 1
        ).values_list("node_id", flat=True)
    )


def traffic_for(port: int, env: dict, **options) -> Traffic:
    """The traffic of ``prepare``'s data (its tokens, sub-projects, reports and quarter) to the server on ``port``."""
    return Traffic(
        port=port,
        reader_token=env["reader_token"],
        lead_token=env["lead_token"],
        projects=(env["first"], env["last"]),
        reports=env["reports"],
        period=env["period"],
        **options,
    )


def server_env() -> dict:
    """The environment of a production web server: DEBUG off, JSON logs, persistent database connections."""
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "GSTP_LOG_FORMAT": "json",
        "DATABASE_CONN_MAX_AGE": "60",  # as in production: a worker keeps its connection between requests
    }


def serve(port: int, log, *, workers: int = 3, worker_class: str = "sync", threads: int = 1) -> subprocess.Popen:
    """gunicorn serving GSTP on 127.0.0.1:``port`` as in production (``server_env``), once it answers
    ``/healthz/``; stopped with ``os.killpg(server.pid, signal.SIGTERM)``."""
    env = server_env()
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "gstp.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--chdir",
            str(_setup.ROOT),
        ],
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("gunicorn did not start; see its log")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprojects", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="requests a second per client")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    args = parser.parse_args()
    _setup.require_postgres()
    writable = int(args.clients * args.rate * args.seconds * 0.2) + 500  # writes are a tenth; room to spare
    env = prepare(args.subprojects, writable)
    before = filed_reports(env["first"], writable)
    connection.close()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        with open(scratch / "gunicorn.log", "w") as log:
            port = free_port()
            server = serve(port, log, workers=args.workers)
            try:
                traffic = traffic_for(port, env)
                traffic.run(rate=args.clients * args.rate, seconds=args.seconds, clients=args.clients)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)

    requests = sum(len(times) for times in traffic.times.values())
    failures, server_errors = sum(traffic.failures.values()), traffic.server_errors
    answers = traffic.answers
    created = {project for project, status in answers if status == 201}
    filed = filed_reports(env["first"], writable) - before
    detail_p95 = max(percentile(traffic.times[name], 0.95) * 1000 for name in DETAIL_READS if name in traffic.times)
    figures = {
        "subprojects": args.subprojects,
        "seconds": args.seconds,
        "clients": args.clients,
        "target_rate_per_second": args.clients * args.rate,
        "achieved_rate_per_second": round(requests / args.seconds, 1),
        "requests": requests,
        "failures": failures,
        "server_errors": server_errors,
        "error_rate_percent": round(100 * failures / max(requests, 1), 3),
        "detail_read_p95_ms": round(detail_p95, 1),
        "writes_sent": len(answers),
        "reports_answered_201": len(created),
        "reports_filed_in_database": len(filed),
        "lost_writes": len(created - filed),
        "duplicated_or_unanswered_writes": len(filed - created),
        "detail_read_p50_ms": round(
            percentile([t for name in DETAIL_READS for t in traffic.times.get(name, [])], 0.5) * 1000, 1
        ),
        "by_request": {
            name: {
                "count": len(times),
                "failures": traffic.failures.get(name, 0),
                "p50_ms": round(percentile(times, 0.5) * 1000, 1),
                "p95_ms": round(percentile(times, 0.95) * 1000, 1),
            }
            for name, times in sorted(traffic.times.items())
        },
    }
    print(
        f"load: {requests:,} requests in {args.seconds} s, {args.clients} clients "
        f"({figures['achieved_rate_per_second']}/s of {figures['target_rate_per_second']:.0f}/s), "
        f"gunicorn with {args.workers} workers"
    )
    for name, row in figures["by_request"].items():
        print(
            f"  {name:34} {row['count']:6,}  p50 {row['p50_ms']:5.0f} ms  p95 {row['p95_ms']:5.0f} ms  "
            f"failed {row['failures']}"
        )
    print(f"error rate:            {figures['error_rate_percent']}% (goal: under 0.1%)")
    print(
        f"detail reads p95:      {detail_p95:.0f} ms, p50 {figures['detail_read_p50_ms']:.0f} ms "
        "(goal: p95 under 30 ms)"
    )
    print(
        f"reports answered 201:  {len(created):,} of {len(answers):,} sent; in the database: {len(filed):,}; "
        f"lost {figures['lost_writes']}, in the database without a 201 {figures['duplicated_or_unanswered_writes']}"
    )
    _setup.write_figures("load", figures)


if __name__ == "__main__":
    main()
