"""The read API at scale, against its floor: the same SQL the API runs, through psycopg, rows dumped with orjson.

100,000 sub-projects and 800,000 reports (the scan benchmark's data). Measures, in one run:
- a 500-row list page of reports and of projects (cursor pages), against the floor: the very statements
  the page ran, executed again through psycopg with the rows turned into dicts and dumped by orjson;
- a 500-row projects page as of a day a year back (``?as_of=``, from the recorded history) against the
  same page now;
- a JSON Lines export of 50,000 reports (6,250 sub-projects' 8 quarters), against the floor;
- the 2,000th cursor page of reports against the first;
- the export's peak Python memory (tracemalloc) for 10,000 and for 100,000 rows: flat means the same.
Prints the figures and ratios; writes bench/out/api.json.

    bash .ci/run make bench
"""

import argparse
import datetime
import re
import time
import tracemalloc
import urllib.parse

import _setup
import orjson
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from scan import build

from accounts.models import User
from accounts.services import token_issue


def timed(function, repeat=5):
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def floor_of(statements):
    """What any API costs at least for these statements: run them, rows as dicts, dumped by orjson."""

    def run():
        out = []
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                columns = [column.name for column in cursor.description]
                out.append(orjson.dumps([dict(zip(columns, row, strict=True)) for row in cursor], default=str))
        return out

    return run


def statements_of(request):
    """The SQL a request runs (with its parameters written in), to replay as its floor."""
    with CaptureQueriesContext(connection) as captured:
        request()
    statements = [query["sql"] for query in captured.captured_queries]
    # A streamed export reads through a server-side cursor: replay the SELECT it was declared for.
    statements = [re.sub(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH(OUT)? HOLD FOR ', "", sql) for sql in statements]
    return [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]


def export_peak(client, url) -> tuple[int, int]:
    """Rows streamed and the peak of Python memory allocated meanwhile, in bytes."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    response = client.get(url)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return lines, peak


def bench_client() -> Client:
    """A test client with a new API key of the data's ``bench`` user (build() starts the data afresh)."""
    key = token_issue(user=User.objects.get(username="bench"))
    return Client(HTTP_AUTHORIZATION=f"Token {key}", SERVER_NAME="localhost")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprojects", type=int, default=100_000)
    args = parser.parse_args()
    _setup.require_postgres()
    build(args.subprojects)
    clients = [bench_client()]

    def get(url):
        response = clients[-1].get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    def page(url):
        return lambda: get(url)

    reports_url = "/api/v1/reports/?cursor=&page_size=500"
    list_page, _ = timed(page(reports_url))
    list_floor, _ = timed(floor_of(statements_of(page(reports_url))))
    projects_url = "/api/v1/projects/?cursor=&page_size=500"
    projects_page, _ = timed(page(projects_url))
    projects_floor, _ = timed(floor_of(statements_of(page(projects_url))))
    # The same page as of a day a year back, from the recorded history: cursor pages (as above), and numbered
    # pages, whose total counts every sub-project as of then.
    year_back = (timezone.localdate() - datetime.timedelta(days=365)).isoformat()
    as_of = {}
    for kind, url in (("cursor", projects_url), ("numbered", "/api/v1/projects/?page_size=500")):
        current, _ = timed(page(url))
        past, past_body = timed(page(f"{url}&as_of={year_back}"))
        assert len(past_body.json()["results"]) == 500
        as_of[kind] = (current, past)

    # The 2,000th cursor page: walk there once, then time that page against the first.
    url = "/api/v1/reports/?cursor=&page_size=100"
    first_page_time, _ = timed(page(url))
    for _ in range(1999):
        url = get(url).json()["next"]
    url = urllib.parse.urlsplit(url)
    url = f"{url.path}?{url.query}"
    deep_page_time, _ = timed(page(url))

    one_quarter = "/api/v1/exports/reports/?format=jsonl&period=2024Q1"
    memory = {args.subprojects: export_peak(clients[-1], one_quarter)}

    # The export: 6,250 sub-projects' 8 quarters are 50,000 reports.
    build(6_250)
    clients.append(bench_client())
    memory[6_250] = export_peak(clients[-1], one_quarter)

    def export():
        response = get("/api/v1/exports/reports/?format=jsonl")
        return sum(chunk.count(b"\n") for chunk in response.streaming_content)

    export_time, export_lines = timed(export, repeat=1)
    export_floor, _ = timed(floor_of(statements_of(export)), repeat=1)
    memory[export_lines] = export_peak(clients[-1], "/api/v1/exports/reports/?format=jsonl")
    (small_rows, small_peak), (large_rows, large_peak) = memory[6_250], memory[args.subprojects]

    figures = {
        "subprojects": args.subprojects,
        "reports_list_500_seconds": round(list_page, 4),
        "reports_list_floor_seconds": round(list_floor, 4),
        "reports_list_ratio": round(list_page / list_floor, 2),
        "projects_list_500_seconds": round(projects_page, 4),
        "projects_list_floor_seconds": round(projects_floor, 4),
        "projects_list_ratio": round(projects_page / projects_floor, 2),
        "projects_as_of_date": year_back,
        **{
            f"projects_{kind}_{name}": value
            for kind, (current, past) in as_of.items()
            for name, value in (
                ("current_500_seconds", round(current, 4)),
                ("as_of_500_seconds", round(past, 4)),
                ("as_of_ratio", round(past / current, 2)),
            )
        },
        "export_50000_seconds": round(export_time, 2),
        "export_rows": export_lines,
        "export_floor_seconds": round(export_floor, 2),
        "export_ratio": round(export_time / export_floor, 2),
        "page_1_seconds": round(first_page_time, 4),
        "page_2000_seconds": round(deep_page_time, 4),
        "page_2000_ratio": round(deep_page_time / first_page_time, 2),
        "export_peak_bytes": {str(rows): peak for rows, peak in sorted(memory.values())},
        "export_peak_ratio": round(large_peak / small_peak, 2),
    }
    print(
        f"500-row report page:   {list_page * 1000:.0f} ms, floor {list_floor * 1000:.0f} ms, "
        f"{figures['reports_list_ratio']}x (goal: within 3x)"
    )
    print(
        f"500-row project page:  {projects_page * 1000:.0f} ms, floor {projects_floor * 1000:.0f} ms, "
        f"{figures['projects_list_ratio']}x (goal: within 3x)"
    )
    for kind, (current, past) in as_of.items():
        print(
            f"500-row project page as of {year_back} ({kind}): {past * 1000:.0f} ms, now {current * 1000:.0f} ms, "
            f"{past / current:.2f}x (goal: within 2x)"
        )
    print(
        f"export of {export_lines:,} reports: {export_time:.2f} s, floor {export_floor:.2f} s, "
        f"{figures['export_ratio']}x (goal: within 2x)"
    )
    print(
        f"2,000th cursor page:   {deep_page_time * 1000:.0f} ms, first {first_page_time * 1000:.0f} ms, "
        f"{figures['page_2000_ratio']}x (goal: within 1.5x)"
    )
    peaks = ", ".join(f"{rows:,} rows {peak / 2**20:.1f} MiB" for rows, peak in sorted(memory.values()))
    print(
        f"export memory peak:    {peaks}; {large_rows:,} / {small_rows:,} rows: "
        f"{figures['export_peak_ratio']}x (goal: flat)"
    )
    _setup.write_figures("api", figures)


if __name__ == "__main__":
    main()
