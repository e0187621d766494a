"""Data for a live server's database: a lead with an API key, and sub-projects to file reports for, each with a
milestone and an indicator. Run in a child process on that database (``DATABASE_URL``), after migrating it
with ``--migrate``; writes what the load needs as JSON::

    python -m tests.faults.live_data --migrate --subprojects 40 --output data.json
"""

import argparse
import datetime
import json
from decimal import Decimal


def build(subprojects: int) -> dict:
    from accounts.services import token_issue
    from tests.accounts.factories import lead_user
    from tests.indicators.factories import IndicatorFactory
    from tests.projects.factories import AgencyFactory, MilestoneFactory, PlanFactory, make_tree

    agency = AgencyFactory(name="數位發展部")
    lead = lead_user(agency, "moda-lead")
    plan = PlanFactory(code="smart-nation")
    _, _, _, nodes = make_tree(plan, lead_agency=agency, subprojects=subprojects)
    rows = []
    for node in nodes:
        milestone = MilestoneFactory(
            node=node, title="系統上線", planned_date=datetime.date(2024, 6, 30), weight=Decimal("100")
        )
        indicator = IndicatorFactory(node=node, key=f"open-data/{node.pk}", name="開放資料集數")
        rows.append({"project": node.pk, "milestone": milestone.pk, "indicator": indicator.pk})
    return {"token": token_issue(user=lead, name="load"), "subprojects": rows}


def report_body(row: dict, period: str) -> dict:
    """A quarterly report of one of ``build``'s sub-projects (its row), with a milestone entry and an indicator
    value: what the load files."""
    return {
        "project": row["project"],
        "period": period,
        "planned_progress": "50",
        "actual_progress": "55",
        "budget_spent": "520000",
        "achievements": "完成資料集上架。",
        "milestone_entries": [{"milestone": row["milestone"], "completed_on": "2024-06-20"}],
        "indicator_values": [{"indicator": row["indicator"], "value": "12"}],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subprojects", type=int, default=40)
    parser.add_argument("--output", required=True)
    parser.add_argument("--migrate", action="store_true", help="migrate the database first")
    args = parser.parse_args()

    import django
    from django.core.management import call_command

    django.setup()
    if args.migrate:
        call_command("migrate", interactive=False, verbosity=0)
    with open(args.output, "w", encoding="utf-8") as output:
        json.dump(build(args.subprojects), output)


if __name__ == "__main__":
    main()
