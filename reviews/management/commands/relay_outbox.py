import time

from django.core.management.base import BaseCommand

from reviews.services import outbox_relay


class Command(BaseCommand):
    help = "Publish jobs waiting in the outbox to the broker (beat also does this every few seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep relaying every --interval seconds")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, loop, interval, **options):
        while True:
            published, pending = outbox_relay()
            if published or not loop:
                self.stdout.write(f"published {published}, {pending} waiting")
            if not loop:
                return
            time.sleep(interval)
