"""Fuzz every operation of the API as every kind of caller, and print what came back.

    .venv/bin/python -m tests.security.run_fuzz [--examples 100] [--actor lead ...] [--seed N]

Needs PostgreSQL (DATABASE_URL). Runs on a throw-away database (``test_<name>_fuzz``), built afresh for each
caller, so one caller's writes never change what the next one meets. Prints, per caller: operations, cases
tried (and on the operation that got the fewest), errors (the fuzzer could not run a case), 5xx answers
and answers that violate the schema; then every failure. Exits 1 unless all of those are zero.
"""

import argparse
import logging
import os
import random
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

from .fuzzing import ACTORS, fuzz  # noqa: E402
from .world import build_world, make_actor  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="generated cases per operation (fuzzing phase)")
    parser.add_argument("--actor", action="append", choices=ACTORS, help="only these callers (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="to repeat a run (printed with the table)")
    args = parser.parse_args(argv)
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("Fuzzing runs on PostgreSQL: set DATABASE_URL.")
    seed = args.seed if args.seed is not None else random.randrange(2**32)

    results = run(examples=args.examples, actors=args.actor or ACTORS, seed=seed)

    print_table(results, examples=args.examples, seed=seed)
    return 0 if all(result.clean for result in results) else 1


def run(*, examples: int, actors=ACTORS, seed: int) -> list:
    """Fuzz as each of ``actors`` on a throw-away database; a ``FuzzResult`` for each."""
    # A database of its own, beside the test suite's, so the two may run at once.
    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_fuzz"
    setup_test_environment(debug=False)
    # Thousands of refused requests are the point here: log errors only, the table says the rest.
    logging.disable(logging.WARNING)
    databases = setup_databases(verbosity=0, interactive=False)
    results = []
    try:
        for name in actors:
            call_command("flush", "--no-input", verbosity=0)
            world = build_world()
            actor = make_actor(name, world, session=name == "reader")  # a person in a browser
            started = time.perf_counter()
            result = fuzz(actor, world, max_examples=examples, seed=seed)
            result.seconds = time.perf_counter() - started
            results.append(result)
            statuses = ", ".join(f"{status}: {count}" for status, count in sorted(result.statuses.items()))
            print(f"{name}: {result.cases} cases in {result.seconds:.0f} s ({statuses})", file=sys.stderr, flush=True)
    finally:
        connections.close_all()
        teardown_databases(databases, verbosity=0)
        logging.disable(logging.NOTSET)
    return results


COLUMNS = (
    ("caller", lambda r: r.actor),
    ("operations", lambda r: r.operations),
    ("cases", lambda r: r.cases),
    ("fewest per operation", lambda r: r.fewest_cases),
    ("errors", lambda r: r.errors),
    ("5xx", lambda r: r.server_errors),
    ("schema violations", lambda r: r.schema_violations),
    ("seconds", lambda r: f"{r.seconds:.0f}"),
)


def print_table(results, *, examples, seed):
    header = [name for name, _ in COLUMNS]
    rows = [[str(value(result)) for _, value in COLUMNS] for result in results]
    total = ["total", str(max((r.operations for r in results), default=0)), str(sum(r.cases for r in results))]
    total.append(str(min((r.fewest_cases for r in results), default=0)))
    total += [str(sum(getattr(r, name) for r in results)) for name in ("errors", "server_errors", "schema_violations")]
    total.append(f"{sum(r.seconds for r in results):.0f}")
    widths = [max(len(row[i]) for row in (header, *rows, total)) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * width for width in widths)
    print(
        f"\nFuzzing every operation as each caller: up to {examples} generated cases per operation in the fuzzing phase,"
    )
    print(f"after the examples and coverage phases (seed {seed}).\n")
    print("\n".join([line(header), rule, *(line(row) for row in rows), rule, line(total)]))
    for result in results:
        for failure in result.failures:
            print(f"{result.actor}: {failure}")


if __name__ == "__main__":
    sys.exit(main())
