"""The lag scan as a run of batches on the workers (``reviews.services.dispatch_scan``, ``scan_batch_run``).

A run's batches are ranges of sub-project ids fixed at dispatch; each is one transaction, safe to run twice
(one after the other, or at the same moment on PostgreSQL), and the one that commits last ends the run, once.
The batches run here in the test's process, as a worker runs them (tests/faults/test_scan_fan_out.py runs
them on real workers); what they leave is compared, flag for flag, with the in-process ``lag_scan``.
"""

import dataclasses
import datetime
import io
import logging
import random
import re
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews.models import LagFlag, LagRule, ScanBatch, ScanRun, Severity
from reviews.services import (
    dispatch_scan,
    lag_scan,
    scan_batch_run,
    scan_run_result,
    scan_run_wait,
)
from reviews.services.scan_runs import scan_run_create, scan_runs_resume
from reviews.tasks import scan_lagging
from tests.projects.factories import PlanFactory
from tests.reviews.lagging import AS_OF, state
from tests.reviews.test_scan import build_programme, rows, run_together, underspent
from tests.reviews.test_webhooks import always_eager
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db


def history_since(moment: datetime.datetime) -> list[tuple]:
    """The flags' history rows written after ``moment``, as what they say (not ids or times), sorted."""
    return sorted(
        (row.node_id, row.rule, row.year, row.quarter, row.history_type, row.severity, row.status, row.resolution)
        for row in LagFlag.history.filter(history_date__gt=moment)
    )


def run_batches(run: ScanRun, *, order=None) -> list:
    batches = list(run.batches.order_by("number").values_list("pk", flat=True))
    if order == "shuffled":
        random.Random(7).shuffle(batches)
    return [scan_batch_run(batch_id=pk, worker="test") for pk in batches]


def clean_scan(programme, **options):
    """What the in-process scan leaves (state, its result, its history), then the programme reset."""
    before = timezone.now()
    result = lag_scan(as_of=AS_OF, **options)
    clean = (state(), result, history_since(before))
    programme.reset()
    return clean


def test_a_run_fixes_its_batches_as_ranges_of_subproject_ids():
    programme = build_programme(per_kind=2)  # 14 sub-projects
    ids = sorted(node.pk for nodes in programme.kinds.values() for node in nodes)

    run = scan_run_create(as_of=AS_OF, batch_size=5)

    assert (run.as_of, run.batch_size, run.batches_total, run.batches_done, run.finished_at) == (AS_OF, 5, 3, 0, None)
    assert list(run.batches.values_list("number", "first_node_id", "last_node_id", "subprojects")) == [
        (1, ids[0], ids[4], 5),
        (2, ids[5], ids[9], 5),
        (3, ids[10], ids[13], 4),
    ]
    assert not run.batches.filter(attempts__gt=0).exists()


def test_the_batches_in_any_order_end_as_the_in_process_scan_flag_for_flag():
    programme = build_programme(per_kind=2)
    clean, clean_result, clean_history = clean_scan(programme, batch_size=5)
    before = timezone.now()

    # when a run's batches are scanned one by one, in another order, in batches of another size
    run = scan_run_create(as_of=AS_OF, batch_size=4)
    results = run_batches(run, order="shuffled")

    # then the flags, the history and the totals are the in-process scan's
    assert state() == clean
    assert history_since(before) == clean_history
    run.refresh_from_db()
    assert run.finished_at is not None
    assert (run.batches_total, run.batches_done) == (4, 4)
    assert scan_run_result(run) == dataclasses.replace(clean_result, batches=4)
    assert sum(result.created for result in results) == clean_result.created > 0
    for batch in run.batches.all():
        assert batch.attempts == 1
        assert batch.worker == "test"
        assert batch.started_at == batch.last_started_at <= batch.finished_at


def test_a_batch_run_again_changes_nothing_and_the_run_ends_once(caplog):
    programme = build_programme(per_kind=2)
    run = scan_run_create(as_of=AS_OF, batch_size=5)
    first, second, last = run.batches.order_by("number")

    # when all but the last batch committed, the run is not over
    with caplog.at_level(logging.INFO, logger="reviews.services.scan_runs"):
        scan_batch_run(batch_id=first.pk)
        scan_batch_run(batch_id=second.pk)
        run.refresh_from_db()
        assert (run.batches_done, run.finished_at) == (2, None)

        # when the last one commits, it ends the run
        assert scan_batch_run(batch_id=last.pk) is not None
        run.refresh_from_db()
        ended = (run.finished_at, run.result, run.batches_done)
        assert run.finished_at is not None and run.batches_done == 3
        flags, history_rows = rows(), LagFlag.history.count()

        # when every batch is delivered again (a worker died before acknowledging it)
        again = [scan_batch_run(batch_id=batch.pk) for batch in (first, second, last)]

    # then nothing is scanned, counted or ended again
    assert again == [None, None, None]
    assert rows() == flags
    assert LagFlag.history.count() == history_rows
    run.refresh_from_db()
    assert (run.finished_at, run.result, run.batches_done) == ended
    assert [batch.attempts for batch in run.batches.all()] == [1, 1, 1]
    assert sum(f"lag scan #{run.pk} as of" in record.getMessage() for record in caplog.records) == 1
    assert programme.kinds


@pytest.mark.postgres
def test_each_batch_run_twice_at_once_leaves_what_one_run_leaves(transactional_db):
    programme = build_programme(per_kind=3)  # 21 sub-projects
    clean, clean_result, clean_history = clean_scan(programme, batch_size=4)
    before = timezone.now()
    run = scan_run_create(as_of=AS_OF, batch_size=4)

    # when each batch is delivered to two workers at the same moment
    outcomes = []
    for pk in run.batches.order_by("number").values_list("pk", flat=True):
        outcomes.append(
            run_together(lambda pk=pk: scan_batch_run(batch_id=pk), lambda pk=pk: scan_batch_run(batch_id=pk))
        )

    # then one of the two scanned it, the other waited for it and did nothing
    assert all(sorted(result is None for result in pair) == [False, True] for pair in outcomes), outcomes
    # and the flags, their history and the totals are one scan's, each flag once
    assert state() == clean
    assert history_since(before) == clean_history
    duplicates = LagFlag.objects.values("node", "rule", "year", "quarter").annotate(n=Count("id")).filter(n__gt=1)
    assert list(duplicates) == []
    run.refresh_from_db()
    assert run.finished_at is not None
    assert scan_run_result(run) == dataclasses.replace(clean_result, batches=run.batches_total)


def test_the_same_dispatch_delivered_twice_is_one_run(django_capture_on_commit_callbacks):
    build_programme()

    # run eagerly, the group's jobs run at commit, in this process
    with always_eager(propagates=True), django_capture_on_commit_callbacks(execute=True):
        run = dispatch_scan(as_of=AS_OF, batch_size=3, key="outbox-1")
    with always_eager(propagates=True), django_capture_on_commit_callbacks(execute=True) as published:
        again = dispatch_scan(as_of=AS_OF, batch_size=3, key="outbox-1")

    assert again.pk == run.pk
    assert published == []  # every batch finished: nothing to publish again
    assert ScanRun.objects.count() == 1
    finished = scan_run_wait(run, timeout=0)
    assert finished.batches_done == finished.batches_total == 3
    assert list(ScanBatch.objects.values_list("attempts", flat=True)) == [1, 1, 1]


def test_the_daily_job_dispatches_a_run_whose_group_scans_every_batch(django_capture_on_commit_callbacks):
    programme = build_programme(per_kind=2)
    clean, clean_result, _ = clean_scan(programme)

    with always_eager(propagates=True), django_capture_on_commit_callbacks(execute=True):
        answer = scan_lagging.apply(kwargs={"as_of": AS_OF.isoformat()}).get()

    run = ScanRun.objects.get()
    assert answer == {"run": run.pk, "batches": 1}
    assert run.finished_at is not None
    assert state() == clean
    assert scan_run_result(run) == clean_result


def test_a_run_over_no_subprojects_is_over_at_once():
    run = scan_run_create(as_of=AS_OF)

    assert (run.batches_total, run.batches_done) == (0, 0)
    assert run.finished_at is not None
    assert scan_run_wait(run, timeout=0).pk == run.pk


def test_waiting_for_a_run_that_does_not_end_says_how_far_it_got():
    build_programme()
    run = scan_run_create(as_of=AS_OF, batch_size=3)

    with pytest.raises(TimeoutError, match=r"0 of 3 batches"):
        scan_run_wait(run, timeout=0, interval=0)


def test_a_batch_costs_the_same_queries_for_3_subprojects_as_for_33(django_assert_num_queries):
    plan = PlanFactory()
    underspent(3, plan)

    def one_batch_queries() -> int:
        LagFlag.objects.all().delete()
        (batch,) = scan_run_create(as_of=AS_OF, batch_size=100).batches.all()
        with CaptureQueriesContext(connection) as queries:
            assert scan_batch_run(batch_id=batch.pk).created == batch.subprojects
        return len(queries)

    few = one_batch_queries()
    underspent(30, plan)
    (batch,) = scan_run_create(as_of=AS_OF, batch_size=100).batches.all()
    LagFlag.objects.all().delete()
    with django_assert_num_queries(few):
        assert scan_batch_run(batch_id=batch.pk).created == 33


def test_the_command_spreads_the_scan_over_the_workers_and_waits_for_its_end(transactional_db):
    programme = build_programme(per_kind=2)
    clean, clean_result, _ = clean_scan(programme)
    out = io.StringIO()

    # run eagerly: the group's jobs run in this process when the run is committed
    with always_eager(propagates=True):
        call_command("scan_lagging", "--as-of", "113/11/15", "--on-workers", "--batch-size", "5", stdout=out)

    run = ScanRun.objects.get()
    published, summary = out.getvalue().splitlines()
    assert published == f"Lag scan #{run.pk}: 3 batches published to the workers."
    assert re.fullmatch(
        r"Scanned 14 sub-projects in 3 batches on the workers \(\d+\.\d s\): 12 flags opened, 0 raised, "
        r"0 lowered, 0 reopened, 2 cleared\.",
        summary,
    )
    assert (clean_result.created, clean_result.cleared) == (12, 2)
    assert state() == clean


def test_the_workers_scan_every_plan():
    with pytest.raises(CommandError, match="--plan"):
        call_command("scan_lagging", "--on-workers", "--plan", "smart-nation", stdout=io.StringIO())
    assert not ScanRun.objects.exists()


def test_a_batch_job_ends_before_the_broker_hands_it_to_another_worker_and_retries_what_committed_nothing(settings):
    from celery.exceptions import SoftTimeLimitExceeded
    from django.db import OperationalError

    from reviews.tasks import scan_batch

    assert scan_batch.name == "reviews.scan_batch"
    assert scan_batch.acks_late is True
    assert scan_batch.soft_time_limit < scan_batch.time_limit < settings.GSTP_BROKER_VISIBILITY_TIMEOUT
    assert {OperationalError, SoftTimeLimitExceeded} <= set(scan_batch.autoretry_for)
    assert (
        scan_batch.retry_backoff_max
        <= settings.GSTP_LONGEST_COUNTDOWN_SECONDS
        < settings.GSTP_BROKER_VISIBILITY_TIMEOUT
    )


def test_the_admin_shows_a_run_with_its_batches(admin_client):
    build_programme()
    run = scan_run_create(as_of=AS_OF, batch_size=3)
    scan_batch_run(batch_id=run.batches.get(number=2).pk, worker="celery@worker-2")

    listed = admin_client.get("/admin/reviews/scanrun/")
    shown = admin_client.get(f"/admin/reviews/scanrun/{run.pk}/change/")

    assert listed.status_code == shown.status_code == 200
    assert "celery@worker-2" in shown.content.decode()
    assert admin_client.get("/admin/reviews/scanrun/add/").status_code == 403


def waiting_to_insert_flags() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO reviews_lagflag%%'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
def test_a_batch_held_up_in_the_database_does_not_hold_up_the_others(transactional_db):
    programme = build_programme()  # 7 sub-projects, one of each kind
    clean, _, _ = clean_scan(programme)
    run = scan_run_create(as_of=AS_OF, batch_size=4)
    first, second = run.batches.order_by("number")
    held, release = threading.Event(), threading.Event()

    def hold_the_first_batchs_flag():
        """An uncommitted flag on a key the first batch inserts: it waits for this transaction."""
        try:
            with transaction.atomic():
                LagFlag.objects.create(
                    node=programme.one("underspent"),
                    rule=LagRule.BUDGET_EXECUTION,
                    year=2024,
                    quarter=3,
                    severity=Severity.YELLOW,
                    opened_at=timezone.now(),
                )
                held.set()
                release.wait(30)
                transaction.set_rollback(True)
        finally:
            connection.close()

    def in_thread(call):
        outcome = {}

        def target():
            try:
                outcome["result"] = call()
            finally:
                connection.close()

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread, outcome

    holder = threading.Thread(target=hold_the_first_batchs_flag, daemon=True)
    holder.start()
    assert held.wait(10)
    try:
        # given the first batch waiting on that flag, in its transaction
        first_thread, first_outcome = in_thread(lambda: scan_batch_run(batch_id=first.pk))
        wait_until(waiting_to_insert_flags, timeout=20, what="the first batch waiting")

        # when the second batch runs meanwhile, then it commits
        second_thread, second_outcome = in_thread(lambda: scan_batch_run(batch_id=second.pk))
        second_thread.join(20)
        assert not second_thread.is_alive(), "the second batch waited for the first"
        assert second_outcome["result"] is not None
        assert first_thread.is_alive()
        run.refresh_from_db()
        assert (run.batches_done, run.finished_at) == (1, None)
    finally:
        release.set()
        holder.join(10)
    # and once the first one commits, it ends the run, as one scan ends
    first_thread.join(20)
    assert first_outcome["result"] is not None
    run.refresh_from_db()
    assert run.batches_done == 2 and run.finished_at is not None
    assert state() == clean


def test_a_run_nothing_moved_for_a_while_is_published_again_and_ends(django_capture_on_commit_callbacks):
    # given: a run whose group was lost (written, never published) an hour ago, and one still moving
    programme = build_programme(per_kind=2)
    clean, clean_result, _ = clean_scan(programme)
    stalled = scan_run_create(as_of=AS_OF, batch_size=5)
    moving = scan_run_create(as_of=AS_OF, batch_size=5)
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    ScanRun.objects.filter(pk__in=[stalled.pk, moving.pk]).update(created_at=an_hour_ago)
    ScanBatch.objects.filter(run=moving, number=1).update(last_started_at=timezone.now(), attempts=1)

    # when: the sweep looks for runs nothing moved for 15 minutes
    with always_eager(propagates=True), django_capture_on_commit_callbacks(execute=True) as published:
        resumed = scan_runs_resume(idle=datetime.timedelta(minutes=15))

    # then: only the stalled one is published again, and its batches end it as a clean scan
    assert resumed == [stalled.pk] and len(published) == 1
    stalled.refresh_from_db()
    assert stalled.finished_at is not None and stalled.batches_done == stalled.batches_total == 3
    assert state() == clean
    # and a finished run, or one older than a day, is left alone
    ScanRun.objects.filter(pk=moving.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=False) as published:
        assert scan_runs_resume(idle=datetime.timedelta(minutes=15)) == []
    assert published == []
