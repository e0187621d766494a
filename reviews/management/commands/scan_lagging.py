import time

from django.core.management.base import BaseCommand, CommandError

from gstp import calendar
from projects.models import Plan
from reviews.services import lag_scan
from reviews.services.scan import DEFAULT_BATCH_SIZE


class Command(BaseCommand):
    help = "Flag lagging sub-projects (the job beat runs daily at 02:00). Safe to run again or alongside."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            help="Scan as of this day (2024-07-01, 113/07/01 or 民國113年7月1日; default today in Asia/Taipei)",
        )
        parser.add_argument("--plan", help="Only this plan's sub-projects (plan code)")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args, as_of, plan, batch_size, **options):
        try:
            day = calendar.parse_date(as_of) if as_of else None
        except calendar.CalendarError as exc:
            raise CommandError(f"--as-of: {as_of!r}: {exc}") from exc
        plan_obj = None
        if plan:
            plan_obj = Plan.objects.filter(code=plan).first()
            if plan_obj is None:
                raise CommandError(f"No plan {plan!r}.")
        started = time.monotonic()
        result = lag_scan(as_of=day, plan=plan_obj, batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"Scanned {result.subprojects} sub-projects in {result.batches} batches "
                f"({time.monotonic() - started:.1f} s): {result.created} flags opened, {result.raised} raised, "
                f"{result.lowered} lowered, {result.reopened} reopened, {result.cleared} cleared."
            )
        )
