from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from accounts.models import Role
from accounts.services import account_create_or_update
from indicators.services import outline_import
from projects.models import Plan
from projects.outline import read_outline
from projects.selectors import agency_find
from reviews.demo import demo_flag_history_backdate, demo_reports_load
from reviews.periods import today
from reviews.services import lag_scan

DEMO_OUTLINE = Path(__file__).resolve().parents[3] / "projects" / "data" / "smart-nation-2024.json"

# (username, role, agency); every demo account's password is its username + "-demo".
DEMO_ACCOUNTS = [
    ("secretariat", Role.SECRETARIAT, "國家科學及技術委員會", "secretariat@gstp.example"),
    ("moda-lead", Role.LEAD, "數位發展部", "moda-lead@gstp.example"),
    ("moea-lead", Role.LEAD, "經濟部", "moea-lead@gstp.example"),
    ("moe-lead", Role.LEAD, "教育部", "moe-lead@gstp.example"),
    ("nstc-lead", Role.LEAD, "國科會", "nstc-lead@gstp.example"),
    ("moi-lead", Role.LEAD, "內政部", "moi-lead@gstp.example"),
    ("moda-reviewer", Role.REVIEWER, "數位發展部", "moda-reviewer@gstp.example"),
    ("moea-reviewer", Role.REVIEWER, "經濟部", "moea-reviewer@gstp.example"),
    ("moe-reviewer", Role.REVIEWER, "教育部", "moe-reviewer@gstp.example"),
    ("nstc-reviewer", Role.REVIEWER, "國科會", "nstc-reviewer@gstp.example"),
    ("portal", Role.READER, None, ""),
]


class Command(BaseCommand):
    help = (
        "Load the demo data: on an empty database the plan structure of the 2024 report (shipped in "
        "projects/data/), demo accounts, then sub-project figures, milestones, indicators and the eight "
        "quarters of reports before today (the current quarter left to file) through the ministries' "
        "endorsement, with evidence files and the first quarter locked, a first lag scan, and the other apps' "
        "demo data (the year's assessments: the last year in progress, the year before published). Safe to run "
        "again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--outline", default=str(DEMO_OUTLINE), help="Outline to load on an empty database")
        parser.add_argument("--no-reports", action="store_true", help="Only the plan structure and accounts")

    @transaction.atomic
    def handle(self, *args, outline, no_reports, **options):
        if Plan.objects.exists():
            self.stdout.write("Plan structure already loaded.")
        else:
            result = outline_import(document=read_outline(outline), progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(f"Loaded {result.plan}: {result.created} records."))
        for username, role, agency_name, email in DEMO_ACCOUNTS:
            agency = agency_find(agency_name) if agency_name else None
            user, _ = account_create_or_update(
                username=username,
                role=role,
                agency=agency,
                password=f"{username}-demo",
                email=email,
                validate_password=False,
            )
            self.stdout.write(f"  {username} / {username}-demo ({user.get_role_display()})")
        if no_reports:
            return
        on = today()
        loaded = demo_reports_load(on=on)
        if loaded:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Filed {loaded.filed} demo quarterly reports ({loaded.first}-{loaded.latest}) and "
                    f"{loaded.updates} monthly updates, with {loaded.files} evidence files and {loaded.revisions} "
                    "plan revisions."
                )
            )
            scan = lag_scan(as_of=on)
            demo_flag_history_backdate()
            self.stdout.write(
                self.style.SUCCESS(f"First lag scan: {scan.created} flags opened over {scan.subprojects} sub-projects.")
            )
        # The apps above this one load their part of the demo (``AppConfig.demo_load``), on the reports.
        for config in apps.get_app_configs():
            load = getattr(config, "demo_load", None)
            line = load(on=on) if load else None
            if line:
                self.stdout.write(self.style.SUCCESS(line))
        if connection.vendor == "postgresql":
            # The tables were just filled: the planner learns their sizes now, not when autovacuum comes by
            # (a dashboard planned on empty tables' estimates takes minutes instead of milliseconds).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
