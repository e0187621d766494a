from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.access import role_needs_agency
from accounts.models import Role
from accounts.services import account_create_or_update
from projects.selectors import agency_find

# In projects rather than accounts: it resolves agencies by their full or short names, which projects knows.


class Command(BaseCommand):
    help = "Create a user account (or update its role and agency). Prints a generated password when none is given."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--agency", help="Full or short name of the agency (數位發展部, 數位部, 國科會)")
        parser.add_argument("--password")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, agency, password, email, **options):
        agency_obj = None
        if agency:
            agency_obj = agency_find(agency)
            if agency_obj is None:
                raise CommandError(f"No agency named {agency!r}; see /api/v1/agencies/ or the admin.")
        if role_needs_agency(role) and agency_obj is None:
            raise CommandError(f"A {role} account needs --agency.")
        try:
            user, generated = account_create_or_update(
                username=username, role=role, agency=agency_obj, password=password, email=email
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
            raise CommandError(f"password: {' '.join(exc.messages)}") from exc
        where = f" at {user.agency}" if user.agency else ""
        self.stdout.write(self.style.SUCCESS(f"{user.username}: {user.get_role_display()}{where}"))
        if generated:
            self.stdout.write(f"password: {generated}")
