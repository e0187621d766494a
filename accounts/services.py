"""Writes to user accounts."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.apps import apps as global_apps
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import access
from .authentication import key_hash
from .models import ApiKey, User

if TYPE_CHECKING:
    from projects.models import Agency


@transaction.atomic
def account_create_or_update(
    *,
    username: str,
    role: str,
    agency: Agency | None = None,
    password: str | None = None,
    email: str = "",
    validate_password: bool = True,
    can_sign_in: bool = True,
) -> tuple[User, str | None]:
    """Create the account, or update its role and agency; returns (user, the password set, if one was generated).

    A given password must pass the password validators unless ``validate_password`` is off (demo accounts).
    Without a password and with ``can_sign_in`` off, the account has no usable password: it stands in the
    records (the demo's other agencies) and never signs in.
    """
    user = User.objects.select_for_update().filter(username=username).first() or User(username=username)
    user.role = role
    user.agency = agency
    if email:
        user.email = email
    user.is_staff = access.role_works_in_admin(role)  # the secretariat works in the admin too
    generated = None
    if password is not None:
        if validate_password:
            password_validation.validate_password(password, user)
        user.set_password(password)
    elif not can_sign_in:
        user.set_unusable_password()
    elif user.pk is None or not user.has_usable_password():
        generated = secrets.token_urlsafe(12)
        user.set_password(generated)
    user.full_clean(exclude=["password"])
    user.save()
    account_groups_set(user=user)
    return user, generated


def admin_groups_sync(*, apps=global_apps) -> None:
    """Make each admin group (``access.ADMIN_GROUP_PERMISSIONS``) exist with exactly its permissions, those
    of them that exist yet. Run by the migration that made the groups and after every ``migrate`` (or
    ``flush``), so the groups follow the table."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, table in access.ADMIN_GROUP_PERMISSIONS.items():
        condition = Q(pk__in=[])
        for (app_label, model), actions in table.items():
            codenames = [f"{action}_{model}" for action in actions]
            condition |= Q(content_type__app_label=app_label, codename__in=codenames)
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(permission_model.objects.filter(condition))


def account_groups_set(*, user: User) -> None:
    """Give the account the admin groups of its role (the secretariat's 執行秘書室), and take away the
    groups of any role it no longer has; groups added by hand in the admin are left alone."""
    managed = set(access.CAPABILITY_GROUPS.values())
    wanted = set(access.admin_groups_for_role(user.role))
    user.groups.remove(*Group.objects.filter(name__in=managed - wanted))
    user.groups.add(*Group.objects.filter(name__in=wanted))


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


def user_calendar_set(*, user: User, calendar: str) -> User:
    """The calendar the user reads dates and periods in (``gstp.calendar.Calendar``; blank for their plan's)."""
    user.calendar = calendar
    user.full_clean(validate_unique=False, validate_constraints=False)
    user.save(update_fields=["calendar"])
    return user
