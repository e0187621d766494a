"""Where a read's time goes: the hot reads profiled under load, and what each layer of a request costs.

On the scan benchmark's data (20,000 sub-projects, 160,000 reports by default), as the secretariat's API key:
a report and a sub-project read by id (``/api/v1/reports/{id}/``, ``/api/v1/projects/{id}/``), and 500-row
pages (``/api/v1/reports/?cursor=&page_size=500``, ``/api/v1/projects/?kind=subproject&cursor=&page_size=500``,
and the same pages numbered, with their totals: ``?page_size=500`` without ``cursor``).

1. Layers, in one process: the production settings of bench/load.py's server (DEBUG off, JSON logs, persistent
   connection) and the production middleware stack, each request sent through Django's WSGI handler. The
   boundaries of every layer are timed (each middleware, authentication, throttling and its Redis count,
   scoping, filters, the rows made into objects, serialization, rendering, logging, the ETag's md5, and the
   database work: the ORM compiling SQL, each statement in ``cursor.execute``, psycopg fetching and decoding
   the rows): each moment is charged to the innermost layer open then, so a middleware's figure is its own
   work, not the layers inside it, and the database work a layer asks for is counted as database work (and
   also listed by the layer that asked). Prints microseconds per request and shares, and the statements each
   read runs.
2. Under load: gunicorn as bench/load.py starts it, a closed loop of ``wrk`` (8 connections) on the detail
   reads, then on the cursor pages, while ``py-spy record`` samples the workers; the flame graphs go to
   bench/out/profile-detail.svg and bench/out/profile-page.svg. py-spy leaves out the time a worker waits on
   a socket (PostgreSQL, Redis, the next request) unless ``--idle``: the graphs show where the CPU goes.

Writes bench/out/profile.json. py-spy reads another process's memory: run as root.

    bash .ci/run .venv/bin/python bench/profile_reads.py
    bash .ci/run .venv/bin/python bench/profile_reads.py --subprojects 2000 --requests 50 --seconds 5
"""

import argparse
import functools
import io
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _setup
from django.db import connection
from load import VENV_BIN, sample_of_reports, serve, server_env, subproject_range
from loadgen import wrk
from scan import build

from accounts.models import User
from accounts.services import token_issue
from tests.support.processes import free_port

OUT = _setup.ROOT / "bench" / "out"
DETAIL, PAGE = "detail", "page"
# What each read asks for, and in which closed loop it runs (the numbered page only in the layer table).
READS = {
    "report": DETAIL,
    "project": DETAIL,
    "reports page": PAGE,
    "projects page": PAGE,
    "reports page, numbered": None,
    "projects page, numbered": None,
}
REPORTS_PAGE = "/api/v1/reports/?cursor=&page_size=500"
PROJECTS_PAGE = "/api/v1/projects/?kind=subproject&cursor=&page_size=500"
NUMBERED_REPORTS_PAGE = "/api/v1/reports/?page_size=500"
NUMBERED_PROJECTS_PAGE = "/api/v1/projects/?kind=subproject&page_size=500"

HANDLER = "Django's WSGI handler (request, response, signals)"
VIEW_CALL = "Django's view call (view middleware hooks)"
SQL = "SQL (in cursor.execute)"
COMPILE = "ORM: compiling SQL"
FETCH = "rows fetched and decoded (psycopg)"
# The database work any layer may do: also charged to the layer that asked for it, in ``by_caller``.
DATABASE_WORK = frozenset({SQL, COMPILE, FETCH})


# The layers grouped as bench/out/profile.json's ``summary`` and the README's table have them.
SUMMARY = [
    ("authentication (the API key lookup, own work)", lambda layer: layer.startswith("authentication")),
    ("throttling (Redis INCR)", lambda layer: layer.startswith("throttling")),
    ("scoping (the selector's queryset, get_object)", lambda layer: layer.startswith("scoping")),
    ("filters (django-filter)", lambda layer: layer.startswith("filters")),
    ("the page's rows made into objects", lambda layer: layer.startswith("pagination")),
    ("the view's extras (baselines)", lambda layer: layer.startswith("get_serializer")),
    ("serialization", lambda layer: layer.startswith("serialization")),
    ("rendering", lambda layer: layer.startswith("rendering")),
    ("ETag (md5 of the body)", lambda layer: layer.startswith("ETag") or "ConditionalGet" in layer),
    ("Last-Modified", lambda layer: "LastModified" in layer),
    ("request id and log line", lambda layer: "RequestId" in layer or layer.startswith("logging")),
    (
        "the other middlewares",
        lambda layer: layer.startswith("middleware")
        and not any(name in layer for name in ("ConditionalGet", "LastModified", "RequestId")),
    ),
    ("Django and DRF (handler, URLs, dispatch)", lambda layer: layer.startswith(("Django", "URL", "DRF", "the view"))),
    (COMPILE, lambda layer: layer == COMPILE),
    (SQL, lambda layer: layer == SQL),
    (FETCH, lambda layer: layer == FETCH),
]


def summary(rows: list[dict]) -> list[dict]:
    return [
        {
            "group": group,
            "us": round(sum(row["us"] for row in rows if belongs(row["layer"])), 1),
            "share": round(sum(row["share"] for row in rows if belongs(row["layer"])), 4),
        }
        for group, belongs in SUMMARY
    ]


# -- 1. Layers -------------------------------------------------------------------------------------------------


class Layers:
    """Wall time split among nested layers: each moment is charged to the innermost layer open then."""

    def __init__(self):
        self.stack: list[str] = []
        self.callers: list[str] = []  # for each layer open, the nearest one around it that is not database work
        self.mark = 0.0
        self.reset()

    def reset(self):
        self.own: dict[str, float] = {}  # seconds, in the order the layers were first entered
        self.by_caller: dict[tuple[str, str], float] = {}  # (database work, the layer that asked for it): seconds
        self.statements: list[tuple[str, str, float]] = []  # (the layer that ran it, SQL, seconds)

    def _charge(self, now: float) -> None:
        top = self.stack[-1]
        self.own[top] += now - self.mark
        if top in DATABASE_WORK:
            key = (top, self.callers[-1])
            self.by_caller[key] = self.by_caller.get(key, 0.0) + now - self.mark
        self.mark = now

    def enter(self, name: str) -> None:
        now = time.perf_counter()
        caller = "(outside a request)"
        if self.stack:
            self._charge(now)
            caller = self.callers[-1] if self.stack[-1] in DATABASE_WORK else self.stack[-1]
        self.stack.append(name)
        self.callers.append(caller)
        self.own.setdefault(name, 0.0)
        self.mark = now

    def leave(self) -> None:
        self._charge(time.perf_counter())
        self.stack.pop()
        self.callers.pop()

    def wrap(self, name: str, function):
        def timed(*args, **kwargs):
            self.enter(name)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        if callable(getattr(function, "__get__", None)) and hasattr(function, "__name__"):
            timed = functools.wraps(function)(timed)
        return timed

    def execute(self, execute, sql, params, many, context):
        """A database execute wrapper: the statement's time, and the layer that ran it."""
        started = time.perf_counter()
        self.enter(SQL)
        caller = self.callers[-1]
        try:
            return execute(sql, params, many, context)
        finally:
            self.leave()
            self.statements.append((caller, sql, time.perf_counter() - started))


def label(middleware) -> str:
    kind = middleware if hasattr(middleware, "__qualname__") else type(middleware)  # a function or an instance
    return f"middleware {kind.__module__}.{kind.__qualname__.split('.<locals>')[0]}"


def instrumented_application(layers: Layers, paths: list[str]):
    """GSTP's WSGI application as gunicorn loads it, with every layer's boundaries timed."""
    import psycopg
    from django.core.handlers import base
    from django.db.models.sql import compiler as sql_compiler
    from django.middleware import http as django_http
    from django.urls import resolve
    from rest_framework import generics, response, serializers, views

    from accounts.authentication import ApiKeyAuthentication, SessionAuthentication
    from gstp.throttles import CallerRateThrottle

    # Django builds the middleware chain through this function: each middleware, and innermost the view call.
    convert = base.convert_exception_to_response

    def timed_convert(get_response):
        inner = isinstance(getattr(get_response, "__self__", None), base.BaseHandler)
        return convert(layers.wrap(VIEW_CALL if inner else label(get_response), get_response))

    base.convert_exception_to_response = timed_convert
    try:
        import gstp.wsgi

        application = gstp.wsgi.application
    finally:
        base.convert_exception_to_response = convert
    # process_view hooks run inside the view call: charged to their middleware.
    application._view_middleware = [layers.wrap(label(hook.__self__), hook) for hook in application._view_middleware]
    base.BaseHandler.resolve_request = layers.wrap("URL resolving", base.BaseHandler.resolve_request)

    views.APIView.dispatch = layers.wrap(
        "DRF view (request, negotiation, permissions, headers)", views.APIView.dispatch
    )
    for authentication in (ApiKeyAuthentication, SessionAuthentication):
        authentication.authenticate = layers.wrap("authentication (API key lookup)", authentication.authenticate)
    CallerRateThrottle.allow_request = layers.wrap("throttling", CallerRateThrottle.allow_request)
    CallerRateThrottle._count = layers.wrap("throttling: the count in Redis (INCR)", CallerRateThrottle._count)
    for view in {resolve(path.split("?")[0]).func.cls for path in paths}:
        view.get_queryset = layers.wrap("scoping: the selector's queryset", view.get_queryset)
        view.retrieve = layers.wrap("the view's retrieve / list", view.retrieve)
        view.list = layers.wrap("the view's retrieve / list", view.list)
        view.get_serializer = layers.wrap("get_serializer (and what the view attaches first)", view.get_serializer)
    for compiler in (sql_compiler.SQLCompiler, sql_compiler.SQLAggregateCompiler):
        compiler.as_sql = layers.wrap(COMPILE, compiler.as_sql)
    for fetch in ("fetchone", "fetchmany", "fetchall"):
        setattr(psycopg.Cursor, fetch, layers.wrap(FETCH, getattr(psycopg.Cursor, fetch)))
    generics.GenericAPIView.filter_queryset = layers.wrap(
        "filters (django-filter)", generics.GenericAPIView.filter_queryset
    )
    generics.GenericAPIView.get_object = layers.wrap(
        "scoping: get_object (rows to objects)", generics.GenericAPIView.get_object
    )
    generics.GenericAPIView.paginate_queryset = layers.wrap(
        "pagination: the page's rows to objects", generics.GenericAPIView.paginate_queryset
    )
    for serializer in (serializers.Serializer, serializers.ListSerializer):
        serializer.data = property(layers.wrap("serialization (serializer.data)", serializer.data.fget))
    response.Response.rendered_content = property(
        layers.wrap("rendering (the renderer)", response.Response.rendered_content.fget)
    )
    django_http.set_response_etag = layers.wrap("ETag: md5 of the body", django_http.set_response_etag)
    logging.Logger.handle = layers.wrap("logging (request log line)", logging.Logger.handle)
    connection.execute_wrappers.append(layers.execute)
    return application


def environ_for(path: str, token: str) -> dict:
    path, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def send(application, layers: Layers, environ: dict) -> str:
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    layers.enter(HANDLER)
    try:
        body = application(environ, start_response)
        try:
            for _chunk in body:
                pass
        finally:
            body.close()
    finally:
        layers.leave()
    return answer["status"]


def statement_summary(sql: str) -> str:
    """``SELECT reviews_quarterlyreport JOIN projects_plannode WHERE ...``: what a statement reads, briefly."""
    verb = sql.lstrip().split(None, 1)[0].upper()
    tables = re.findall(r'(?:FROM|JOIN|UPDATE|INTO)\s+"?(\w+)"?', sql, flags=re.I)
    seen = list(dict.fromkeys(tables))
    extra = " COUNT(*)" if "COUNT(*)" in sql.upper() else ""
    return f"{verb}{extra} {', '.join(seen)}"


def measure_layers(spec: dict) -> dict:
    """The layer table of each read: runs in a process of its own, started with the server's environment."""
    layers = Layers()
    every_path = [path for paths in spec["reads"].values() for path in paths]
    application = instrumented_application(layers, every_path)
    results = {}
    for name, paths in spec["reads"].items():
        picks = random.Random(1)
        for _ in range(spec["warm_up"]):
            send(application, layers, environ_for(picks.choice(paths), spec["token"]))
        layers.reset()
        requests = spec["requests"]
        first_statements = None
        for number in range(requests):
            status = send(application, layers, environ_for(picks.choice(paths), spec["token"]))
            if not status.startswith("200"):
                raise SystemExit(f"{name}: {status}")
            if number == 0:
                first_statements = list(layers.statements)
        total = sum(layers.own.values())
        rows = [
            {"layer": layer, "us": round(seconds / requests * 1e6, 1), "share": round(seconds / total, 4)}
            for layer, seconds in layers.own.items()
        ]
        by_statement = {}
        for caller, sql, seconds in layers.statements:
            key = (caller, statement_summary(sql))
            count, spent = by_statement.get(key, (0, 0.0))
            by_statement[key] = (count + 1, spent + seconds)
        results[name] = {
            "requests": requests,
            "us_per_request": round(total / requests * 1e6, 1),
            "statements_per_request": round(len(layers.statements) / requests, 2),
            "summary": summary(rows),
            "layers": rows,
            "database_work_by_caller": [
                {"work": work, "layer": caller, "us": round(seconds / requests * 1e6, 1)}
                for (work, caller), seconds in sorted(layers.by_caller.items())
            ],
            "statements": [
                {
                    "layer": caller,
                    "statement": summary,
                    "per_request": round(count / requests, 2),
                    "us_each": round(spent / count * 1e6, 1),
                }
                for (caller, summary), (count, spent) in by_statement.items()
            ],
            "sql_of_one_request": [sql[:1500] for _caller, sql, _seconds in first_statements],
        }
    return results


# -- 2. Under load ---------------------------------------------------------------------------------------------


WRK_SCRIPT = """
local paths = {%s}
wrk.headers["Authorization"] = "Token %s"
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def closed_loop(port: int, paths: list[str], token: str, *, seconds: int, connections: int) -> dict:
    """``wrk``: ``connections`` connections each sending its next request when the last is answered."""
    script = WRK_SCRIPT % (", ".join(json.dumps(path) for path in paths), token)
    figures = wrk(port, script, connections=connections, seconds=seconds, threads=2)
    return {
        "requests_per_second": figures["per_second"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "non_2xx": figures["errors"],
    }


def profiled_load(server, port, paths, token, *, name: str, args, scratch: Path) -> dict:
    """A closed loop on ``paths`` while py-spy samples every worker; the flame graph in bench/out/."""
    closed_loop(port, paths, token, seconds=2, connections=args.connections)  # warm-up
    graph = OUT / f"profile-{name}.svg"
    command = [
        str(VENV_BIN / "py-spy"),
        "record",
        "--pid",
        str(server.pid),
        "--subprocesses",
        "--nonblocking",
        "--rate",
        str(args.rate),
        "--duration",
        str(args.seconds),
        "--format",
        "flamegraph",
        "--output",
        str(graph),
    ]
    if args.idle:
        command.append("--idle")
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # attached before the loop starts
    figures = closed_loop(port, paths, token, seconds=args.seconds, connections=args.connections)
    _, spy_errors = spy.communicate(timeout=args.seconds + 60)
    if spy.returncode != 0:
        raise SystemExit(f"py-spy failed: {spy_errors.strip()}")
    figures["flame_graph"] = str(graph.relative_to(_setup.ROOT))
    return figures


# -- The run ---------------------------------------------------------------------------------------------------


def print_summary(layers: dict) -> None:
    names = list(layers)
    width = max(len(group) for group, _ in SUMMARY)
    print(f"{'milliseconds per request (share)':{width}}" + "".join(f"  {name[:22]:>22}" for name in names))
    for number, (group, _) in enumerate(SUMMARY):
        cells = [layers[name]["summary"][number] for name in names]
        print(
            f"{group:{width}}"
            + "".join(f"  {cell['us'] / 1000:>14.2f} ({cell['share'] * 100:4.1f}%)" for cell in cells)
        )
    print(f"{'total':{width}}" + "".join(f"  {layers[name]['us_per_request'] / 1000:>14.2f}       " for name in names))
    print(
        f"{'statements':{width}}" + "".join(f"  {layers[name]['statements_per_request']:>14}       " for name in names)
    )


def print_table(layers: dict) -> None:
    names = list(layers)
    order = []
    for result in layers.values():
        for row in result["layers"]:
            if row["layer"] not in order:
                order.append(row["layer"])
    order.sort(key=lambda layer: layer in DATABASE_WORK)  # stable: the database work last, then the statements
    width = max(len(layer) for layer in order)
    print(f"{'microseconds per request (share)':{width}}" + "".join(f"  {name[:22]:>22}" for name in names))
    for layer in order:
        cells = []
        for name in names:
            row = next((row for row in layers[name]["layers"] if row["layer"] == layer), None)
            cells.append(f"{row['us']:>12,.0f} ({row['share'] * 100:4.1f}%)" if row else f"{'':>22}")
        print(f"{layer:{width}}" + "".join(f"  {cell:>22}" for cell in cells))
    print(f"{'total':{width}}" + "".join(f"  {layers[name]['us_per_request']:>12,.0f}        " for name in names))
    print(
        f"{'statements':{width}}" + "".join(f"  {layers[name]['statements_per_request']:>12}        " for name in names)
    )
    for name in names:
        print(f"\n{name}: {layers[name]['statements_per_request']} statements a request")
        for row in layers[name]["statements"]:
            print(f"  {row['per_request']:>5} x {row['us_each']:>8,.0f} us  {row['statement'][:90]}  [{row['layer']}]")
        for row in layers[name]["database_work_by_caller"]:
            print(f"  {row['us']:>16,.0f} us  {row['work']}, for {row['layer']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subprojects", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300, help="requests of each read in the layer table")
    parser.add_argument("--seconds", type=int, default=20, help="of each closed loop under py-spy")
    parser.add_argument("--connections", type=int, default=8, help="wrk's connections")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--rate", type=int, default=100, help="py-spy's samples a second")
    parser.add_argument("--idle", action="store_true", help="py-spy counts the time spent waiting too")
    parser.add_argument("--layers-of", type=Path, help=argparse.SUPPRESS)  # the layer table's own process
    args = parser.parse_args()
    if args.layers_of:
        spec = json.loads(args.layers_of.read_text())
        Path(spec["into"]).write_text(json.dumps(measure_layers(spec)))
        return

    _setup.require_postgres()
    build(args.subprojects)
    token = token_issue(user=User.objects.get(username="bench"))
    first, last = subproject_range()
    picks = random.Random(2)
    reports = sample_of_reports()
    paths = {
        "report": [f"/api/v1/reports/{report}/" for report in picks.sample(reports, min(2000, len(reports)))],
        "project": [f"/api/v1/projects/{picks.randint(first, last)}/" for _ in range(2000)],
        "reports page": [REPORTS_PAGE],
        "projects page": [PROJECTS_PAGE],
        "reports page, numbered": [NUMBERED_REPORTS_PAGE],
        "projects page, numbered": [NUMBERED_PROJECTS_PAGE],
    }
    connection.close()
    OUT.mkdir(exist_ok=True)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        spec = {
            "token": token,
            "reads": paths,
            "requests": args.requests,
            "warm_up": max(5, args.requests // 10),
            "into": str(scratch / "layers.json"),
        }
        (scratch / "spec.json").write_text(json.dumps(spec))
        # Its request log lines go to a file, as gunicorn's go to bench/load.py's log.
        with open(scratch / "layers.log", "w") as log:
            run = subprocess.run(
                [sys.executable, __file__, "--layers-of", str(scratch / "spec.json")],
                env=server_env(),
                stdout=log,
                stderr=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).parent,
            )
        if run.returncode != 0:
            sys.exit(f"the layer table's process failed:\n{run.stderr}")
        layers = json.loads((scratch / "layers.json").read_text())

        loads = {}
        with open(scratch / "gunicorn.log", "w") as log:
            port = free_port()
            server = serve(port, log, workers=args.workers)
            try:
                for loop in (DETAIL, PAGE):
                    loop_paths = [path for read, kind in READS.items() if kind == loop for path in paths[read]]
                    loads[loop] = profiled_load(server, port, loop_paths, token, name=loop, args=args, scratch=scratch)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)

    print(
        f"profile: {args.subprojects:,} sub-projects; layers over {args.requests} requests of each read "
        "through Django's WSGI handler (DEBUG off), one process"
    )
    print_summary(layers)
    print()
    print_table(layers)
    print()
    for loop, figures in loads.items():
        print(
            f"{loop} reads under wrk ({args.connections} connections, gunicorn with {args.workers} workers): "
            f"{figures['requests_per_second']:,.0f}/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
            f"non-2xx {figures['non_2xx']}; flame graph {figures['flame_graph']}"
        )
    _setup.write_figures(
        "profile",
        {
            "subprojects": args.subprojects,
            "requests_per_read": args.requests,
            "layers": layers,
            "closed_loops": {
                loop: {**figures, "connections": args.connections, "workers": args.workers, "seconds": args.seconds}
                for loop, figures in loads.items()
            },
        },
    )


if __name__ == "__main__":
    main()
