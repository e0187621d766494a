"""Writes to user accounts."""

import secrets

from django.contrib.auth import password_validation
from django.db import transaction
from django.utils import timezone

from projects.models import Agency

from .authentication import key_hash
from .models import ApiKey, Role, User


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


@transaction.atomic
def token_issue(*, user: User, rotate: bool = False, name: str = "", created_by: User | None = None) -> str:
    """Issue a new API key for the user and return it; only its hash is kept, so this is the one time it
    is seen. With ``rotate`` the user's other keys are revoked."""
    if rotate:
        ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key = secrets.token_hex(20)
    ApiKey.objects.create(user=user, name=name, prefix=key[:8], key_hash=key_hash(key), created_by=created_by)
    return key


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
