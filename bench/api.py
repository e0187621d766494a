"""The read API at scale, against its floor: the same rows fetched by hand through psycopg and dumped to JSON.

100,000 sub-projects and 800,000 reports (the scan benchmark's data). Measures, in one run:
- a 500-row list page of reports (cursor pages) and of projects, against the floor;
- a JSON Lines export of 50,000 reports (6,250 sub-projects' 8 quarters), against the floor;
- the 2,000th cursor page of reports against the first.
Prints the figures and ratios; writes bench/out/api.json.

    bash .ci/run make bench
"""

import argparse
import json
import time
import urllib.parse

import _setup
from django.db import connection
from django.test import Client
from scan import build

from accounts.models import User
from accounts.services import token_issue


def timed(function, repeat=3):
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def floor(sql, params=()):
    """The same rows as the API returns, through psycopg, dumped as JSON: what any API costs at least."""

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            columns = [column.name for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return json.dumps(rows, default=str)

    return run


REPORT_COLUMNS = (
    "id, node_id, year, quarter, status, version, planned_progress, actual_progress, budget_allocated, budget_spent,"
    " achievements, delay_reasons, countermeasures, progress_explanation, due_on, submitted_on_time,"
    " first_submitted_at, submitted_at, returned_at, return_reason, accepted_at, created_at, updated_at"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprojects", type=int, default=100_000)
    args = parser.parse_args()
    _setup.require_postgres()
    build(args.subprojects)
    user = User.objects.get(username="bench")
    clients = [Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}", SERVER_NAME="localhost")]

    def get(url):
        response = clients[-1].get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    list_page, _ = timed(lambda: get("/api/v1/reports/?cursor=&page_size=500"))
    list_floor, _ = timed(floor(f"SELECT {REPORT_COLUMNS} FROM reviews_quarterlyreport ORDER BY id LIMIT 500"))
    projects_page, _ = timed(lambda: get("/api/v1/projects/?cursor=&page_size=500"))

    # The 2,000th cursor page: walk there once, then time that page against the first.
    url = "/api/v1/reports/?cursor=&page_size=100"
    first_page_time, _ = timed(lambda: get(url))
    for _ in range(1999):
        url = get(url).json()["next"]
    url = urllib.parse.urlsplit(url)
    url = f"{url.path}?{url.query}"
    deep_page_time, _ = timed(lambda: get(url))

    # The export: 6,250 sub-projects' 8 quarters are 50,000 reports.
    build(6_250)
    clients.append(
        Client(
            HTTP_AUTHORIZATION=f"Token {token_issue(user=User.objects.get(username='bench'))}", SERVER_NAME="localhost"
        )
    )

    def export():
        response = get("/api/v1/exports/reports/?format=jsonl")
        return sum(chunk.count(b"\n") for chunk in response.streaming_content)

    export_time, export_lines = timed(export, repeat=1)
    export_floor, _ = timed(floor(f"SELECT {REPORT_COLUMNS} FROM reviews_quarterlyreport ORDER BY id"), repeat=1)

    figures = {
        "subprojects": args.subprojects,
        "reports_list_500_seconds": round(list_page, 4),
        "reports_list_floor_seconds": round(list_floor, 4),
        "reports_list_ratio": round(list_page / list_floor, 2),
        "projects_list_500_seconds": round(projects_page, 4),
        "export_50000_seconds": round(export_time, 2),
        "export_rows": export_lines,
        "export_floor_seconds": round(export_floor, 2),
        "export_ratio": round(export_time / export_floor, 2),
        "page_1_seconds": round(first_page_time, 4),
        "page_2000_seconds": round(deep_page_time, 4),
        "page_2000_ratio": round(deep_page_time / first_page_time, 2),
    }
    print(
        f"500-row report page:   {list_page * 1000:.0f} ms, floor {list_floor * 1000:.0f} ms, "
        f"{figures['reports_list_ratio']}x (goal: within 3x)"
    )
    print(f"500-row project page:  {projects_page * 1000:.0f} ms")
    print(
        f"export of {export_lines:,} reports: {export_time:.2f} s, floor {export_floor:.2f} s, "
        f"{figures['export_ratio']}x (goal: within 2x)"
    )
    print(
        f"2,000th cursor page:   {deep_page_time * 1000:.0f} ms, first {first_page_time * 1000:.0f} ms, "
        f"{figures['page_2000_ratio']}x (goal: within 1.5x)"
    )
    _setup.write_figures("api", figures)


if __name__ == "__main__":
    main()
