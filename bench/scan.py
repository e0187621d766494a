"""The lag scan at scale: 100,000 sub-projects, 8 quarters of reports and 5 milestones each.

Times a full scan and counts its statements, times one hand-written SQL query that computes the
same flags (and checks both find the same ones), then times a second scan, which must insert nothing.
Prints the figures and ratios; writes them to bench/out/scan.json.

    bash .ci/run .venv/bin/python bench/scan.py            # throw-away PostgreSQL
    DATABASE_URL=postgres://... .venv/bin/python bench/scan.py --subprojects 20000
"""

import argparse
import datetime
import time

import _setup
from django.db import connection

from reviews.models import LagFlag
from reviews.periods import Quarter
from reviews.services import lag_scan
from reviews.services.scan import DEFAULT_BATCH_SIZE

AS_OF = datetime.date(2026, 1, 20)  # 2025Q4 reports fell due on 2026-01-10


def build(subprojects: int) -> None:
    """Fill an empty schema with a plan tree, reports and milestones, set-based (a few statements)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE reviews_lagflag, reviews_flagcomment, reviews_reportevent, reviews_reportmilestoneentry, "
            "reviews_reportindicatorvalue, reviews_quarterlyreport, projects_milestone, projects_nodeagency, "
            "indicators_indicatoractual, indicators_indicatortarget, indicators_indicator, reviews_outboxmessage, "
            "reviews_lagsettings, projects_plannode, projects_plan, accounts_user, projects_agencyalias, "
            "projects_agency RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO projects_agency (name, short_name, path, created_at, updated_at) "
            "VALUES ('數位發展部', '數位部', '/00000001/', now(), now())"
        )
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined, role) VALUES ('!', false, 'bench', '', '', '', false, true, now(), 'secretariat')"
        )
        cursor.execute(
            "INSERT INTO projects_plan (code, name, start_year, end_year, secretariat, report_due_days, created_at, "
            "updated_at) VALUES ('bench', '智慧國家方案', 2021, 2025, '', 10, now(), now())"
        )
        # group 1 > strategy 2 > measure 3 > sub-projects 4..N+3
        cursor.execute(
            """
            INSERT INTO projects_plannode (plan_id, parent_id, kind, number, position, title, description, outline_key,
                                           path, created_at, updated_at, start_date, end_date, budget)
            SELECT 1, CASE WHEN i = 1 THEN NULL ELSE LEAST(i - 1, 3) END,
                   CASE WHEN i = 1 THEN 'group' WHEN i = 2 THEN 'strategy' WHEN i = 3 THEN 'measure'
                        ELSE 'subproject' END,
                   '', i, '子計畫 ' || i, '', '',
                   '', now(), now(),
                   CASE WHEN i > 3 THEN date '2024-01-01' END, CASE WHEN i > 3 THEN date '2025-12-31' END,
                   CASE WHEN i > 3 THEN 30000000 END
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
        # Eight quarters 2024Q1..2025Q4. Profiles by id % 11 as in the demo: gap and execution vary;
        # the latest quarter is a draft (id % 13 = 0), returned (= 8) or submitted (= 4) for some.
        cursor.execute(
            """
            INSERT INTO reviews_quarterlyreport (node_id, year, quarter, status, version, planned_progress,
                actual_progress, budget_allocated, budget_spent, achievements, delay_reasons, countermeasures,
                progress_explanation, due_on, submitted_at, first_submitted_at, submitted_on_time, returned_at,
                return_reason, accepted_at, accepted_by_id, created_by_id, created_at, updated_at)
            SELECT n.id, 2024 + (s - 1) / 4, (s - 1) % 4 + 1, st.status, 3, 12.5 * s,
                   GREATEST(0, 12.5 * s + CASE n.id % 11 WHEN 3 THEN -6.5 WHEN 5 THEN -12 ELSE 0 END),
                   3750000 * s,
                   round(3750000 * s * CASE n.id % 11 WHEN 6 THEN 0.86 WHEN 8 THEN 0.72 ELSE 0.97 END),
                   '', '', '', '', d.due, d.due - 4, d.due - 4, true,
                   CASE WHEN st.status = 'returned' THEN d.due - 1 END, '',
                   CASE WHEN st.status = 'accepted' THEN d.due + 1 END,
                   CASE WHEN st.status = 'accepted' THEN 1 END, 1, now(), now()
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
                   20, m = 4 AND n.id % 12 = 0, now(), now()
            FROM projects_plannode n CROSS JOIN generate_series(1, 5) AS m
            WHERE n.kind = 'subproject'
            """
        )
        cursor.execute("ANALYZE")


HAND_WRITTEN = """
WITH latest AS (
    SELECT DISTINCT ON (node_id) node_id, planned_progress, actual_progress, budget_allocated, budget_spent
    FROM reviews_quarterlyreport WHERE status = 'accepted'
    ORDER BY node_id, year DESC, quarter DESC
), due AS (
    SELECT n.id AS node_id, r.status, r.returned_at
    FROM projects_plannode n
    LEFT JOIN reviews_quarterlyreport r ON r.node_id = n.id AND r.year = %(year)s AND r.quarter = %(quarter)s
    WHERE n.kind = 'subproject'
)
SELECT node_id, 'progress_gap', CASE WHEN actual_progress - planned_progress <= -10 THEN 'red' ELSE 'yellow' END
FROM latest WHERE actual_progress - planned_progress <= -5
UNION ALL
SELECT node_id, 'budget_execution',
       CASE WHEN round(budget_spent / budget_allocated * 100, 2) < 80 THEN 'red' ELSE 'yellow' END
FROM latest WHERE budget_allocated > 0 AND round(budget_spent / budget_allocated * 100, 2) < 90
UNION ALL
SELECT node_id, 'late_report',
       CASE WHEN status = 'returned' THEN 'red' WHEN %(as_of)s > %(red_after)s THEN 'red' ELSE 'yellow' END
FROM due WHERE status IS NULL OR status = 'draft'
             OR (status = 'returned' AND %(as_of)s - returned_at::date > 10)
UNION ALL
SELECT m.node_id, 'milestone_overdue',
       CASE WHEN bool_or(%(as_of)s - m.planned_date > 90 OR m.is_critical OR m.forecast_date > n.end_date)
            THEN 'red' ELSE 'yellow' END
FROM projects_milestone m JOIN projects_plannode n ON n.id = m.node_id
WHERE m.completed_on IS NULL AND (m.planned_date < %(as_of)s OR m.forecast_date > n.end_date)
GROUP BY m.node_id
"""


def hand_written() -> set:
    due = Quarter(2025, 4)
    params = {
        "year": due.year,
        "quarter": due.quarter,
        "as_of": AS_OF,
        "red_after": due.end + datetime.timedelta(days=30),
    }
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, params)
        return set(cursor.fetchall())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subprojects", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    _setup.require_postgres()
    print(f"database: {_setup.database_label()}")
    started = time.perf_counter()
    build(args.subprojects)
    print(
        f"built {args.subprojects:,} sub-projects, {args.subprojects * 8:,} reports, "
        f"{args.subprojects * 5:,} milestones in {time.perf_counter() - started:.1f} s"
    )

    with _setup.measured() as first:
        result = lag_scan(as_of=AS_OF, batch_size=args.batch_size)
    flags = set(LagFlag.objects.values_list("node_id", "rule", "severity"))
    with _setup.measured() as query:
        expected = hand_written()
    with _setup.measured() as second:
        again = lag_scan(as_of=AS_OF, batch_size=args.batch_size)

    figures = {
        "subprojects": args.subprojects,
        "batch_size": args.batch_size,
        "scan_seconds": round(first["seconds"], 2),
        "scan_statements": first["statements"],
        "flags": result.created,
        "hand_written_seconds": round(query["seconds"], 2),
        "ratio_scan_to_hand_written": round(first["seconds"] / query["seconds"], 2),
        "same_flags_as_hand_written": flags == expected,
        "second_scan_seconds": round(second["seconds"], 2),
        "second_scan_inserted": again.created,
    }
    print(
        f"full scan:          {figures['scan_seconds']:.2f} s, {figures['scan_statements']} statements, "
        f"{figures['flags']:,} flags (goal: under 10 s)"
    )
    print(
        f"hand-written query: {figures['hand_written_seconds']:.2f} s, {len(expected):,} flags, "
        f"same flags: {figures['same_flags_as_hand_written']}"
    )
    print(f"ratio scan / query: {figures['ratio_scan_to_hand_written']:.2f}x (goal: within 2x)")
    print(
        f"second scan:        {figures['second_scan_seconds']:.2f} s, inserted {figures['second_scan_inserted']} "
        f"(goal: 0)"
    )
    _setup.write_figures("scan", figures)
    if not figures["same_flags_as_hand_written"]:
        print("only in scan:", sorted(flags - expected)[:10], "only in query:", sorted(expected - flags)[:10])


if __name__ == "__main__":
    main()
