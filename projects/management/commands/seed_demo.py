from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role
from accounts.services import account_create_or_update
from projects.models import Plan
from projects.outline import read_outline
from projects.selectors import agency_find
from projects.services import outline_import

DEMO_OUTLINE = Path(__file__).resolve().parents[2] / "data" / "smart-nation-2024.json"

# (username, role, agency); every demo account's password is its username + "-demo".
DEMO_ACCOUNTS = [
    ("secretariat", Role.SECRETARIAT, "國家科學及技術委員會"),
    ("moda-lead", Role.LEAD, "數位發展部"),
    ("moea-lead", Role.LEAD, "經濟部"),
    ("moe-lead", Role.LEAD, "教育部"),
    ("nstc-lead", Role.LEAD, "國科會"),
    ("portal", Role.READER, None),
]


class Command(BaseCommand):
    help = (
        "Load the demo data: on an empty database, the plan structure of the 2024 report "
        "(shipped in projects/data/), then demo accounts. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--outline", default=str(DEMO_OUTLINE), help="Outline to load on an empty database")

    @transaction.atomic
    def handle(self, *args, outline, **options):
        if Plan.objects.exists():
            self.stdout.write("Plan structure already loaded.")
        else:
            result = outline_import(document=read_outline(outline), progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(f"Loaded {result.plan}: {result.created} records."))
        for username, role, agency_name in DEMO_ACCOUNTS:
            agency = agency_find(agency_name) if agency_name else None
            user, _ = account_create_or_update(
                username=username, role=role, agency=agency, password=f"{username}-demo", validate_password=False
            )
            self.stdout.write(f"  {username} / {username}-demo ({user.get_role_display()})")
