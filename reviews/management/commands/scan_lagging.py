import time

from django.core.management.base import BaseCommand, CommandError

from gstp import calendar
from projects.models import Plan
from reviews.services import dispatch_scan, lag_scan, scan_run_result, scan_run_wait
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
        parser.add_argument(
            "--on-workers",
            action="store_true",
            help="Spread the batches over the Celery workers, as the daily job does, and wait for the run's end",
        )
        parser.add_argument("--timeout", type=float, default=3600, help="With --on-workers: seconds to wait")

    def handle(self, *args, as_of, plan, batch_size, on_workers, timeout, **options):
        try:
            day = calendar.parse_date(as_of) if as_of else None
        except calendar.CalendarError as exc:
            raise CommandError(f"--as-of: {as_of!r}: {exc}") from exc
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if on_workers:
            if plan:
                raise CommandError("--plan scans in this process; the workers scan every plan.")
            self._on_workers(day=day, batch_size=batch_size, timeout=timeout)
            return
        plan_obj = None
        if plan:
            plan_obj = Plan.objects.filter(code=plan).first()
            if plan_obj is None:
                raise CommandError(f"No plan {plan!r}.")
        started = time.monotonic()
        result = lag_scan(as_of=day, plan=plan_obj, batch_size=batch_size)
        self._summary(result, where="", seconds=time.monotonic() - started)

    def _on_workers(self, *, day, batch_size, timeout):
        started = time.monotonic()
        run = dispatch_scan(as_of=day, batch_size=batch_size)
        self.stdout.write(f"Lag scan #{run.pk}: {run.batches_total} batches published to the workers.")
        try:
            run = scan_run_wait(run, timeout=timeout)
        except TimeoutError as exc:
            raise CommandError(f"{exc}; the workers go on with it.") from exc
        self._summary(scan_run_result(run), where=" on the workers", seconds=time.monotonic() - started)

    def _summary(self, result, *, where, seconds):
        self.stdout.write(
            self.style.SUCCESS(
                f"Scanned {result.subprojects} sub-projects in {result.batches} batches{where} "
                f"({seconds:.1f} s): {result.created} flags opened, {result.raised} raised, "
                f"{result.lowered} lowered, {result.reopened} reopened, {result.cleared} cleared."
            )
        )
