"""The lag scan spread over worker hosts: one worker host against two, on the 100,000-sub-project data.

Makes a cluster of hosts (tests/cluster/harness.py: network namespaces on this machine, as root): the database
host (PostgreSQL and Redis), two worker hosts, each worker pinned to a core of its own with ``taskset``, and the
client host this script runs its part from. Builds bench/scan.py's data (100,000 sub-projects, 8 quarters of
reports, 2 budget years and 5 milestones each), scans it once untimed (the first read of freshly written rows
costs more), then times a whole scan dispatched as a group of batch jobs (``reviews.services.dispatch_scan``),
from the dispatch to the run's end, with one worker host and with two in turn, each from the same clean slate,
best of ``--repeat``. Every run must leave the same flags, flag for flag. Prints the figures and the ratio (goal:
two hosts at least 1.5x one); writes them to bench/out/cluster.json.

    .venv/bin/python bench/cluster.py                    # as root; the cluster is made and removed
    .venv/bin/python bench/cluster.py --subprojects 20000
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster.harness import Cluster, unavailable_reason  # noqa: E402

WORKER_HOSTS = ("worker1", "worker2")


def scan_on(cluster: Cluster, hosts: tuple[str, ...], *, batch_size: int, concurrency: int) -> dict:
    """A whole scan on the workers of ``hosts`` (host i on core i), from a clean slate: seconds and flags."""
    from django.db import connection
    from scan import AS_OF, FLAG_COLUMNS, _by_key, forget_flags

    from reviews.models import LagFlag
    from reviews.services import dispatch_scan, scan_run_wait

    with connection.cursor() as cursor:
        forget_flags(cursor, "reviews_scanrun")
    for core, host in enumerate(hosts):
        cluster.start_worker(host, cpu=core, concurrency=concurrency)
    for host in hosts:
        cluster.wait_worker_ready(host)
    try:
        started = time.perf_counter()
        run = dispatch_scan(as_of=AS_OF, batch_size=batch_size)
        run = scan_run_wait(run, timeout=3600, interval=0.05)
        seconds = time.perf_counter() - started
    finally:
        for host in hosts:
            cluster.processes.pop(host).kill()
    workers = {worker.split("@")[0] for worker in run.batches.values_list("worker", flat=True)}
    return {
        "seconds": seconds,
        "batches": run.batches_total,
        "flags": _by_key(LagFlag.objects.order_by().values_list(*FLAG_COLUMNS.split(", "))),
        "hosts_used": sorted(workers),
    }


def measure(cluster: Cluster, args) -> dict:
    import _setup
    from django.db import connection
    from scan import build

    _setup.require_postgres()
    print(f"database: {_setup.database_label()} (the db host); worker hosts pinned to cores 0 and 1")
    started = time.perf_counter()
    build(args.subprojects)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"built {args.subprojects:,} sub-projects in {time.perf_counter() - started:.1f} s")
    connection.close()

    # The first scan after the build reads freshly written rows (PostgreSQL sets their hint bits then, and fills
    # its cache): untimed, so that neither timed run pays for it. Then each in turn, best of --repeat.
    options = {"batch_size": args.batch_size, "concurrency": args.concurrency}
    scan_on(cluster, WORKER_HOSTS, **options)
    runs = {1: [], 2: []}
    for _ in range(args.repeat):
        for hosts in (1, 2):
            runs[hosts].append(scan_on(cluster, WORKER_HOSTS[:hosts], **options))
            print(f"  {hosts} worker host(s): {runs[hosts][-1]['seconds']:.1f} s")
    one, two = (min(runs[hosts], key=lambda run: run["seconds"]) for hosts in (1, 2))
    same = all(run["flags"] == one["flags"] for run in runs[1] + runs[2])
    figures = {
        "subprojects": args.subprojects,
        "batch_size": args.batch_size,
        "batches": one["batches"],
        "worker_processes_per_host": args.concurrency,
        "one_host_seconds": round(one["seconds"], 2),
        "two_hosts_seconds": round(two["seconds"], 2),
        "ratio_two_hosts_to_one": round(one["seconds"] / two["seconds"], 2),
        "flags": len(one["flags"]),
        "same_flags": same,
        "repeat": args.repeat,
        "hosts_used_by_two": two["hosts_used"],
    }
    print(
        f"one worker host:  {figures['one_host_seconds']:.1f} s for {figures['batches']} batches of "
        f"{args.batch_size}, {figures['flags']:,} flags"
    )
    print(f"two worker hosts: {figures['two_hosts_seconds']:.1f} s, batches taken by {', '.join(two['hosts_used'])}")
    print(
        f"ratio two hosts / one: {figures['ratio_two_hosts_to_one']:.2f}x (goal: at least 1.5x); "
        f"the same flags in every run, flag for flag: {figures['same_flags']}"
    )
    _setup.write_figures("cluster", figures)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subprojects", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1, help="worker processes on each worker host")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each, the best kept")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"bench/cluster.py skipped: the cluster {reason}.")
        return
    cluster = Cluster()
    try:
        cluster.create_network(hosts=("db", "client", *WORKER_HOSTS))
        cluster.start_database()
        os.environ.update(cluster.environment(DEBUG="1", ALLOWED_HOSTS="localhost"))
        with cluster.inside("client"):
            figures = measure(cluster, args)
    finally:
        cluster.stop()
    sys.exit(0 if figures["same_flags"] else 1)


if __name__ == "__main__":
    main()
