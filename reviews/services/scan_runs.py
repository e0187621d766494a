"""The lag scan spread over the Celery workers: a run's batches as a Celery group of ``reviews.scan_batch`` jobs.

``dispatch_scan`` fixes the run's batches (ranges of sub-project ids) in the database and publishes one job
per batch once they are committed; any worker takes any batch. A batch is one transaction, like a batch of
the in-process ``lag_scan``, and ends in the same flags. It is safe to run twice:

* each start is counted and committed first (``attempts``, ``started_at``, ``last_started_at``), so a start
  whose worker was lost stays visible, and the time until it was redone can be read;
* the scan then holds the batch's row lock until it commits, with ``finished_at``: a second delivery of the
  same batch, sequential or at the same moment, waits for that lock, finds the batch finished and does nothing;
* a worker lost mid-batch leaves nothing of it (its transaction never committed); Redis hands the unacknowledged
  job to another worker after the visibility timeout (``GSTP_BROKER_VISIBILITY_TIMEOUT``).

The batch that commits last (the run's row lock decides) does the run's end once: its totals and ``finished_at``.
No Celery result backend is needed: the run's rows say how far it got (``scan_run_wait``).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from projects.models import NodeKind, PlanNode

from ..models import ScanBatch, ScanRun
from ..periods import today
from .scan import DEFAULT_BATCH_SIZE, ScanResult, batch_for_range, batch_transaction_begin, scan_one_batch

logger = logging.getLogger(__name__)
BATCH_TASK = "reviews.scan_batch"
# A batch's worker that vanished mid-transaction (its host cut off) must not hold the locks the batch's next
# delivery waits on until TCP notices: the server ends a transaction that waits this long on its client.
LOST_CLIENT_TIMEOUT = "60s"


def dispatch_scan(
    *, as_of: datetime.date | None = None, batch_size: int = DEFAULT_BATCH_SIZE, key: str | None = None
) -> ScanRun:
    """Start a scan of every sub-project as of a day (today in Asia/Taipei) on the workers: the run's batches are
    written, and their jobs published once the caller's transaction (if any) commits.

    ``key`` (the asking job's id) makes a dispatch delivered twice one run: the second finds the run and publishes
    again the batches not yet finished (a batch delivered twice runs once)."""
    if key is not None:
        existing = ScanRun.objects.filter(key=key).first()
        if existing is not None:
            scan_run_publish(existing)
            return existing
    try:
        run = scan_run_create(as_of=as_of, batch_size=batch_size, key=key)
    except IntegrityError:  # the same job, delivered twice at once: the other made the run
        return ScanRun.objects.get(key=key)
    scan_run_publish(run)
    return run


def scan_run_create(*, as_of: datetime.date | None = None, batch_size: int = DEFAULT_BATCH_SIZE, key=None) -> ScanRun:
    """The run and its batches: every sub-project in ranges of ``batch_size`` ids, fixed from now on."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ids = list(PlanNode.objects.filter(kind=NodeKind.SUBPROJECT).order_by("pk").values_list("pk", flat=True))
    chunks = [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]
    with transaction.atomic():
        run = ScanRun.objects.create(key=key, as_of=as_of or today(), batch_size=batch_size, batches_total=len(chunks))
        ScanBatch.objects.bulk_create(
            ScanBatch(run=run, number=number, first_node_id=chunk[0], last_node_id=chunk[-1], subprojects=len(chunk))
            for number, chunk in enumerate(chunks, start=1)
        )
        if not chunks:
            _finish(run, timezone.now())
            run.save(update_fields=["finished_at", "result"])
    return run


def scan_run_publish(run: ScanRun) -> list[int]:
    """Publish, as one Celery group, the jobs of the run's batches not yet finished, once the current transaction
    commits; their ids. Each job's id names its batch (``scan-<run>-<number>``)."""
    from celery import Signature, group

    from gstp.celery import app

    pending = list(run.batches.filter(finished_at__isnull=True).order_by("number").values_list("pk", "number"))
    if pending:
        jobs = group(
            Signature(BATCH_TASK, kwargs={"batch_id": pk}, options={"task_id": f"scan-{run.pk}-{number}"}, app=app)
            for pk, number in pending
        )
        transaction.on_commit(jobs.apply_async, robust=False)
    return [pk for pk, _ in pending]


def scan_runs_resume(*, idle: datetime.timedelta, within: datetime.timedelta = datetime.timedelta(days=1)) -> list[int]:
    """Publish again the unfinished batches of every run made in the last ``within`` that nothing has moved for
    ``idle`` (no batch started or finished): its group was lost (the broker lost its queue, publishing failed
    after the run was written) or its last batches failed for good. The ids of the runs resumed.

    A batch published again while a copy of it still runs waits for that copy's row lock and does nothing."""
    now = timezone.now()
    quiet = now - idle
    stalled = (
        ScanRun.objects.filter(finished_at__isnull=True, created_at__gte=now - within, created_at__lt=quiet)
        .exclude(batches__last_started_at__gte=quiet)
        .exclude(batches__finished_at__gte=quiet)
        .order_by("pk")
    )
    resumed = []
    for run in stalled:
        if scan_run_publish(run):
            logger.warning("lag scan #%s was stalled: its unfinished batches are published again", run.pk)
            resumed.append(run.pk)
    return resumed


def scan_batch_run(*, batch_id: int, worker: str = "") -> ScanResult | None:
    """Scan one batch of a run, in one transaction; None when it was finished already (delivered twice).

    The batch that commits its run's last one also ends the run (``finished_at``, the totals), once."""
    start = timezone.now()
    started = ScanBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), Value(start)),
        last_started_at=start,
        worker=worker[:200],
    )
    if not started:
        return None
    with transaction.atomic():
        # The batch's row only: the run's is locked at the end, briefly, or the batches would run one at a time.
        batch = ScanBatch.objects.select_for_update(of=("self",)).select_related("run").get(pk=batch_id)
        if batch.finished_at is not None:  # the same batch, delivered twice at once: the other one scanned it
            return None
        batch_transaction_begin()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL idle_in_transaction_session_timeout = '{LOST_CLIENT_TIMEOUT}'")
        result = scan_one_batch(
            batch_for_range(as_of=batch.run.as_of, first_id=batch.first_node_id, last_id=batch.last_node_id)
        )
        now = timezone.now()
        batch.finished_at, batch.result = now, _counts(result)
        batch.save(update_fields=["finished_at", "result"])
        run = ScanRun.objects.select_for_update().get(pk=batch.run_id)
        totals = ScanResult(**run.result) if run.result else ScanResult()
        totals.add(result)
        run.result = _counts(totals)
        run.batches_done += 1
        if run.batches_done == run.batches_total:
            _finish(run, now)
        run.save(update_fields=["result", "batches_done", "finished_at"])
    return result


def _finish(run: ScanRun, now: datetime.datetime) -> None:
    """The run's end, done once, by the batch that committed last: what ``lag_scan`` does after its batches."""
    totals = ScanResult(**run.result) if run.result else ScanResult()
    totals.batches = run.batches_total
    run.result, run.finished_at = _counts(totals), now
    logger.info("lag scan #%s as of %s: %s", run.pk, run.as_of, totals)


def _counts(result: ScanResult) -> dict:
    return dataclasses.asdict(result)


def scan_run_result(run: ScanRun) -> ScanResult:
    """The run's totals so far (all of them once it finished): as ``lag_scan`` returns them."""
    return ScanResult(**run.result) if run.result else ScanResult()


def scan_run_wait(run: ScanRun | int, *, timeout: float, interval: float = 0.2) -> ScanRun:
    """Read the run again until it finished; TimeoutError (with its progress) after ``timeout`` seconds."""
    pk = run if isinstance(run, int) else run.pk
    deadline = time.monotonic() + timeout
    while True:
        run = ScanRun.objects.get(pk=pk)
        if run.finished_at is not None:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"lag scan #{pk}: {run.batches_done} of {run.batches_total} batches after {timeout}s")
        time.sleep(interval)
