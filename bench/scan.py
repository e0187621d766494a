"""The lag scan at scale: 100,000 sub-projects, 8 quarters of reports, 2 budget years and 5 milestones each.

Times a full scan (on GSTP_SCAN_WORKERS threads, as the daily job runs; once on one thread too, for
comparison) and counts its statements. The floor is one hand-written SQL statement that computes
the same flags (sub-project, rule, quarter, severity, score and evidence; both are checked equal) and
stores them in a copy of the flag table, marking their sub-projects changed, as the first scan does;
the same query's fetch time is the floor for a scan that stores nothing. Then times a second scan,
which must insert nothing. Prints the figures and ratios; writes them to bench/out/scan.json.

    bash .ci/run .venv/bin/python bench/scan.py            # throw-away PostgreSQL
    DATABASE_URL=postgres://... .venv/bin/python bench/scan.py --subprojects 20000
"""

import argparse
import datetime
import importlib
import json
import time
from decimal import Decimal
from types import SimpleNamespace

import _setup
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection

from projects.models import PlanNode
from reviews.models import LagFlag
from reviews.periods import Quarter
from reviews.services import lag_scan
from reviews.services.scan import DEFAULT_BATCH_SIZE

AS_OF = datetime.date(2026, 1, 20)  # 2025Q4 reports fell due on 2026-01-10


def forget_flags(cursor, *also: str) -> None:
    """A clean slate for the next scan: no flag, no history or comment of one, no message it queued (and ``also``)."""
    tables = ["reviews_lagflag", "reviews_historicallagflag", "reviews_flagcomment", "reviews_evidencefile"]
    cursor.execute(f"TRUNCATE {', '.join([*tables, 'reviews_outboxmessage', *also])} CASCADE")
    cursor.execute("VACUUM ANALYZE reviews_lagflag")


def build(subprojects: int) -> None:
    """Fill an empty schema with a plan tree, reports and milestones, set-based (a few statements)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE reviews_lagflag, reviews_flagcomment, reviews_reportevent, reviews_reportmilestoneentry, "
            "reviews_reportindicatorvalue, reviews_quarterlyreport, projects_milestone, projects_nodeagency, "
            "indicators_indicatoractual, indicators_indicatortarget, indicators_indicator, reviews_outboxmessage, "
            "reviews_lagsettings, projects_budgetyear, projects_plannode, projects_plan, accounts_user, "
            "projects_agencyalias, projects_agency, projects_historicalplannode, projects_historicalmilestone, "
            "projects_historicalbudgetyear, indicators_historicalindicator, indicators_historicalindicatortarget, "
            "indicators_historicalindicatoractual, reviews_historicalquarterlyreport, reviews_historicallagflag "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO projects_agency (name, short_name, path, created_at, updated_at) "
            "VALUES ('數位發展部', '數位部', '/00000001/', now(), now())"
        )
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined, role, calendar) "
            "VALUES ('!', false, 'bench', '', '', '', false, true, now(), 'secretariat', '')"
        )
        cursor.execute(
            "INSERT INTO projects_plan (code, name, start_year, end_year, secretariat, report_due_days, created_at, "
            "updated_at, calendar) VALUES ('bench', '智慧國家方案', 2021, 2025, '', 10, now(), now(), '')"
        )
        # group 1 > strategy 2 > measure 3 > sub-projects 4..N+3
        cursor.execute(
            """
            INSERT INTO projects_plannode (plan_id, parent_id, kind, number, position, title, description, outline_key,
                                           path, created_at, updated_at, start_date, end_date, budget,
                                           control_level)
            SELECT 1, CASE WHEN i = 1 THEN NULL ELSE LEAST(i - 1, 3) END,
                   CASE WHEN i = 1 THEN 'group' WHEN i = 2 THEN 'strategy' WHEN i = 3 THEN 'measure'
                        ELSE 'subproject' END,
                   '', i, '子計畫 ' || i, '', '',
                   '', timestamptz '2023-12-01 10:00+08', timestamptz '2023-12-01 10:00+08',
                   CASE WHEN i > 3 THEN date '2024-01-01' END, CASE WHEN i > 3 THEN date '2025-12-31' END,
                   CASE WHEN i > 3 THEN 30000000 END, 'agency'
            FROM generate_series(1, %s) AS i
            """,
            [subprojects + 3],
        )
        cursor.execute(
            "UPDATE projects_plannode SET path = CASE WHEN id <= 3 THEN "
            "(SELECT string_agg(lpad(g::text, 8, '0'), '/') FROM generate_series(1, id) g) "
            "ELSE '/00000001/00000002/00000003/' || lpad(id::text, 8, '0') END || '/'"
        )
        cursor.execute("UPDATE projects_plannode SET path = '/' || path WHERE id <= 3")
        cursor.execute(
            "INSERT INTO projects_nodeagency (node_id, agency_id, role, position) "
            "SELECT id, 1, 'lead', 0 FROM projects_plannode WHERE kind = 'subproject'"
        )
        # A budget for 2024 and 2025 each: 15,000,000 appropriated, 3,750,000 allocated a quarter.
        cursor.execute(
            "INSERT INTO projects_budgetyear (node_id, year, appropriation, allocation_q1, allocation_q2, "
            "allocation_q3, allocation_q4, created_at, updated_at) "
            "SELECT n.id, y, 15000000, 3750000, 3750000, 3750000, 3750000, now(), now() "
            "FROM projects_plannode n CROSS JOIN generate_series(2024, 2025) AS y WHERE n.kind = 'subproject'"
        )
        # Eight quarters 2024Q1..2025Q4. Profiles by id % 11 as in the demo: gap, spending and payables vary
        # (spent, payables and savings to date in the year); the latest quarter is a draft (id % 13 = 0),
        # returned (= 8) or submitted (= 4) for some.
        cursor.execute(
            """
            INSERT INTO reviews_quarterlyreport (node_id, year, quarter, status, version, planned_progress,
                actual_progress, budget_spent, budget_payables, budget_savings, budget_explanation, achievements,
                delay_reasons, countermeasures, progress_explanation, due_on, submitted_at, first_submitted_at,
                submitted_on_time, returned_at, return_reason, reopen_reason, accepted_at, accepted_by_id,
                created_by_id, created_at, updated_at)
            SELECT n.id, 2024 + (s - 1) / 4, (s - 1) % 4 + 1, st.status, 3, 12.5 * s,
                   GREATEST(0, 12.5 * s + CASE n.id % 11 WHEN 3 THEN -6.5 WHEN 5 THEN -12 ELSE 0 END),
                   round(3750000 * ((s - 1) % 4 + 1)
                         * CASE n.id % 11 WHEN 2 THEN 0.84 WHEN 6 THEN 0.80 WHEN 8 THEN 0.72 ELSE 0.96 END),
                   round(3750000 * ((s - 1) % 4 + 1)
                         * CASE n.id % 11 WHEN 2 THEN 0.09 WHEN 6 THEN 0.06 WHEN 8 THEN 0 ELSE 0.01 END),
                   round(3750000 * ((s - 1) % 4 + 1) * CASE n.id % 11 WHEN 7 THEN 0.05 ELSE 0 END),
                   '', '', '', '', '', d.due, d.due - 4, d.due - 4, true,
                   CASE WHEN st.status = 'returned' THEN d.due - 1 END, '', '',
                   CASE WHEN st.status = 'accepted' THEN d.due + 1 END,
                   CASE WHEN st.status = 'accepted' THEN 1 END, 1, d.due - 14, d.due - 4
            FROM projects_plannode n
            CROSS JOIN generate_series(1, 8) AS s
            CROSS JOIN LATERAL (SELECT (make_date(2024 + (s - 1) / 4, ((s - 1) % 4) * 3 + 1, 1)
                                        + interval '3 months' - interval '1 day' + interval '10 days')::date AS due) d
            CROSS JOIN LATERAL (SELECT CASE WHEN s < 8 THEN 'accepted'
                                            WHEN n.id % 13 = 0 THEN 'draft'
                                            WHEN n.id % 13 = 8 THEN 'returned'
                                            WHEN n.id % 13 = 4 THEN 'submitted'
                                            ELSE 'accepted' END AS status) st
            WHERE n.kind = 'subproject'
            """
        )
        cursor.execute(
            "UPDATE reviews_quarterlyreport SET submitted_at = NULL, first_submitted_at = NULL, "
            "submitted_on_time = NULL WHERE status = 'draft'"
        )
        # Five milestones; a sixth of the sub-projects leave the fourth open (critical for some).
        cursor.execute(
            """
            INSERT INTO projects_milestone (node_id, title, planned_date, forecast_date, completed_on, weight,
                                            is_critical, created_at, updated_at)
            SELECT n.id, '查核點 ' || m, make_date(2024, 1, 1) + (m * 120),
                   CASE WHEN m = 4 AND n.id % 17 = 0 THEN date '2026-03-31' END,
                   CASE WHEN m = 4 AND n.id % 6 = 0 THEN NULL ELSE make_date(2024, 1, 1) + (m * 120) - 3 END,
                   20, m = 4 AND n.id % 12 = 0, timestamptz '2023-12-01 10:00+08', timestamptz '2023-12-01 10:00+08'
            FROM projects_plannode n CROSS JOIN generate_series(1, 5) AS m
            WHERE n.kind = 'subproject'
            """
        )
        history_build(cursor)
        cursor.execute("ANALYZE")


def history_build(cursor) -> None:
    """History as the application records it: every row's starting point (the migration's own statement,
    dated when the row came to be), then a third of the sub-projects' end dates moved on 2025-09-30."""
    starting_point = importlib.import_module("reviews.migrations.0011_history_starting_point")
    editor = SimpleNamespace(quote_name=connection.ops.quote_name, execute=cursor.execute)
    starting_point.record_starting_points(apps, editor, since_creation=True)
    cursor.execute(
        "UPDATE projects_plannode SET end_date = date '2026-06-30', updated_at = timestamptz '2025-09-30 10:00+08' "
        "WHERE kind = 'subproject' AND id % 3 = 0"
    )
    columns = ", ".join(field.column for field in PlanNode._meta.concrete_fields)
    cursor.execute(
        f"INSERT INTO projects_historicalplannode ({columns}, history_date, history_type, history_change_reason) "
        f"SELECT {columns}, updated_at, '~', '' FROM projects_plannode WHERE kind = 'subproject' AND id % 3 = 0"
    )


# The same flags as the scan finds on this data, as one statement: sub-project, rule, quarter, severity,
# score and evidence, with the default thresholds written in. (No sub-project here has indicators or an
# earlier flag, so the indicator and consecutive-quarter rules find nothing, in the scan as here.)
HAND_WRITTEN = """
WITH newest AS (
    SELECT DISTINCT ON (node_id) id, node_id, year, quarter, year || 'Q' || quarter AS period,
           planned_progress AS planned, actual_progress AS actual, budget_spent AS spent,
           coalesce(budget_payables, 0) AS payables, coalesce(budget_savings, 0) AS savings,
           (SELECT allocation_q1 + CASE WHEN r.quarter >= 2 THEN allocation_q2 ELSE 0 END
                   + CASE WHEN r.quarter >= 3 THEN allocation_q3 ELSE 0 END
                   + CASE WHEN r.quarter >= 4 THEN allocation_q4 ELSE 0 END
            FROM projects_budgetyear b WHERE b.node_id = r.node_id AND b.year = r.year) AS allocated
    FROM reviews_quarterlyreport r WHERE status = 'accepted'
    ORDER BY node_id, year DESC, quarter DESC
), latest AS (
    SELECT *, (spent + payables + savings) * 100 / NULLIF(allocated, 0) AS rate FROM newest
), due AS (
    SELECT n.id AS node_id, coalesce(r.status, 'missing') AS status,
           (r.returned_at AT TIME ZONE 'Asia/Taipei')::date AS returned_on
    FROM projects_plannode n
    LEFT JOIN reviews_quarterlyreport r ON r.node_id = n.id AND r.year = %(year)s AND r.quarter = %(quarter)s
    WHERE n.kind = 'subproject' AND coalesce(r.status, 'missing') NOT IN ('submitted', 'accepted')
), overdue AS (
    SELECT m.id, m.node_id, m.title, m.planned_date, m.forecast_date, m.is_critical,
           GREATEST(0, %(as_of)s - m.planned_date) AS days,
           coalesce(m.forecast_date > n.end_date, false) AS beyond_end
    FROM projects_milestone m JOIN projects_plannode n ON n.id = m.node_id
    WHERE m.completed_on IS NULL AND (m.planned_date < %(as_of)s OR m.forecast_date IS NOT NULL)
), judged AS (
    SELECT *, array_remove(ARRAY[CASE WHEN days > 90 THEN 'over_red_days' END,
                                 CASE WHEN is_critical AND days > 0 THEN 'critical' END,
                                 CASE WHEN beyond_end THEN 'forecast_beyond_end' END], NULL) AS reasons,
           count(*) OVER (PARTITION BY node_id) AS milestones
    FROM overdue WHERE days > 0 OR beyond_end
)
SELECT node_id, 'progress_gap', year, quarter,
       CASE WHEN actual - planned <= -10 THEN 'red' ELSE 'yellow' END, planned - actual,
       jsonb_build_object('rule', 'progress_gap', 'period', period, 'report', id,
                          'planned_progress', trim_scale(planned)::text, 'actual_progress', trim_scale(actual)::text,
                          'gap', trim_scale(actual - planned)::text, 'yellow_at_or_below', '-5',
                          'red_at_or_below', '-10')
FROM latest WHERE actual - planned <= -5
UNION ALL
SELECT node_id, 'budget_execution', year, quarter, CASE WHEN rate < 80 THEN 'red' ELSE 'yellow' END,
       round(90 - rate, 4),
       jsonb_build_object('rule', 'budget_execution', 'period', period, 'report', id,
                          'budget_spent', trim_scale(spent)::text, 'budget_payables', trim_scale(payables)::text,
                          'budget_savings', trim_scale(savings)::text, 'budget_allocated', trim_scale(allocated)::text,
                          'execution_rate', trim_scale(round(rate, 2))::text, 'yellow_below', '90',
                          'red_below', '80')
FROM latest WHERE rate < 90
UNION ALL
SELECT node_id, 'late_report', %(year)s, %(quarter)s,
       CASE WHEN status = 'returned' OR %(as_of)s > %(red_after)s THEN 'red' ELSE 'yellow' END,
       %(as_of)s - %(due_on)s,
       jsonb_build_object('rule', 'late_report', 'period', %(period)s, 'report_status', status,
                          'due_on', %(due_on)s::text, 'days_late', %(as_of)s - %(due_on)s,
                          'red_after', %(red_after)s::text)
       || CASE WHEN status = 'returned' THEN
              jsonb_build_object('returned_on', returned_on::text, 'days_since_returned', %(as_of)s - returned_on,
                                 'threshold_days', 10)
          ELSE '{}' END
FROM due WHERE status <> 'returned' OR %(as_of)s - returned_on > 10
UNION ALL
(SELECT DISTINCT ON (node_id) node_id, 'milestone_overdue', %(now_year)s, %(now_quarter)s,
       CASE WHEN cardinality(reasons) > 0 THEN 'red' ELSE 'yellow' END,
       days + CASE WHEN cardinality(reasons) > 0 THEN 1000 ELSE 0 END,
       jsonb_build_object('rule', 'milestone_overdue', 'period', %(now_period)s, 'milestone', id, 'title', title,
                          'planned_date', planned_date::text, 'forecast_date', forecast_date::text,
                          'days_overdue', days, 'is_critical', is_critical, 'red_over_days', 90,
                          'red_because', to_jsonb(reasons))
       || CASE WHEN milestones > 1 THEN jsonb_build_object('overdue_milestones', milestones) ELSE '{}' END
FROM judged
ORDER BY node_id, days + CASE WHEN cardinality(reasons) > 0 THEN 1000 ELSE 0 END DESC, planned_date, id)
"""
FLAG_COLUMNS = "node_id, rule, year, quarter, severity, score, evidence"


def hand_written_params() -> dict:
    due, now = Quarter(2025, 4), Quarter.containing(AS_OF)
    return {
        "year": due.year,
        "quarter": due.quarter,
        "period": str(due),
        "due_on": due.due_date(10),
        "red_after": due.end + datetime.timedelta(days=30),
        "as_of": AS_OF,
        "now_year": now.year,
        "now_quarter": now.quarter,
        "now_period": str(now),
    }


def hand_written_select() -> dict:
    """The floor for computing flags: the statement's rows, fetched through psycopg."""
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, hand_written_params())
        return _by_key(cursor.fetchall())


def hand_written_insert() -> tuple[int, float]:
    """The floor for a first scan: the statement's flags inserted into a copy of the flag table (same
    indexes and constraint), and their sub-projects marked changed, as the scan leaves them for mirrors
    that sync with ``updated_since``; one statement."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_flag_floor")
        cursor.execute("CREATE TABLE bench_flag_floor (LIKE reviews_lagflag INCLUDING ALL)")
        started = time.perf_counter()
        cursor.execute(
            f"WITH found ({FLAG_COLUMNS}) AS ({HAND_WRITTEN}), stored AS ("
            f"  INSERT INTO bench_flag_floor ({FLAG_COLUMNS}, status, opened_at, updated_at, resolution, "
            f"  resolution_reason, overridden_severity) SELECT {FLAG_COLUMNS}, 'open', now(), now(), '', '', '' "
            f"  FROM found ON CONFLICT (node_id, rule, year, quarter) DO NOTHING RETURNING node_id) "
            f"UPDATE projects_plannode SET updated_at = now() WHERE id IN (SELECT node_id FROM stored)",
            hand_written_params(),
        )
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_flag_floor")
        (inserted,) = cursor.fetchone()
        cursor.execute("DROP TABLE bench_flag_floor")
        return inserted, seconds


def _by_key(rows) -> dict:
    # Django has psycopg hand jsonb over as text and decodes it in the model field; do the same here.
    return {
        (node, rule, year, quarter): (
            severity,
            Decimal(score),
            json.loads(evidence) if isinstance(evidence, str) else evidence,
        )
        for node, rule, year, quarter, severity, score, evidence in rows
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprojects", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument(
        "--workers", type=int, default=django_settings.LAG_SCAN_WORKERS, help="the scan's threads (GSTP_SCAN_WORKERS)"
    )
    args = parser.parse_args()
    _setup.require_postgres()
    print(f"database: {_setup.database_label()}")
    started = time.perf_counter()
    build(args.subprojects)
    print(
        f"built {args.subprojects:,} sub-projects, {args.subprojects * 8:,} reports, "
        f"{args.subprojects * 5:,} milestones in {time.perf_counter() - started:.1f} s"
    )

    # The first scan on one thread, for comparison; then its flags and notifications go, and the scan
    # measured runs on --workers threads from the same clean slate.
    with _setup.measured() as one_thread:
        lag_scan(as_of=AS_OF, batch_size=args.batch_size, workers=1)
    with connection.cursor() as cursor:
        forget_flags(cursor)
    with _setup.measured() as first:
        result = lag_scan(as_of=AS_OF, batch_size=args.batch_size, workers=args.workers)
    flags = _by_key(LagFlag.objects.order_by().values_list(*FLAG_COLUMNS.split(", ")))
    with _setup.measured() as query:
        expected = hand_written_select()
    stored, store_seconds = hand_written_insert()
    with _setup.measured() as second:
        again = lag_scan(as_of=AS_OF, batch_size=args.batch_size, workers=args.workers)

    figures = {
        "subprojects": args.subprojects,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "scan_seconds": round(first["seconds"], 2),
        "one_thread_scan_seconds": round(one_thread["seconds"], 2),
        "ratio_one_thread_scan_to_hand_written": round(one_thread["seconds"] / store_seconds, 2),
        "scan_statements": first["statements"],
        "flags": result.created,
        "hand_written_store_seconds": round(store_seconds, 2),
        "hand_written_select_seconds": round(query["seconds"], 2),
        "ratio_scan_to_hand_written": round(first["seconds"] / store_seconds, 2),
        "same_flags_as_hand_written": flags == expected and stored == len(flags),
        "second_scan_seconds": round(second["seconds"], 2),
        "second_scan_statements": second["statements"],
        "second_scan_inserted": again.created,
        "ratio_second_scan_to_select": round(second["seconds"] / query["seconds"], 2),
    }
    print(
        f"full scan:             {figures['scan_seconds']:.2f} s on {args.workers} thread(s), "
        f"{figures['scan_statements']} statements, {figures['flags']:,} flags stored (goal: under 10 s)"
    )
    print(
        f"full scan, one thread: {figures['one_thread_scan_seconds']:.2f} s "
        f"({figures['ratio_one_thread_scan_to_hand_written']:.2f}x the hand-written statement)"
    )
    print(
        f"hand-written, stored:  {figures['hand_written_store_seconds']:.2f} s, {stored:,} flags "
        f"(stored in a copy of the flag table, sub-projects marked changed)"
    )
    print(
        f"hand-written, fetched: {figures['hand_written_select_seconds']:.2f} s, {len(expected):,} flags; "
        f"same flags (rule, quarter, severity, score, evidence): {figures['same_flags_as_hand_written']}"
    )
    print(f"ratio full scan / hand-written stored: {figures['ratio_scan_to_hand_written']:.2f}x (goal: within 2x)")
    print(
        f"second scan:           {figures['second_scan_seconds']:.2f} s, {figures['second_scan_statements']} "
        f"statements, inserted {figures['second_scan_inserted']} (goal: 0); "
        f"{figures['ratio_second_scan_to_select']:.2f}x the hand-written fetch"
    )
    _setup.write_figures("scan", figures)
    if not figures["same_flags_as_hand_written"]:
        only_scan = sorted(set(flags) - set(expected))[:5]
        only_query = sorted(set(expected) - set(flags))[:5]
        differ = [
            (key, flags[key], expected[key]) for key in flags.keys() & expected.keys() if flags[key] != expected[key]
        ][:3]
        print("only in scan:", only_scan, "only in query:", only_query, "differ:", differ)


if __name__ == "__main__":
    main()
