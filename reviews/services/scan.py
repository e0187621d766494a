"""The lag scan: every rule over every sub-project, set-based, in bounded batches.

Each batch is one transaction: its rules' queries, then inserts of new flags
against the one-per-rule-and-quarter constraint (``ignore_conflicts``), and
conditional updates (set a severity only if it is still another, clear only
what is still open). So two scans at once, or a scan killed halfway and run
again, end in the same state as one scan; a second scan inserts nothing.

An open flag's severity follows the evidence both ways: red when the numbers
cross the red line, yellow again when they come back within it; every change
is a row of the flag's history with the evidence it was decided on. An
override holds while the evidence stays at or below the severity overridden:
only a worse severity reopens the flag, not a worse number of the same one
(more days late, a wider gap still yellow).
"""

from __future__ import annotations

import datetime
import json
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Case, CharField, DateTimeField, Q, Value, When
from django.utils import timezone

from projects import services as project_services
from projects.models import NodeKind, Plan, PlanNode

from ..models import (
    ACTIVE_STATUSES,
    SEVERITY_RANK,
    FlagResolution,
    FlagStatus,
    LagFlag,
    LagRule,
    LagSettings,
    Severity,
)
from ..periods import Quarter, in_quarters, today
from ..rules import (
    FLAG_STATE_FIELDS,
    Batch,
    Finding,
    FlagState,
    SubProject,
    budget_execution,
    consecutive,
    indicator_behind,
    late_report,
    milestone_overdue,
    progress_gap,
    rebaselined,
    review_overdue,
)
from ..selectors import latest_accepted_reports
from .notifications import red_flags_notify_enqueue, webhook_event_enqueue

logger = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 2000


@dataclass
class ScanResult:
    subprojects: int = 0
    batches: int = 0
    created: int = 0
    raised: int = 0
    lowered: int = 0
    reopened: int = 0
    cleared: int = 0
    updated: int = 0

    def add(self, other: ScanResult) -> None:
        for name in ("subprojects", "created", "raised", "lowered", "reopened", "cleared", "updated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def lag_scan(
    *,
    as_of: datetime.date | None = None,
    plan: Plan | None = None,
    node_ids: list[int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
) -> ScanResult:
    """Scan the sub-projects (of ``plan``, or just ``node_ids``) as of a day (today in Asia/Taipei).

    On PostgreSQL, ``workers`` threads (``settings.LAG_SCAN_WORKERS`` by default) scan batches side by
    side, each on its own connection and in its own transactions, so one batch's rules run in Python
    while another's queries run in the database. Inside a caller's transaction, or on SQLite, batches
    run one after another on the caller's connection.
    """
    as_of = as_of or today()
    subprojects = PlanNode.objects.filter(kind=NodeKind.SUBPROJECT)
    if plan is not None:
        subprojects = subprojects.filter(plan=plan)
    if node_ids is not None:
        subprojects = subprojects.filter(pk__in=node_ids)
    plans = {p.pk: p for p in Plan.objects.all()}
    settings = _settings_for(plans)
    batches = _batches(subprojects, as_of=as_of, batch_size=batch_size, settings=settings, plans=plans)
    workers = django_settings.LAG_SCAN_WORKERS if workers is None else workers
    if workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        results = _run_in_threads(batches, workers)
    else:
        results = map(_run_batch, batches)
    result = ScanResult()
    for batch_result in results:
        result.add(batch_result)
        result.batches += 1
    logger.info("lag scan as of %s: %s", as_of, result)
    return result


def _batches(subprojects, *, as_of, batch_size, settings, plans) -> Iterator[Batch]:
    """The sub-projects in batches of ``batch_size`` by id, each read when the one before is handed out."""
    last_id = 0
    while True:
        rows = list(
            subprojects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "plan_id", "start_date", "end_date", "control_level")[:batch_size]
        )
        if not rows:
            return
        scope = subprojects.filter(pk__gt=last_id, pk__lte=rows[-1][0]).values("pk")
        last_id = rows[-1][0]
        yield Batch(
            as_of=as_of, subprojects=[SubProject(*row) for row in rows], settings=settings, plans=plans, scope=scope
        )


def _run_batch(batch: Batch) -> ScanResult:
    """One batch, in one transaction: committed whole, or (killed, failed) not at all."""
    with transaction.atomic():
        batch_transaction_begin()
        result = _scan_batch(batch)
    result.subprojects = len(batch.subprojects)
    return result


def batch_transaction_begin() -> None:
    """Settings for the transaction a batch runs in (on PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A batch's queries are small; parallel workers would cost more to start than they save.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def batch_for_range(*, as_of: datetime.date, first_id: int, last_id: int) -> Batch:
    """The sub-projects with ``first_id <= id <= last_id``, as one batch (a batch of a run on the workers)."""
    subprojects = PlanNode.objects.filter(kind=NodeKind.SUBPROJECT, pk__gte=first_id, pk__lte=last_id)
    plans = {p.pk: p for p in Plan.objects.all()}
    rows = subprojects.order_by("pk").values_list("pk", "plan_id", "start_date", "end_date", "control_level")
    return Batch(
        as_of=as_of,
        subprojects=[SubProject(*row) for row in rows],
        settings=_settings_for(plans),
        plans=plans,
        scope=subprojects.values("pk"),
    )


def scan_one_batch(batch: Batch) -> ScanResult:
    """A batch's writes, in the caller's transaction (``batch_transaction_begin`` first)."""
    result = _scan_batch(batch) if batch.subprojects else ScanResult()
    result.subprojects = len(batch.subprojects)
    return result


def _run_in_threads(batches: Iterator[Batch], workers: int) -> list[ScanResult]:
    """Run the batches on ``workers`` threads, each with its own connection, reading the next batch only
    when a thread is free for it. A failing batch stops the scan after the batches already running end,
    and is raised here; what committed stays, as when one thread is killed halfway."""
    todo: queue.Queue = queue.Queue(maxsize=workers)
    results: list[ScanResult] = []
    failures: list[BaseException] = []

    def work():
        try:
            while (batch := todo.get()) is not None:
                if failures:
                    continue  # drain what was queued, so the reader never blocks
                try:
                    results.append(_run_batch(batch))
                except BaseException as exc:  # raised in the caller's thread below
                    failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, name=f"lag-scan-{i + 1}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for batch in batches:
            if failures:
                break
            todo.put(batch)
    finally:
        for _thread in threads:
            todo.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return results


def _settings_for(plans: dict[int, Plan]) -> dict[int, LagSettings]:
    """Each plan's lag settings with its control levels' (made with the defaults where missing)."""
    missing = [LagSettings(plan_id=plan_id) for plan_id in plans]
    LagSettings.objects.bulk_create(missing, ignore_conflicts=True)
    existing = {s.plan_id: s for s in LagSettings.objects.filter(plan_id__in=plans).prefetch_related("levels")}
    for lag_settings in existing.values():
        lag_settings.plan = plans[lag_settings.plan_id]
    return existing


def evaluate_rules(batch: Batch) -> list[Finding]:
    # Only reports past the loosest yellow threshold of the batch's sub-projects come back; each rule then
    # applies the sub-project's own thresholds. Progress is judged on the latest figures, a monthly update's
    # or a quarterly report's; the budget on the latest quarterly report, whose quarter the ledger allocates.
    level_settings = [batch.settings_for(sub) for sub in batch.subprojects]
    reports = latest_accepted_reports(batch.nodes, gap_at_most=max(s.progress_gap_yellow for s in level_settings))
    quarterly = latest_accepted_reports(
        batch.nodes, execution_below=max(s.budget_yellow_below for s in level_settings), quarterly_only=True
    )
    findings = [
        *late_report.evaluate(batch),
        *milestone_overdue.evaluate(batch),
        *progress_gap.evaluate(batch, reports),
        *budget_execution.evaluate(batch, quarterly),
        *indicator_behind.evaluate(batch),
        *review_overdue.evaluate(batch),
        *rebaselined.evaluate(batch),
    ]
    _carry_forward(batch, findings)
    return consecutive.escalate(batch, findings)


# Rules judged on the scan's day, not on a quarter's report: while such a flag stays open, a later
# quarter's finding continues it instead of clearing it and opening another.
CARRIED_RULES = (LagRule.MILESTONE_OVERDUE, LagRule.INDICATOR_BEHIND, LagRule.REBASELINED)


def _carry_forward(batch: Batch, findings: list[Finding]) -> None:
    open_periods = {}
    for flag in batch.active_flags:
        if flag.rule in CARRIED_RULES:
            period = Quarter(flag.year, flag.quarter)
            open_periods[(flag.node_id, flag.rule)] = min(period, open_periods.get((flag.node_id, flag.rule), period))
    for finding in findings:
        period = open_periods.get((finding.node_id, finding.rule))
        if period is not None and period < finding.period:
            finding.period = period
            finding.evidence["period"] = str(period)


def _key(node_id, rule, period):
    return (node_id, rule, period.year, period.quarter)


def _scan_batch(batch: Batch) -> ScanResult:
    result = ScanResult()
    now = timezone.now()
    findings = evaluate_rules(batch)
    found = {_key(f.node_id, f.rule, f.period): f for f in findings}
    # Open flags, and resolved ones of the quarters found again (they may reopen).
    resolved = LagFlag.objects.filter(
        in_quarters({f.period for f in findings}), batch.within(), status=FlagStatus.RESOLVED
    )
    existing = {
        (flag.node_id, flag.rule, flag.year, flag.quarter): flag
        for flag in [
            *batch.active_flags,
            *(FlagState(*row) for row in resolved.order_by().values_list(*FLAG_STATE_FIELDS)),
        ]
    }
    new_flags, raise_to, lower_to, reopen, changed_evidence = (
        [],
        defaultdict(list),
        defaultdict(list),
        defaultdict(list),
        [],
    )
    for key, finding in found.items():
        flag = existing.get(key)
        if flag is None:
            new_flags.append(finding)
            continue
        if flag.status == FlagStatus.RESOLVED:
            if flag.resolution == FlagResolution.OVERRIDDEN and not _worse_than_override(finding, flag):
                continue
            reopen[finding.severity].append(flag.id)
        elif SEVERITY_RANK[finding.severity] > SEVERITY_RANK[flag.severity]:
            raise_to[finding.severity].append(flag.id)
        elif SEVERITY_RANK[finding.severity] < SEVERITY_RANK[flag.severity]:
            lower_to[finding.severity].append(flag.id)
        if flag.evidence != finding.evidence or flag.score != finding.score:
            changed_evidence.append(LagFlag(pk=flag.id, evidence=finding.evidence, score=finding.score, updated_at=now))

    created_ids = _insert_new(new_flags, batch, now)
    result.created = len(created_ids)
    for severity, ids in raise_to.items():
        result.raised += (
            LagFlag.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES)
            .exclude(severity=severity)
            .update(severity=severity, severity_raised_at=now, updated_at=now)
        )
    for severity, ids in lower_to.items():
        # The evidence came back within the red line: yellow again, the flag still open (or acknowledged).
        result.lowered += (
            LagFlag.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES)
            .exclude(severity=severity)
            .update(severity=severity, updated_at=now)
        )
    for severity, ids in reopen.items():
        result.reopened += LagFlag.objects.filter(pk__in=ids, status=FlagStatus.RESOLVED).update(
            status=FlagStatus.OPEN,
            severity=severity,
            severity_raised_at=now,
            resolved_at=None,
            resolved_by=None,
            resolution="",
            resolution_reason="",
            overridden_severity="",
            overridden_score=None,
            updated_at=now,
        )
    if changed_evidence:
        LagFlag.objects.bulk_update(changed_evidence, ["evidence", "score", "updated_at"])
        result.updated = len(changed_evidence)
    cleared_ids = [flag.id for key, flag in existing.items() if flag.status in ACTIVE_STATUSES and key not in found]
    if cleared_ids:
        result.cleared = LagFlag.objects.filter(pk__in=cleared_ids, status__in=ACTIVE_STATUSES).update(
            status=FlagStatus.RESOLVED, resolved_at=now, resolution=FlagResolution.CLEARED, updated_at=now
        )

    if created_ids or raise_to or lower_to or reopen or changed_evidence or cleared_ids:
        _record_history(batch, now)

    # A sub-project's light may have changed: mark it for mirrors that sync with updated_since.
    node_of = {flag.id: flag.node_id for flag in existing.values()}
    changed_nodes = (
        {flag.node_id for flag in new_flags}
        | {
            node_of[pk]
            for pk in [*cleared_ids, *(pk for ids in [*raise_to.values(), *lower_to.values()] for pk in ids)]
        }
        | {node_of[pk] for ids in reopen.values() for pk in ids}
    )
    project_services.nodes_touch(node_ids=changed_nodes)
    red_ids = [pk for pk, severity in created_ids if severity == Severity.RED] + raise_to.get(Severity.RED, [])
    red_ids += reopen.get(Severity.RED, [])
    red_flags_notify_enqueue(red_ids)
    webhook_event_enqueue(
        flag_raised=[pk for pk, _ in created_ids] + [pk for ids in reopen.values() for pk in ids],
        flag_resolved=cleared_ids if result.cleared else [],
    )
    return result


def _record_history(batch: Batch, now) -> None:
    """Record in the flags' history what this batch wrote: its bulk inserts and conditional updates send no
    post_save. Every flag the batch wrote carries its ``now`` (opened then: created; else updated then), so
    one INSERT ... SELECT copies them, without a model instance per flag."""
    historical = LagFlag.history.model
    columns = [field.column for field in historical.tracked_fields]
    written = (
        LagFlag.objects.filter(batch.within())
        .filter(Q(updated_at=now) | Q(opened_at=now))
        .annotate(
            history_date=Value(now, output_field=DateTimeField()),
            history_type=Case(When(opened_at=now, then=Value("+")), default=Value("~"), output_field=CharField()),
            history_change_reason=Value("", output_field=CharField()),
        )
        .values_list(*columns, "history_date", "history_type", "history_change_reason")
        .order_by()
    )
    select, params = written.query.sql_with_params()
    quote = connection.ops.quote_name
    target = ", ".join(quote(column) for column in [*columns, "history_date", "history_type", "history_change_reason"])
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(historical._meta.db_table)} ({target}) {select}", params)


def _insert_new(findings: list[Finding], batch: Batch, now) -> list[tuple[int, str]]:
    """Insert flags for new findings, skipping any another scan inserted meanwhile; (id, severity) of those
    inserted here."""
    if not findings:
        return []
    if connection.vendor != "postgresql":
        LagFlag.objects.bulk_create(
            [
                LagFlag(
                    node_id=finding.node_id,
                    rule=finding.rule,
                    year=finding.period.year,
                    quarter=finding.period.quarter,
                    severity=finding.severity,
                    score=finding.score,
                    evidence=finding.evidence,
                    opened_at=now,
                    status=FlagStatus.OPEN,
                )
                for finding in findings
            ],
            ignore_conflicts=True,
        )
        return list(LagFlag.objects.filter(node_id__in=batch.nodes, opened_at=now).values_list("pk", "severity"))
    # COPY into a scratch table, then one INSERT ... ON CONFLICT DO NOTHING RETURNING: a bulk insert of
    # thousands of flags without building (and quoting) one huge statement, or a model instance per flag.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS scan_new_flags (node_id bigint, rule varchar(32), year smallint, "
            "quarter smallint, severity varchar(8), score numeric(14, 4), evidence jsonb) ON COMMIT DELETE ROWS"
        )
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        with cursor.cursor.copy(
            "COPY scan_new_flags (node_id, rule, year, quarter, severity, score, evidence) FROM STDIN"
        ) as copy:
            for finding in findings:
                copy.write_row(
                    (
                        finding.node_id,
                        finding.rule,
                        finding.period.year,
                        finding.period.quarter,
                        finding.severity,
                        finding.score,
                        dumps(finding.evidence),
                    )
                )
        cursor.execute(
            "INSERT INTO reviews_lagflag (node_id, rule, year, quarter, severity, status, evidence, score, "
            "opened_at, updated_at, resolution, resolution_reason, overridden_severity) "
            "SELECT node_id, rule, year, quarter, severity, %s, evidence, score, %s, %s, '', '', '' "
            "FROM scan_new_flags ON CONFLICT (node_id, rule, year, quarter) DO NOTHING RETURNING id, severity",
            [FlagStatus.OPEN, now, now],
        )
        inserted = [tuple(row) for row in cursor.fetchall()]
        # Emptied at commit only; inside a caller's transaction the next batch must not see these rows.
        cursor.execute("TRUNCATE scan_new_flags")
        return inserted


def _worse_than_override(finding: Finding, flag: FlagState) -> bool:
    """Whether the evidence is now of a worse severity than the one the secretariat overrode: a higher score
    of the same severity (more days late, a wider gap) is what was accepted, and keeps the override."""
    return SEVERITY_RANK[finding.severity] > SEVERITY_RANK[flag.overridden_severity or Severity.YELLOW]
