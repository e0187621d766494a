"""Users for tests: ``UserFactory`` and a helper for each role.

Users are looked up by username before they are made (``django_get_or_create``), so asking twice for the same
username gives the same user, whatever else is asked the second time.
"""

import factory

from accounts.models import Role, User

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.READER
    password = factory.django.Password(PASSWORD)


def secretariat_user(username="factory-secretariat", **fields) -> User:
    """A member of the Executive Secretariat (執行秘書室)."""
    return UserFactory(username=username, role=Role.SECRETARIAT, **fields)


def lead_user(agency, username=None, **fields) -> User:
    """A project lead of ``agency`` (a lead always belongs to an agency)."""
    return UserFactory(username=username or f"factory-lead-{agency.pk}", role=Role.LEAD, agency=agency, **fields)


def reviewer_user(ministry, username=None, **fields) -> User:
    """A ministry reviewer (部會管考窗口) of ``ministry``, a top-level agency."""
    return UserFactory(
        username=username or f"factory-reviewer-{ministry.pk}", role=Role.REVIEWER, agency=ministry, **fields
    )


def reader_user(username=None, **fields) -> User:
    """A reader, of no agency unless one is given."""
    if username is not None:
        fields["username"] = username
    return UserFactory(role=Role.READER, **fields)
