"""Writes to user accounts."""

import secrets

from django.contrib.auth import password_validation
from django.db import transaction
from rest_framework.authtoken.models import Token

from projects.models import Agency

from .models import Role, User


@transaction.atomic
def account_create_or_update(
    *,
    username: str,
    role: str,
    agency: Agency | None = None,
    password: str | None = None,
    email: str = "",
    validate_password: bool = True,
) -> tuple[User, str | None]:
    """Create the account, or update its role and agency; returns (user, the password set, if one was generated).

    A given password must pass the password validators unless ``validate_password`` is off (demo accounts).
    """
    user = User.objects.select_for_update().filter(username=username).first() or User(username=username)
    user.role = role
    user.agency = agency
    if email:
        user.email = email
    user.is_staff = role == Role.SECRETARIAT  # the secretariat works in the admin too
    generated = None
    if password is not None:
        if validate_password:
            password_validation.validate_password(password, user)
        user.set_password(password)
    elif user.pk is None or not user.has_usable_password():
        generated = secrets.token_urlsafe(12)
        user.set_password(generated)
    user.full_clean(exclude=["password"])
    user.save()
    return user, generated


def token_issue(*, user: User, rotate: bool = False) -> str:
    """The user's API token, a new one when ``rotate``."""
    if rotate:
        Token.objects.filter(user=user).delete()
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
