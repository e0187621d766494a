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
    from accounts.models import Role
    from accounts.services import token_issue
    from indicators.models import Indicator
    from projects.models import Milestone
    from tests.accounts.factories import UserFactory
    from tests.projects.factories import AgencyFactory, PlanFactory, make_tree

    agency = AgencyFactory(name="數位發展部")
    lead = UserFactory(username="moda-lead", role=Role.LEAD, agency=agency)
    plan = PlanFactory(code="smart-nation")
    _, _, _, nodes = make_tree(plan, lead_agency=agency, subprojects=subprojects)
    rows = []
    for node in nodes:
        milestone = Milestone.objects.create(
            node=node, title="系統上線", planned_date=datetime.date(2024, 6, 30), weight=Decimal("100")
        )
        indicator = Indicator.objects.create(plan=plan, node=node, key=f"open-data/{node.pk}", name="開放資料集數")
        rows.append({"project": node.pk, "milestone": milestone.pk, "indicator": indicator.pk})
    return {"token": token_issue(user=lead, name="load"), "subprojects": rows}


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
