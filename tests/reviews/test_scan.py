"""The lag scan (``reviews.services.lag_scan``, ``manage.py scan_lagging``, the ``reviews.scan_lagging`` job).

It must be safe to run twice, to run alongside itself and to be killed halfway; it raises, reopens and clears the
same flag rather than opening another; it asks for notifications only for what is new. Every scan here is given
its ``as_of`` so that nothing depends on the day the suite runs. The sub-projects run from 2021 to 2025; their
reports are due 10 days after quarter end (2024Q3: due 2024-10-10, red after 2024-10-30).
"""

from __future__ import annotations

import datetime
import io
import math
import re
import threading
from dataclasses import dataclass, field

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from projects.models import PlanNode
from reviews import services
from reviews.models import (
    FlagResolution,
    FlagStatus,
    LagFlag,
    LagRule,
    OutboxMessage,
    QuarterlyReport,
    ReportStatus,
)
from reviews.periods import Quarter
from reviews.services import ScanResult, lag_flag_acknowledge, lag_flag_resolve, lag_scan
from reviews.services import scan as scan_module
from reviews.tasks import scan_lagging
from tests.accounts.factories import secretariat_user
from tests.projects.factories import MilestoneFactory, PlanFactory
from tests.reviews.factories import WebhookSubscriptionFactory, report_in_status
from tests.reviews.lagging import AS_OF, KINDS, ON_PLAN, Q2, Q3, D, accepted, state
from tests.reviews.rules.builders import flag, indicator, subprojects, taipei

pytestmark = pytest.mark.django_db

Q4 = Quarter(2024, 4)
REPORTS = "/api/v1/reports/"
THREAD_TIMEOUT = 60


@dataclass
class Programme:
    """Sub-projects of every kind above, interleaved (so that any batch holds a mix), with the flags an earlier
    scan left: the 2024Q2 progress flag of each slipping sub-project."""

    kinds: dict[str, list[PlanNode]] = field(default_factory=dict)

    def seed(self) -> None:
        for sub in self.kinds["slipping"]:
            flag(
                sub,
                LagRule.PROGRESS_GAP,
                Q2,
                score=D(7),
                evidence={"rule": "progress_gap", "period": "2024Q2", "gap": "-7"},
                opened_at=taipei(2024, 8, 15, 2),
            )

    def reset(self) -> None:
        """Back to the state before any scan of the test."""
        LagFlag.objects.all().delete()
        OutboxMessage.objects.all().delete()
        self.seed()

    def one(self, kind) -> PlanNode:
        return self.kinds[kind][0]


def build_programme(per_kind: int = 1, plan=None) -> Programme:
    programme = Programme({kind: [] for kind in KINDS})
    for index, sub in enumerate(subprojects(per_kind * len(KINDS), plan=plan)):
        kind = list(KINDS)[index % len(KINDS)]
        KINDS[kind](sub)
        programme.kinds[kind].append(sub)
    programme.seed()
    return programme


@pytest.fixture
def programme() -> Programme:
    return build_programme()


def by_node(flags: dict) -> dict:
    """A ``state()`` grouped by sub-project."""
    grouped = {}
    for key, value in flags.items():
        grouped.setdefault(key[0], {})[key] = value
    return grouped


def rows() -> dict:
    """Every flag by id, with its times: what a scan that changes nothing leaves exactly as it was."""
    return {
        f.pk: (
            f.updated_at,
            f.opened_at,
            f.severity_raised_at,
            f.resolved_at,
            f.severity,
            f.status,
            f.resolution,
            f.score,
            f.evidence,
        )
        for f in LagFlag.objects.all()
    }


def the_flag(sub, rule, period) -> LagFlag:
    return LagFlag.objects.get(node=sub, rule=rule, year=period.year, quarter=period.quarter)


def outbox(task) -> list[dict]:
    return [message.kwargs for message in OutboxMessage.objects.filter(task=task).order_by("id")]


# --- what one scan does ---------------------------------------------------------------------------------------------


def test_one_scan_flags_what_the_rules_find(programme):
    result = lag_scan(as_of=AS_OF)

    sub = programme.one
    assert {key: value[:3] for key, value in state().items()} == {
        (sub("behind").pk, "progress_gap", "2024Q3"): ("yellow", "open", ""),
        (sub("underspent").pk, "budget_execution", "2024Q3"): ("red", "open", ""),
        (sub("late").pk, "late_report", "2024Q3"): ("red", "open", ""),
        (sub("milestone").pk, "milestone_overdue", "2024Q4"): ("yellow", "open", ""),
        (sub("slipping").pk, "progress_gap", "2024Q2"): ("yellow", "resolved", "cleared"),
        (sub("slipping").pk, "progress_gap", "2024Q3"): ("red", "open", ""),  # yellow two quarters running
        (sub("returned").pk, "late_report", "2024Q3"): ("red", "open", ""),
    }
    assert result == ScanResult(subprojects=7, batches=1, created=6, cleared=1)


def test_a_second_scan_creates_nothing_and_changes_nothing(programme):
    # given a scan, and one of its flags acknowledged since
    lag_scan(as_of=AS_OF)
    lag_flag_acknowledge(flag=the_flag(programme.one("late"), LagRule.LATE_REPORT, Q3), actor=secretariat_user())
    before, messages = rows(), OutboxMessage.objects.count()

    # when the scan runs again on the same day
    result = lag_scan(as_of=AS_OF)

    # then every flag is exactly as it was, and nothing new is asked of the workers
    assert result == ScanResult(subprojects=7, batches=1)
    assert rows() == before
    assert OutboxMessage.objects.count() == messages


def test_a_later_scan_only_updates_the_evidence_that_depends_on_the_day(programme):
    lag_scan(as_of=AS_OF)
    before = rows()

    result = lag_scan(as_of=AS_OF + datetime.timedelta(days=1))

    # the days late and the days overdue grew by one; nothing else changed
    after = rows()
    assert (result.created, result.raised, result.reopened, result.cleared) == (0, 0, 0, 0)
    changed = {pk for pk in before if after[pk] != before[pk]}
    late = the_flag(programme.one("late"), LagRule.LATE_REPORT, Q3)
    returned = the_flag(programme.one("returned"), LagRule.LATE_REPORT, Q3)
    milestone = the_flag(programme.one("milestone"), LagRule.MILESTONE_OVERDUE, Q4)
    assert changed == {late.pk, returned.pk, milestone.pk}
    assert result.updated == 3
    assert (late.evidence["days_late"], milestone.evidence["days_overdue"]) == (37, 46)


@pytest.mark.parametrize("acknowledged", [False, True], ids=["open", "acknowledged"])
def test_a_worsening_condition_raises_the_same_flag(acknowledged):
    # given the 2024Q3 report missing, flagged yellow the day after it was due
    (sub,) = subprojects()
    accepted(sub, period=Q2)
    lag_scan(as_of=datetime.date(2024, 10, 11))
    flag_before = the_flag(sub, LagRule.LATE_REPORT, Q3)
    assert (flag_before.severity, flag_before.severity_raised_at) == ("yellow", None)
    if acknowledged:
        lag_flag_acknowledge(flag=flag_before, actor=secretariat_user())

    # when it is still missing 31 days after quarter end
    result = lag_scan(as_of=datetime.date(2024, 10, 31))

    # then the same flag turned red, saying when
    raised = the_flag(sub, LagRule.LATE_REPORT, Q3)
    assert raised.pk == flag_before.pk
    assert raised.severity == "red"
    assert raised.severity_raised_at is not None
    assert raised.opened_at == flag_before.opened_at
    assert raised.status == ("acknowledged" if acknowledged else "open")
    assert raised.evidence["days_late"] == 21
    assert (result.created, result.raised) == (0, 1)
    assert LagFlag.objects.count() == 1
    # and the red is news for the secretariat
    assert outbox("reviews.notify_red_flags") == [{"flag_ids": [raised.pk]}]


def test_a_cleared_condition_is_resolved_by_the_next_scan():
    # given a yellow flag on the missing 2024Q3 report
    (sub,) = subprojects()
    accepted(sub, period=Q2)
    lag_scan(as_of=datetime.date(2024, 10, 15))
    flagged = the_flag(sub, LagRule.LATE_REPORT, Q3)

    # when the report is filed, and the next scan runs
    report_in_status(node=sub, status=ReportStatus.SUBMITTED, period=Q3, **ON_PLAN)
    result = lag_scan(as_of=datetime.date(2024, 10, 16))

    # then the flag is resolved as cleared, with the time
    cleared = the_flag(sub, LagRule.LATE_REPORT, Q3)
    assert cleared.pk == flagged.pk
    assert (cleared.status, cleared.resolution) == ("resolved", "cleared")
    assert cleared.resolved_at is not None
    assert cleared.resolved_by is None
    assert result.cleared == 1
    # and a third scan leaves it be
    assert lag_scan(as_of=datetime.date(2024, 10, 17)) == ScanResult(subprojects=1, batches=1)


def test_a_flag_for_an_earlier_quarter_is_resolved_when_a_newer_accepted_report_supersedes_it():
    # given 2024Q2 accepted 7 points behind, flagged
    (sub,) = subprojects()
    accepted(sub, period=Q2, actual_progress=D(53))
    lag_scan(as_of=datetime.date(2024, 8, 15))
    old = the_flag(sub, LagRule.PROGRESS_GAP, Q2)
    assert (old.severity, old.status) == ("yellow", "open")

    # when 2024Q3 is accepted on plan
    report_in_status(node=sub, status=ReportStatus.ACCEPTED, period=Q3, **ON_PLAN)
    result = lag_scan(as_of=AS_OF)

    # then the 2024Q2 flag is cleared, and no flag is opened for 2024Q3
    old.refresh_from_db()
    assert (old.status, old.resolution) == ("resolved", "cleared")
    assert old.resolved_at is not None
    assert LagFlag.objects.count() == 1
    assert (result.created, result.cleared) == (0, 1)


# --- the secretariat's resolutions -----------------------------------------------------------------------------------


@pytest.fixture
def behind_flag() -> LagFlag:
    """A yellow progress-gap flag for 2024Q3: accepted 8 points behind plan."""
    (sub,) = subprojects()
    accepted(sub, actual_progress=D(52))
    lag_scan(as_of=AS_OF)
    return the_flag(sub, LagRule.PROGRESS_GAP, Q3)


def set_actual_progress(flag: LagFlag, actual) -> None:
    """Correct the accepted report's figure in the database (the API locks accepted reports)."""
    QuarterlyReport.objects.filter(node=flag.node, year=flag.year, quarter=flag.quarter).update(
        actual_progress=D(actual)
    )


def test_a_manual_resolution_is_reopened_while_the_condition_holds(behind_flag):
    # given the flag resolved by hand
    lag_flag_resolve(flag=behind_flag, actor=secretariat_user(), reason="機關已提出說明")

    # when the next scan finds it still 8 points behind
    result = lag_scan(as_of=AS_OF)

    # then the same flag is open again
    reopened = LagFlag.objects.get(pk=behind_flag.pk)
    assert (reopened.status, reopened.severity, reopened.resolution, reopened.resolution_reason) == (
        "open",
        "yellow",
        "",
        "",
    )
    assert (reopened.resolved_at, reopened.resolved_by) == (None, None)
    assert result.reopened == 1
    assert LagFlag.objects.count() == 1


def test_a_manual_resolution_stays_once_the_condition_clears(behind_flag):
    lag_flag_resolve(flag=behind_flag, actor=secretariat_user(), reason="機關已提出說明")
    set_actual_progress(behind_flag, "60")

    result = lag_scan(as_of=AS_OF)

    resolved = LagFlag.objects.get(pk=behind_flag.pk)
    assert (resolved.status, resolved.resolution) == ("resolved", "resolved")
    assert result == ScanResult(subprojects=1, batches=1)


@pytest.mark.parametrize(
    "actual, reopened_as",
    [
        ("52", None),  # the same numbers
        ("54", None),  # better: 6 points behind
        ("51", None),  # a higher score of the same severity: 9 points behind, still yellow
        ("48", "red"),  # worse severity: 12 points behind
    ],
    ids=["same", "better", "higher-score", "higher-severity"],
)
def test_an_override_is_reopened_only_when_the_severity_gets_worse(behind_flag, actual, reopened_as):
    # given the flag overridden at 8 points behind
    lag_flag_resolve(flag=behind_flag, actor=secretariat_user(), reason="已核定展延", override=True)
    overridden = LagFlag.objects.get(pk=behind_flag.pk)
    assert (overridden.overridden_severity, overridden.overridden_score) == ("yellow", D(8))
    OutboxMessage.objects.all().delete()

    # when the figure changes (or not) and the scan runs
    set_actual_progress(behind_flag, actual)
    result = lag_scan(as_of=AS_OF)

    after = LagFlag.objects.get(pk=behind_flag.pk)
    if reopened_as is None:
        assert (after.status, after.resolution, after.resolution_reason) == ("resolved", "overridden", "已核定展延")
        assert after.resolved_at == overridden.resolved_at
        assert after.updated_at == overridden.updated_at
        assert result == ScanResult(subprojects=1, batches=1)
        assert outbox("reviews.notify_red_flags") == []
        return
    assert (after.status, after.severity, after.resolution) == ("open", reopened_as, "")
    assert (after.overridden_severity, after.overridden_score, after.resolved_at) == ("", None, None)
    assert after.score == D(60) - D(actual)
    assert after.evidence["actual_progress"] == actual
    assert result.reopened == 1
    assert outbox("reviews.notify_red_flags") == ([{"flag_ids": [after.pk]}] if reopened_as == "red" else [])


# --- severity follows the evidence ----------------------------------------------------------------------------------


def severity_history(flag: LagFlag) -> list[tuple]:
    """The flag's history, oldest first: what changed, and the gap, severity and status each row recorded."""
    return [
        (row.history_type, row.evidence["gap"], row.severity, row.status)
        for row in LagFlag.history.filter(id=flag.pk).order_by("history_date", "history_id")
    ]


@pytest.mark.parametrize("acknowledged", [False, True], ids=["open", "acknowledged"])
def test_the_severity_goes_back_to_yellow_and_red_again_as_the_gap_moves(acknowledged):
    # given 2024Q3 accepted 12 points behind: red
    (sub,) = subprojects()
    accepted(sub, actual_progress=D(48))
    lag_scan(as_of=AS_OF)
    red = the_flag(sub, LagRule.PROGRESS_GAP, Q3)
    assert red.severity == "red"
    if acknowledged:
        lag_flag_acknowledge(flag=red, actor=secretariat_user())
    OutboxMessage.objects.all().delete()
    status = "acknowledged" if acknowledged else "open"

    # when the figure is corrected to 6 points behind (past the yellow line, within the red)
    set_actual_progress(red, "54")
    result = lag_scan(as_of=AS_OF)

    # then the same flag is yellow again, still worked on, with the new evidence
    lowered = the_flag(sub, LagRule.PROGRESS_GAP, Q3)
    assert (lowered.pk, lowered.severity, lowered.status, lowered.score) == (red.pk, "yellow", status, D(6))
    assert lowered.evidence["gap"] == "-6"
    assert lowered.severity_raised_at is None  # it was never raised: opened red
    assert (result.lowered, result.raised, result.updated, result.cleared) == (1, 0, 1, 0)
    assert outbox("reviews.notify_red_flags") == []
    # and a scan finding the same leaves it be
    assert lag_scan(as_of=AS_OF) == ScanResult(subprojects=1, batches=1)

    # when it slips back to 11 points behind
    set_actual_progress(red, "49")
    result = lag_scan(as_of=AS_OF)

    # then it is red again, raised now, and the red is news
    raised = the_flag(sub, LagRule.PROGRESS_GAP, Q3)
    assert (raised.pk, raised.severity, raised.status) == (red.pk, "red", status)
    assert raised.severity_raised_at is not None
    assert (result.raised, result.lowered) == (1, 0)
    assert outbox("reviews.notify_red_flags") == [{"flag_ids": [red.pk]}]
    # each change a row of the flag's history, with the evidence it was decided on
    opened = [("+", "-12", "red", "open")] + ([("~", "-12", "red", "acknowledged")] if acknowledged else [])
    assert severity_history(red) == [*opened, ("~", "-6", "yellow", status), ("~", "-11", "red", status)]


def test_an_override_at_yellow_holds_while_the_gap_widens_within_yellow_and_is_lifted_at_red(behind_flag):
    # given the yellow flag (8 points behind) overridden
    lag_flag_resolve(flag=behind_flag, actor=secretariat_user(), reason="已核定展延", override=True)
    overridden = LagFlag.objects.get(pk=behind_flag.pk)
    history_rows = LagFlag.history.filter(id=behind_flag.pk).count()

    # when it falls to 9.5 points behind: worse, but still yellow
    set_actual_progress(behind_flag, "50.5")
    assert lag_scan(as_of=AS_OF) == ScanResult(subprojects=1, batches=1)

    # then the override holds, untouched
    held = LagFlag.objects.get(pk=behind_flag.pk)
    assert (held.status, held.resolution, held.severity, held.score) == ("resolved", "overridden", "yellow", D(8))
    assert held.updated_at == overridden.updated_at
    assert LagFlag.history.filter(id=behind_flag.pk).count() == history_rows

    # when it falls to 10 points behind: red
    set_actual_progress(behind_flag, "50")
    result = lag_scan(as_of=AS_OF)

    # then the override is lifted: the flag is open and red, with the red's evidence
    reopened = LagFlag.objects.get(pk=behind_flag.pk)
    assert (reopened.status, reopened.resolution, reopened.severity, reopened.overridden_severity) == (
        "open",
        "",
        "red",
        "",
    )
    assert (reopened.score, reopened.evidence["gap"]) == (D(10), "-10")
    assert result.reopened == 1
    assert severity_history(reopened)[-1] == ("~", "-10", "red", "open")


def test_a_late_report_overridden_at_yellow_holds_while_the_days_grow_and_reopens_at_red():
    # given the 2024Q3 report missing, flagged yellow the day after it was due, and overridden
    (sub,) = subprojects()
    accepted(sub, period=Q2)
    lag_scan(as_of=datetime.date(2024, 10, 11))
    late = the_flag(sub, LagRule.LATE_REPORT, Q3)
    lag_flag_resolve(flag=late, actor=secretariat_user(), reason="機關已說明延誤原因", override=True)
    overridden = LagFlag.objects.get(pk=late.pk)
    assert (overridden.severity, overridden.evidence["days_late"]) == ("yellow", 1)

    # when it is still missing day after day, within the red line (30 days after quarter end)
    for day in (15, 20, 30):
        assert lag_scan(as_of=datetime.date(2024, 10, day)) == ScanResult(subprojects=1, batches=1)

    # then the override holds, at yellow, as it was accepted
    held = LagFlag.objects.get(pk=late.pk)
    assert (held.status, held.resolution, held.severity) == ("resolved", "overridden", "yellow")
    assert (held.evidence, held.updated_at) == (overridden.evidence, overridden.updated_at)

    # when it is still missing 31 days after quarter end: red
    result = lag_scan(as_of=datetime.date(2024, 10, 31))

    # then the flag is open again, red
    reopened = LagFlag.objects.get(pk=late.pk)
    assert (reopened.status, reopened.severity, reopened.evidence["days_late"]) == ("open", "red", 21)
    assert result.reopened == 1
    assert outbox("reviews.notify_red_flags")[-1] == {"flag_ids": [late.pk]}


# --- batches ---------------------------------------------------------------------------------------------------------
# The tests that run several scans from a clean slate use ``transactional_db``: each batch then commits for real, as
# it does in the worker, rather than being a savepoint in the test's transaction.


def test_the_batch_size_does_not_change_the_result(transactional_db):
    programme = build_programme(per_kind=2)  # 14 sub-projects, kinds interleaved
    results, states = {}, {}
    for batch_size in (1, 7, 1000):
        programme.reset()
        results[batch_size] = lag_scan(as_of=AS_OF, batch_size=batch_size)
        states[batch_size] = state()

    assert states[1] == states[7] == states[1000]
    assert len(states[1000]) == 14
    for batch_size, result in results.items():
        assert result.batches == math.ceil(14 / batch_size)
        assert (result.subprojects, result.created, result.cleared) == (14, 12, 2)


def underspent(count, plan):
    """``count`` sub-projects of ``plan``, each having spent 70 % of its budget (one red flag each)."""
    subs = subprojects(count, plan=plan)
    for sub in subs:
        accepted(sub, budget_spent=D(700_000))
    return subs


def scan_queries(**options) -> int:
    LagFlag.objects.all().delete()
    OutboxMessage.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        result = lag_scan(as_of=AS_OF, workers=1, **options)
    assert result.created == result.subprojects
    return len(queries)


def test_queries_grow_with_the_batches_not_with_the_subprojects(transactional_db, django_assert_num_queries):
    # given a plan of 3 and a plan of 30 sub-projects, alike
    few, many = PlanFactory(), PlanFactory()
    underspent(3, few)
    underspent(30, many)

    # then one batch of 30 costs what one batch of 3 costs, in the first scan and in the next
    # (on one thread: the queries counted are the caller's connection's)
    one_batch = scan_queries(plan=few)
    with django_assert_num_queries(one_batch):
        assert lag_scan(as_of=AS_OF, plan=many, workers=1).created == 30
    with CaptureQueriesContext(connection) as again_few:
        lag_scan(as_of=AS_OF, plan=few, workers=1)
    with django_assert_num_queries(len(again_few)):
        assert lag_scan(as_of=AS_OF, plan=many, workers=1).created == 0

    # and each further batch adds the same number, whatever its size
    three_batches_of_one = scan_queries(plan=few, batch_size=1)
    three_batches_of_ten = scan_queries(plan=many, batch_size=10)
    two_batches_of_fifteen = scan_queries(plan=many, batch_size=15)
    assert three_batches_of_one == three_batches_of_ten
    per_batch = two_batches_of_fifteen - one_batch
    assert per_batch > 0
    assert three_batches_of_ten - two_batches_of_fifteen == per_batch


# --- two at once, killed halfway -------------------------------------------------------------------------------------


def run_together(*calls):
    """Run each call in its own thread (with its own database connection), all released at once."""
    barrier = threading.Barrier(len(calls))
    results, failures = [None] * len(calls), []

    def worker(index, call):
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results[index] = call()
        except BaseException as exc:  # re-raised in the test's thread below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a scan hung"
    assert not failures, failures
    return results


@pytest.mark.postgres
def test_two_scans_at_once_end_as_one_scan(transactional_db):
    # given a programme, and the state one scan leaves it in
    programme = build_programme(per_kind=3)  # 21 sub-projects
    lag_scan(as_of=AS_OF, batch_size=4)
    one_scan = state()
    opened_by_one_scan = LagFlag.objects.filter(opened_at__gt=taipei(2024, 8, 15, 2)).count()

    for _round in range(5):
        programme.reset()

        # when two scans start at the same moment
        results = run_together(lambda: lag_scan(as_of=AS_OF, batch_size=4), lambda: lag_scan(as_of=AS_OF, batch_size=4))

        # then no flag is there twice, each was opened by one of them, and the end state is one scan's
        duplicates = LagFlag.objects.values("node", "rule", "year", "quarter").annotate(n=Count("id")).filter(n__gt=1)
        assert list(duplicates) == []
        assert sum(result.created for result in results) == opened_by_one_scan
        assert state() == one_scan


def test_a_scan_killed_halfway_then_run_again_ends_as_one_clean_scan(transactional_db, monkeypatch):
    # given a programme, and the state one clean scan leaves it in
    programme = build_programme(per_kind=2)  # 14 sub-projects: batches of 5, 5, 4
    lag_scan(as_of=AS_OF, batch_size=5)
    clean = state()
    programme.reset()
    seeded = state()

    # when a scan dies in its second batch, after that batch's writes
    real_scan_batch = scan_module._scan_batch
    batches = []

    def dies_in_the_second_batch(batch):
        batches.append(batch.ids)
        result = real_scan_batch(batch)
        if len(batches) == 2:
            raise RuntimeError("worker lost")
        return result

    monkeypatch.setattr(scan_module, "_scan_batch", dies_in_the_second_batch)
    with pytest.raises(RuntimeError, match="worker lost"):
        lag_scan(as_of=AS_OF, batch_size=5, workers=1)
    monkeypatch.undo()

    # then the first batch is committed, the second rolled back, the rest never scanned
    first_batch = set(batches[0])
    now = state()
    assert {key: value for key, value in now.items() if key[0] in first_batch} == {
        key: value for key, value in clean.items() if key[0] in first_batch
    }
    assert {key: value for key, value in now.items() if key[0] not in first_batch} == {
        key: value for key, value in seeded.items() if key[0] not in first_batch
    }

    # and when the scan runs again, the end state is the clean scan's
    lag_scan(as_of=AS_OF, batch_size=5)
    assert state() == clean
    # with each red flag notified exactly once over the two runs
    notified = [pk for kwargs in outbox("reviews.notify_red_flags") for pk in kwargs["flag_ids"]]
    red = LagFlag.objects.filter(severity="red", status=FlagStatus.OPEN).values_list("pk", flat=True)
    assert sorted(notified) == sorted(red)


@pytest.mark.postgres
def test_batches_on_several_threads_end_as_one_thread_does(transactional_db, monkeypatch):
    # given a programme, and the state a scan on the caller's thread leaves it in
    programme = build_programme(per_kind=3)  # 21 sub-projects: 11 batches of 2
    serial = lag_scan(as_of=AS_OF, batch_size=2, workers=1)
    one_thread = state()
    programme.reset()

    # when the batches run on two threads
    real_scan_batch = scan_module._scan_batch
    threads = set()

    def recorded(batch):
        threads.add(threading.current_thread().name)
        return real_scan_batch(batch)

    monkeypatch.setattr(scan_module, "_scan_batch", recorded)
    threaded = lag_scan(as_of=AS_OF, batch_size=2, workers=2)

    # then they ran off the caller's thread, and ended in the same flags and figures
    assert threads and threads <= {"lag-scan-1", "lag-scan-2"}
    assert state() == one_thread
    assert threaded == serial == ScanResult(subprojects=21, batches=11, created=serial.created, cleared=serial.cleared)
    assert serial.created > 0


@pytest.mark.postgres
def test_a_batch_failing_on_one_thread_stops_the_scan_and_a_rerun_ends_clean(transactional_db, monkeypatch):
    # given a programme, and the state one clean scan leaves it in
    programme = build_programme(per_kind=3)  # 21 sub-projects: 11 batches of 2
    lag_scan(as_of=AS_OF, batch_size=2, workers=1)
    clean = state()
    programme.reset()
    seeded = state()

    # when the third batch fails after its writes, with two threads scanning
    real_scan_batch = scan_module._scan_batch
    started, after_failure, lock, failed = [], [], threading.Lock(), threading.Event()

    def fails_in_the_third_batch(batch):
        with lock:
            started.append(batch.ids)
            third = len(started) == 3
            if failed.is_set():
                after_failure.append(batch.ids)
        result = real_scan_batch(batch)
        if third:
            failed.set()
            raise RuntimeError("worker lost")
        return result

    monkeypatch.setattr(scan_module, "_scan_batch", fails_in_the_third_batch)
    with pytest.raises(RuntimeError, match="worker lost"):
        lag_scan(as_of=AS_OF, batch_size=2, workers=2)
    monkeypatch.undo()

    # then no batch starts once the failure is known (bar one the other thread took up in that instant);
    # every sub-project is either as the clean scan left it or untouched, and the failed batch's untouched
    assert len(after_failure) <= 1
    now, failed_batch = by_node(state()), set(started[2])
    clean_nodes, seeded_nodes = by_node(clean), by_node(seeded)
    for node in clean_nodes.keys() | seeded_nodes.keys():
        assert now.get(node) in (clean_nodes.get(node), seeded_nodes.get(node))
        if node in failed_batch:
            assert now.get(node) == seeded_nodes.get(node)

    # and when the scan runs again, the end state is the clean scan's
    lag_scan(as_of=AS_OF, batch_size=2, workers=2)
    assert state() == clean


# --- notifications ---------------------------------------------------------------------------------------------------


def test_new_red_flags_are_notified_and_no_webhook_is_fanned_out_without_a_subscription(programme):
    lag_scan(as_of=AS_OF)

    red = sorted(LagFlag.objects.filter(severity="red").values_list("pk", flat=True))
    assert len(red) == 4
    assert outbox("reviews.notify_red_flags") == [{"flag_ids": red}]
    assert outbox("reviews.fan_out_webhook") == []

    # and the second scan asks for nothing
    lag_scan(as_of=AS_OF)
    assert len(outbox("reviews.notify_red_flags")) == 1
    assert outbox("reviews.fan_out_webhook") == []


def test_flag_events_are_fanned_out_to_webhook_subscribers(programme):
    WebhookSubscriptionFactory(
        name="開放資料平臺", url="https://example.org/hook", secret="s", events=["flag.raised", "flag.resolved"]
    )

    lag_scan(as_of=AS_OF)

    opened = sorted(LagFlag.objects.filter(status=FlagStatus.OPEN).values_list("pk", flat=True))
    cleared = [the_flag(programme.one("slipping"), LagRule.PROGRESS_GAP, Q2).pk]
    assert outbox("reviews.fan_out_webhook") == [
        {"event": "flag.raised", "ids": opened},
        {"event": "flag.resolved", "ids": cleared},
    ]

    lag_scan(as_of=AS_OF)
    assert len(outbox("reviews.fan_out_webhook")) == 2


@pytest.mark.parametrize(
    "subscription",
    [
        {"events": ["report.accepted"]},
        {"events": ["flag.raised", "flag.resolved"], "is_active": False},
    ],
    ids=["other-event", "inactive"],
)
def test_no_fan_out_without_an_active_subscription_to_the_event(programme, subscription):
    WebhookSubscriptionFactory(name="儀表板", url="https://example.org/hook", secret="s", **subscription)

    lag_scan(as_of=AS_OF)

    assert outbox("reviews.fan_out_webhook") == []
    assert len(outbox("reviews.notify_red_flags")) == 1


def test_a_reopened_flag_is_raised_again_for_subscribers(behind_flag):
    WebhookSubscriptionFactory(name="儀表板", url="https://example.org/hook", secret="s", events=["flag.raised"])
    lag_flag_resolve(flag=behind_flag, actor=secretariat_user(), reason="機關已提出說明")
    OutboxMessage.objects.all().delete()

    lag_scan(as_of=AS_OF)

    assert outbox("reviews.fan_out_webhook") == [{"event": "flag.raised", "ids": [behind_flag.pk]}]
    assert outbox("reviews.notify_red_flags") == []  # a yellow


# --- the command and the job -----------------------------------------------------------------------------------------

SUMMARY = re.compile(
    r"Scanned (\d+) sub-projects in (\d+) batches \(\d+\.\d s\): (\d+) flags opened, (\d+) raised, "
    r"(\d+) lowered, (\d+) reopened, (\d+) cleared\.\n"
)


def run_command(*args) -> tuple[int, ...]:
    out = io.StringIO()
    call_command("scan_lagging", *args, stdout=out)
    match = SUMMARY.fullmatch(out.getvalue())
    assert match, out.getvalue()
    return tuple(int(number) for number in match.groups())


@pytest.mark.parametrize("day", ["2024-12-31", "113/12/31", "民國113年12月31日"])
def test_the_command_scans_and_prints_its_summary(programme, day):
    summary = run_command("--as-of", day)

    opened = LagFlag.objects.filter(opened_at__gt=taipei(2024, 8, 15, 2)).count()
    assert summary == (7, 1, opened, 0, 0, 0, 1)
    assert opened == 6
    # as of 2024-12-31: the milestone is 91 days late
    assert the_flag(programme.one("milestone"), LagRule.MILESTONE_OVERDUE, Q4).severity == "red"


def test_the_command_takes_a_plan_and_a_batch_size():
    build_programme(plan=PlanFactory(code="smart-nation"))
    (elsewhere,) = subprojects(plan=PlanFactory(code="other"))
    KINDS["late"](elsewhere)

    assert run_command("--as-of", "2024-11-15", "--plan", "smart-nation", "--batch-size", "2") == (7, 4, 6, 0, 0, 0, 1)
    assert not LagFlag.objects.filter(node=elsewhere).exists()
    assert {flag.node.plan.code for flag in LagFlag.objects.select_related("node__plan")} == {"smart-nation"}


@pytest.mark.parametrize("value", ["2024-13-01", "31/12/2024", "yesterday", "113/13/01", "民國0年1月1日"])
def test_a_bad_date_is_a_command_error(value):
    with pytest.raises(CommandError, match="--as-of.*民國113年7月1日"):
        call_command("scan_lagging", "--as-of", value, stdout=io.StringIO())
    assert not LagFlag.objects.exists()


def test_an_unknown_plan_is_a_command_error(programme):
    with pytest.raises(CommandError, match="No plan 'nope'"):
        call_command("scan_lagging", "--as-of", "2024-11-15", "--plan", "nope", stdout=io.StringIO())
    assert LagFlag.objects.count() == 1  # only the seeded one


def test_accepting_a_report_asks_for_a_scan_of_that_subproject():
    # given two sub-projects missing their 2024Q3 report, one of which files it
    (sub, other) = subprojects(2)
    KINDS["late"](other)
    report = report_in_status(node=sub, status=ReportStatus.SUBMITTED, period=Q3)
    assert outbox("reviews.scan_lagging") == []

    # when it is accepted
    services.report_accept(actor=secretariat_user(), report=report, expected_version=report.version)

    # then a scan of that sub-project alone is asked for
    assert outbox("reviews.scan_lagging") == [{"node_ids": [sub.pk]}]
    # and the job it asks for scans just that sub-project
    result = scan_lagging(as_of="2024-11-15", **outbox("reviews.scan_lagging")[0])
    assert result["subprojects"] == 1
    assert not LagFlag.objects.filter(node=other).exists()


def test_accepting_a_report_through_the_api_asks_for_a_scan_of_that_subproject(secretariat_client):
    (sub,) = subprojects()
    report = report_in_status(node=sub, status=ReportStatus.SUBMITTED, period=Q3)

    response = secretariat_client.post(f"{REPORTS}{report.pk}/accept/", {}, format="json", HTTP_IF_MATCH=report.etag)

    assert response.status_code == 200, response.json()
    assert outbox("reviews.scan_lagging") == [{"node_ids": [sub.pk]}]


@pytest.mark.parametrize("status", [ReportStatus.SUBMITTED, ReportStatus.RETURNED])
def test_submitting_or_returning_asks_for_no_scan(status):
    (sub,) = subprojects()
    report_in_status(node=sub, status=status, period=Q3)

    assert outbox("reviews.scan_lagging") == []


# --- known bugs --------------------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_scan_inside_an_outer_transaction_writes_only_its_own_flags():
    # given two sub-projects that have spent 70 % of their budgets
    (first, second) = subprojects(2)
    for sub in (first, second):
        accepted(sub, budget_spent=D(700_000))

    # when, in one transaction, the first is scanned, the flags are removed, and the second is scanned
    with transaction.atomic():
        lag_scan(as_of=AS_OF, node_ids=[first.pk])
        LagFlag.objects.all().delete()
        result = lag_scan(as_of=AS_OF, node_ids=[second.pk])

    # then the second scan wrote the second sub-project's flag, and nothing about the first
    assert result.created == 1
    assert list(LagFlag.objects.values_list("node_id", flat=True)) == [second.pk]


@pytest.fixture
def indicator_flag() -> LagFlag:
    """A red indicator flag: 60 of a 2024 target of 90 at the end of 2024, a ratio of 2/3."""
    (sub,) = subprojects()
    accepted(sub)
    indicator(sub, targets=[(2024, 0, "90")], actuals=[(2024, 4, "60")])
    lag_scan(as_of=datetime.date(2024, 12, 31))
    return the_flag(sub, LagRule.INDICATOR_BEHIND, Q4)


def test_a_second_scan_leaves_an_indicator_flag_untouched(indicator_flag):
    assert indicator_flag.severity == "red"
    before = rows()

    result = lag_scan(as_of=datetime.date(2024, 12, 31))

    assert result == ScanResult(subprojects=1, batches=1)
    assert rows() == before


def test_an_overridden_indicator_flag_stays_resolved_while_its_numbers_hold(indicator_flag):
    lag_flag_resolve(flag=indicator_flag, actor=secretariat_user(), reason="指標定義修正中", override=True)

    lag_scan(as_of=datetime.date(2024, 12, 31))

    indicator_flag.refresh_from_db()
    assert (indicator_flag.status, indicator_flag.resolution) == (FlagStatus.RESOLVED, FlagResolution.OVERRIDDEN)


def test_a_milestone_still_overdue_across_a_quarter_end_is_not_cleared():
    # given a milestone one day overdue on 2024-09-30, flagged yellow
    (sub,) = subprojects()
    accepted(sub, period=Q2)
    MilestoneFactory(node=sub, planned_date=datetime.date(2024, 9, 29))
    lag_scan(as_of=datetime.date(2024, 9, 30))
    flagged = LagFlag.objects.get(node=sub, rule=LagRule.MILESTONE_OVERDUE)

    # when it is still not done the next day, the first of 2024Q4
    lag_scan(as_of=datetime.date(2024, 10, 1))

    # then its flag has not been resolved as cleared: the condition holds
    flagged.refresh_from_db()
    assert flagged.status != FlagStatus.RESOLVED
    active = LagFlag.objects.filter(node=sub, rule=LagRule.MILESTONE_OVERDUE, status=FlagStatus.OPEN)
    assert [flag.severity for flag in active] == ["yellow"]  # 2 days late, not critical: yellow
