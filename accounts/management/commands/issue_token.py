from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import token_issue


class Command(BaseCommand):
    help = (
        "Issue an API key for a user and print it (Authorization: Token <key>). Only its hash is stored: "
        "this is the one time it is shown."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the key is for (shown in the admin)")
        parser.add_argument("--rotate", action="store_true", help="Revoke the user's other keys")

    def handle(self, *args, username, name, rotate, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        self.stdout.write(token_issue(user=user, rotate=rotate, name=name))
