"""Shared set-up for the benchmarks: Django on the PostgreSQL named by DATABASE_URL, and a statement counter."""

import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")
# The benchmarks send one caller's requests far faster than its production limits allow (gstp/throttles.py):
# limits they never reach, still counted (in Redis, as in production: the figures include the counting), here
# and in the servers they start, which inherit this environment.
for _scope in ("READ", "WRITE", "EXPORT", "ANON"):
    os.environ.setdefault(f"GSTP_THROTTLE_{_scope}_RATE", "1000000/minute")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        sys.exit("The benchmarks run on PostgreSQL: set DATABASE_URL (or run them through `bash .ci/run make bench`).")
    call_command("migrate", verbosity=0)


class StatementCounter:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def measured():
    """Yields a dict that gets ``seconds`` and ``statements`` when the block ends. Statements are counted
    on every connection opened meanwhile too (the scan's threads each open their own)."""
    counter = StatementCounter()

    def count_on(sender, connection, **kwargs):
        connection.execute_wrappers.append(counter)

    result = {}
    started = time.perf_counter()
    connection_created.connect(count_on)
    try:
        with connection.execute_wrapper(counter):
            yield result
    finally:
        connection_created.disconnect(count_on)
    result["seconds"] = time.perf_counter() - started
    result["statements"] = counter.count


def database_label() -> str:
    db = settings.DATABASES["default"]
    return f"{db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST')}:{db.get('PORT')}/{db['NAME']}"


def write_figures(name: str, figures: dict) -> None:
    """Keep a run's figures in bench/out/NAME.json beside what it printed."""
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=2))
