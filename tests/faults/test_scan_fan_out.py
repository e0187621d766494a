"""The lag scan's batches as a Celery group on two real workers (``celery -A gstp worker`` subprocesses on the
test's Redis and database, with production's settings): the flags equal the in-process scan's, flag for flag,
and the run ends once. A worker killed mid-batch is tests/faults/test_worker_killed.py's.
"""

from collections import Counter

import pytest

from reviews.models import LagFlag, ScanRun
from reviews.services import dispatch_scan, lag_scan, scan_run_result, scan_run_wait
from tests.reviews.lagging import AS_OF, state
from tests.reviews.test_scan import build_programme

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_the_batches_spread_over_two_workers_end_as_the_in_process_scan(broker, workers, record_figures):
    # given a programme, and what the in-process scan leaves
    programme = build_programme(per_kind=3)  # 21 sub-projects
    clean_result = lag_scan(as_of=AS_OF, batch_size=2)
    clean = state()
    programme.reset()
    first, second = workers.start(broker.url), workers.start(broker.url)

    # when a run of 11 batches is dispatched to them
    run = dispatch_scan(as_of=AS_OF, batch_size=2)
    run = scan_run_wait(run, timeout=60)

    # then both workers scanned batches, each batch once, and the flags are the in-process scan's
    after, flagged = state(), Counter(LagFlag.objects.values_list("node_id", "rule", "year", "quarter"))
    record_figures(
        cases=1,
        errors=0,
        server_errors=0,
        lost=len(set(clean) - set(after)),
        duplicated=sum(count - 1 for count in flagged.values()),
    )
    batches = list(run.batches.all())
    assert len(batches) == run.batches_total == run.batches_done == 11
    assert {batch.attempts for batch in batches} == {1}
    assert all(batch.started_at <= batch.finished_at <= run.finished_at for batch in batches)
    assert len({batch.worker for batch in batches}) == 2
    assert after == clean
    assert scan_run_result(run) == clean_result
    # and one of them ended the run, once
    ended = f"lag scan #{run.pk} as of"
    assert first.count(ended) + second.count(ended) == 1
    assert sum(worker.count("Task reviews.scan_batch[") for worker in (first, second)) >= 2 * 11  # received, done
    assert ScanRun.objects.count() == 1
