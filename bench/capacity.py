"""The knee: the highest constant rate gunicorn serving GSTP holds with p95 <= 20 ms and under 0.1 % errors.

On the scan benchmark's data (20,000 sub-projects by default, with the 2025Q4 reports of the first quarter of
them taken out so that leads can file them again), gunicorn serves GSTP on loopback as bench/load.py starts it,
with the worker model chosen here. Three traffics, in turn, on that one server: ``/healthz/`` (the ceiling: no
authentication, no database), the detail reads alone (sub-projects and reports, 4 to 3, as a reader's API
token), and bench/traffic.py's mixed traffic (reads, pages of 50 and report writes). Each is sent open-loop by
bench/loadgen.py at a constant rate, step by step (50, 62, 78, ... a second: ``--start``, ``--growth`` or
``--step``), ``--warm-up`` + ``--seconds`` per step, until p95 passes 50 ms or errors pass 0.1 %. A request's
time counts from when it was due. Each step also says whether the generator kept up (how late it got to the
requests, the CPU it used): a knee it could not reach is marked, not blamed on the server.

Then the 304 answer against the full one: detail reads sent as fast as the server answers (a closed loop, with
``wrk`` when it is installed), once plainly and once with the ``If-None-Match`` of the ETag each answered before.

Prints a table per traffic; writes bench/out/capacity.json.

    bash .ci/run .venv/bin/python bench/capacity.py
    bash .ci/run .venv/bin/python bench/capacity.py --worker-class gthread --workers 2 --threads 4
    bash .ci/run .venv/bin/python bench/capacity.py --subprojects 2000 --seconds 3 --warm-up 1
"""

import argparse
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import _setup
from django.db import connection
from load import filed_reports, prepare, serve, traffic_for
from loadgen import Call, Generator, generator_behind, percentile, request_bytes
from loadgen import wrk as run_wrk
from traffic import DETAIL_MIX, FILE_REPORT, MIX, PROJECT, PROJECTS_PAGE, REPORT, REPORTS_PAGE, Traffic

from tests.support.processes import free_port

HEALTHZ = "GET /healthz/"
TRAFFICS = {
    "healthz": "/healthz/ (the ceiling)",
    "detail": "detail reads (sub-project, report)",
    "mixed": "mixed traffic (reads, pages, report writes)",
}
WRITE_SHARE = MIX.count(FILE_REPORT) / len(MIX)


def rates(args):
    rate = args.start
    while rate <= args.max_rate:
        yield round(rate)
        rate = rate + args.step if args.step else max(rate * args.growth, rate + 1)


def climb(name: str, make_calls, args, port: int) -> dict:
    """Raise the rate step by step until p95 passes ``--stop-ms`` or errors pass ``--max-errors``."""
    print(f"\n{TRAFFICS[name]}")
    print(
        f"  {'rate':>6} {'achieved':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>8}"
        f"  {'generator: late p95, CPU'}"
    )
    steps, stopped = [], "the highest rate tried"
    for rate in rates(args):
        total = int(rate * (args.warm_up + args.seconds))
        calls = make_calls(total)
        if calls is None:
            stopped = "no sub-projects left to file reports for"
            break
        generator = Generator(port, connections=args.connections)
        run = generator.open_loop(calls, rate, grace=args.grace)
        counted_from = int(rate * args.warm_up)
        measured = run.answers[counted_from:]
        times = [answer.seconds for answer in measured]
        failed = sum(answer.failed for answer in measured)
        # answers a second while the measured calls were due, whichever call they answered
        window = (counted_from / rate, total / rate)
        answered = sum(
            window[0] <= i / rate + answer.seconds < window[1] for i, answer in enumerate(run.answers) if answer.status
        )
        step = {
            "rate": rate,
            "achieved": round(answered / (window[1] - window[0]), 1),
            "requests": len(measured),
            "p50_ms": round(percentile(times, 0.50) * 1000, 1),
            "p95_ms": round(percentile(times, 0.95) * 1000, 1),
            "p99_ms": round(percentile(times, 0.99) * 1000, 1),
            "errors": failed,
            "error_percent": round(100 * failed / max(len(measured), 1), 3),
            "statuses": _statuses(measured),
            "generator_late_p95_ms": round(percentile([answer.late for answer in run.answers], 0.95) * 1000, 2),
            "generator_cpu_share": round(run.cpu_share, 2),
            "generator_behind": generator_behind(run),
            "connections_opened": generator.opened,
        }
        steps.append(step)
        print(
            f"  {rate:>6} {step['achieved']:>9} {step['p50_ms']:>7} {step['p95_ms']:>7} {step['p99_ms']:>7} "
            f"{step['error_percent']:>7}%  {step['generator_late_p95_ms']} ms, {step['generator_cpu_share']:.0%}"
            + ("  (generator behind)" if step["generator_behind"] else "")
        )
        if step["p95_ms"] > args.stop_ms or step["error_percent"] > args.max_errors:
            stopped = f"p95 over {args.stop_ms:g} ms" if step["p95_ms"] > args.stop_ms else "errors"
            break
        time.sleep(args.pause)
    held = [step for step in steps if step["p95_ms"] <= args.knee_ms and step["error_percent"] < args.max_errors]
    knee = max(held, key=lambda step: step["rate"], default=None)
    after = [step for step in steps if knee is None or step["rate"] > knee["rate"]]
    figures = {
        "knee_rate": knee["rate"] if knee else None,
        "knee_p95_ms": knee["p95_ms"] if knee else None,
        # the generator shares the cores with the server: what it took of one at the knee
        "knee_generator_cpu_share": knee["generator_cpu_share"] if knee else None,
        # the knee says little about the server when the generator could not keep up there or just above it
        "knee_limited_by_generator": bool(
            (knee and knee["generator_behind"]) or (after and after[0]["generator_behind"])
        ),
        "stopped_at": stopped,
        "steps": steps,
    }
    print(
        f"  knee: {figures['knee_rate'] or 'none'}/s with p95 <= {args.knee_ms:g} ms and errors < {args.max_errors:g}%"
        + ("  (limited by the generator, not the server)" if figures["knee_limited_by_generator"] else "")
        + f"; stopped: {stopped}"
    )
    return figures


def _statuses(answers) -> dict:
    counts = {}
    for answer in answers:
        counts[str(answer.status)] = counts.get(str(answer.status), 0) + 1
    return counts


def not_modified(traffic: Traffic, args, port: int) -> dict:
    """Each kind of detail read at saturation (closed loop), plain and with the If-None-Match of its ETag: a report's
    ETag is its version, decided from its row; a sub-project's is the digest of its built answer."""
    return {label: _not_modified_of(traffic, args, port, [name], label) for label, name in NOT_MODIFIED_KINDS}


NOT_MODIFIED_KINDS = (("report", REPORT), ("sub-project", PROJECT))


def _not_modified_of(traffic: Traffic, args, port: int, mix: list[str], label: str) -> dict:
    calls = traffic.plan(args.etag_paths, mix)[0]
    first = Generator(port, connections=4).each(calls)
    tagged = [
        (call, answer.headers["etag"]) for call, answer in zip(calls, first, strict=True) if "etag" in answer.headers
    ]
    if not tagged:
        print(f"\n304 answers: the {label} reads carry no ETag")
        return {"etags": 0}
    plain = [call for call, _ in tagged]
    paths = [_path_of(call) for call in plain]
    etags = [etag for _, etag in tagged]
    conditional = [
        traffic.call_to(call.name, path, {"If-None-Match": etag})[0]
        for call, path, etag in zip(plain, paths, etags, strict=True)
    ]
    check = Generator(port, connections=4).each(conditional[:100])
    answered_304 = sum(answer.status == 304 for answer in check) / len(check)

    wrk = shutil.which("wrk") if not args.no_wrk else None
    if wrk:
        full, cheap = _wrk(traffic, paths, None, args, port), _wrk(traffic, paths, etags, args, port)
    else:
        full, cheap = _closed(plain, args, port), _closed(conditional, args, port)
    ratio = cheap["per_second"] / full["per_second"] if full["per_second"] else None
    figures = {
        "tool": "wrk" if wrk else "bench/loadgen.py",
        "connections": args.saturation_connections,
        "seconds": args.saturation_seconds,
        "paths": len(paths),
        "conditional_answered_304_share": round(answered_304, 3),
        "full": full,
        "not_modified": cheap,
        "ratio": round(ratio, 2) if ratio else None,
    }
    print(
        f"\n304 answers, {label} ({figures['tool']}, closed loop, {args.saturation_connections} connections, "
        f"{args.saturation_seconds:g} s each, {len(paths)} {label} reads; {answered_304:.0%} answered 304):"
    )
    for label, row in (("full answers", full), ("If-None-Match", cheap)):
        print(
            f"  {label:14} {row['per_second']:8.0f}/s  p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms  "
            f"errors {row['errors']}"
        )
    print(f"  304 / full:    {figures['ratio']}x (goal: at least 5x)")
    return figures


def _path_of(call: Call) -> str:
    return call.data.split(b" ", 2)[1].decode()


def _closed(calls: list[Call], args, port: int) -> dict:
    generator = Generator(port, connections=args.saturation_connections)
    run = generator.closed_loop(lambda n: calls[n % len(calls)], seconds=args.saturation_seconds)
    times = [answer.seconds for answer in run.answers]
    return {
        "per_second": round(len(run.answers) / run.wall_seconds, 1),
        "p50_ms": round(percentile(times, 0.5) * 1000, 2),
        "p99_ms": round(percentile(times, 0.99) * 1000, 2),
        "errors": sum(answer.status not in (200, 304) for answer in run.answers),
        "generator_cpu_share": round(run.cpu_share, 2),
    }


WRK_SCRIPT = """
local paths = {%(paths)s}
local etags = %(etags)s
local token = %(token)s
local n = 0
request = function()
  n = n %% #paths + 1
  local headers = {["Authorization"] = "Token " .. token}
  if etags then headers["If-None-Match"] = etags[n] end
  return wrk.format("GET", paths[n], headers)
end
"""


def _wrk(traffic: Traffic, paths: list[str], etags: list[str] | None, args, port: int) -> dict:
    script = WRK_SCRIPT % {
        "paths": ", ".join(json.dumps(path) for path in paths),
        "etags": "{" + ", ".join(json.dumps(etag) for etag in etags) + "}" if etags else "nil",
        "token": json.dumps(traffic.reader_token),
    }
    return run_wrk(port, script, connections=args.saturation_connections, seconds=args.saturation_seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subprojects", type=int, default=20_000)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, help="threads per worker (gthread; default 4, sync: 1)")
    parser.add_argument("--traffics", default=",".join(TRAFFICS), help="which, in order (healthz,detail,mixed)")
    parser.add_argument("--start", type=float, default=50, help="first rate, requests a second")
    parser.add_argument("--growth", type=float, default=1.25, help="each rate is the last times this")
    parser.add_argument("--step", type=float, default=0, help="each rate is the last plus this (instead of --growth)")
    parser.add_argument("--max-rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=8, help="measured seconds per step")
    parser.add_argument("--warm-up", type=float, default=2, help="unmeasured seconds before each step's")
    parser.add_argument("--pause", type=float, default=1, help="seconds between steps")
    parser.add_argument("--grace", type=float, default=10, help="seconds a step waits for answers after its last")
    parser.add_argument("--connections", type=int, default=64, help="most requests in flight (open loop)")
    parser.add_argument("--knee-ms", type=float, default=20)
    parser.add_argument("--stop-ms", type=float, default=50)
    parser.add_argument("--max-errors", type=float, default=0.1, help="percent")
    parser.add_argument("--writable", type=int, help="sub-projects whose last report is filed again (default: 1/4)")
    parser.add_argument("--etag-paths", type=int, default=2000, help="detail reads the 304 figure cycles through")
    parser.add_argument("--saturation-seconds", type=float, default=8)
    parser.add_argument("--saturation-connections", type=int, default=8)
    parser.add_argument("--no-wrk", action="store_true", help="measure the 304 figure with bench/loadgen.py")
    args = parser.parse_args()
    threads = args.threads or (4 if args.worker_class == "gthread" else 1)
    traffics = [name for name in args.traffics.split(",") if name]
    if unknown := set(traffics) - set(TRAFFICS):
        parser.error(f"unknown traffics: {', '.join(sorted(unknown))}")
    _setup.require_postgres()
    writable = args.writable or args.subprojects // 4
    env = prepare(args.subprojects, writable)
    before = filed_reports(env["first"], writable)
    connection.close()

    figures = {
        "subprojects": args.subprojects,
        "gunicorn": {"worker_class": args.worker_class, "workers": args.workers, "threads": threads},
        "seconds_per_step": args.seconds,
        "warm_up_seconds": args.warm_up,
        "connections": args.connections,
        "knee": {"p95_ms": args.knee_ms, "error_percent_under": args.max_errors, "stop_p95_ms": args.stop_ms},
        "traffics": {},
    }
    print(
        f"capacity: gunicorn {args.worker_class}, {args.workers} workers x {threads} threads, "
        f"{args.subprojects:,} sub-projects; {args.warm_up:g} + {args.seconds:g} s a step, "
        f"at most {args.connections} requests in flight"
    )
    with tempfile.TemporaryDirectory() as scratch, open(Path(scratch) / "gunicorn.log", "w") as log:
        port = free_port()
        server = serve(port, log, workers=args.workers, worker_class=args.worker_class, threads=threads)
        try:
            traffic = traffic_for(port, env, keep_alive=True)
            healthz = Call(HEALTHZ, request_bytes("GET", "/healthz/", {}, host=f"127.0.0.1:{port}"))

            def mixed(count):
                if traffic.writes_planned + count * WRITE_SHARE * 1.5 + 50 > writable:
                    return None
                calls, filing = traffic.plan(count, MIX)
                writes.extend((project, call) for call, project in zip(calls, filing, strict=True) if project)
                return calls

            writes = []
            makers = {
                "healthz": lambda count: [healthz] * count,
                "detail": lambda count: traffic.plan(count, DETAIL_MIX)[0],
                "mixed": mixed,
            }
            # Every worker's first requests import and connect: outside the measured steps.
            warm_up = [
                healthz,
                *traffic.plan(20 * args.workers * threads, [*DETAIL_MIX, REPORTS_PAGE, PROJECTS_PAGE])[0],
            ]
            Generator(port, connections=args.workers * threads).each(warm_up)
            for name in traffics:
                figures["traffics"][name] = climb(name, makers[name], args, port)
                time.sleep(args.pause)
            figures["not_modified"] = not_modified(traffic, args, port)
            if shutil.which("wrk") and not args.no_wrk and "healthz" in traffics:
                # the open-loop ceiling above is partly the generator's: wrk's, closed loop, beside it
                ceiling = _wrk(traffic, ["/healthz/"], None, args, port)
                figures["traffics"]["healthz"]["wrk_closed_loop"] = ceiling
                print(
                    f"\n/healthz/ at saturation (wrk, closed loop, {args.saturation_connections} connections): "
                    f"{ceiling['per_second']:.0f}/s, p50 {ceiling['p50_ms']} ms, p99 {ceiling['p99_ms']} ms"
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    if "mixed" in traffics:
        filed = filed_reports(env["first"], writable) - before
        figures["traffics"]["mixed"]["writes"] = {"sent": len(writes), "reports_filed_in_database": len(filed)}
        print(f"\nmixed traffic: {len(writes):,} report writes sent, {len(filed):,} reports filed")
    print(f"\nknees (p95 <= {args.knee_ms:g} ms, errors < {args.max_errors:g}%):")
    for name, row in figures["traffics"].items():
        note = (
            f"  p95 {row['knee_p95_ms']} ms, generator {row['knee_generator_cpu_share']:.0%} of a core"
            if row["knee_rate"]
            else ""
        )
        if row["knee_limited_by_generator"]:
            note += " (limited by the generator)"
        print(f"  {TRAFFICS[name]:44} {row['knee_rate'] or 'none':>6}/s{note}")
    for label, row in figures["not_modified"].items():
        if row.get("ratio"):
            print(f"  {'304 / full answers at saturation, ' + label:44} {row['ratio']:>6}x")
    _setup.write_figures("capacity", figures)


if __name__ == "__main__":
    main()
