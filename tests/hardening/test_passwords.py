"""Passwords are hashed with Argon2; a password stored with an older hasher is rehashed at sign-in.

tests/conftest.py swaps in a fast hasher for every test; these put the production list back."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

import gstp.settings as production_settings
from accounts.models import Role, User
from accounts.services import account_create_or_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = production_settings.PASSWORD_HASHERS


def test_argon2_is_the_production_hasher():
    assert production_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_new_account_gets_an_argon2_hash(production_hashers):
    user, _ = account_create_or_update(username="grace", role=Role.READER, password="Ti3-quarterly-report")

    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("Ti3-quarterly-report")
    assert not user.check_password("Ti3-quarterly-repor")


def test_an_older_hash_is_upgraded_to_argon2_at_sign_in(production_hashers):
    # given: an account whose password was stored with PBKDF2
    user = User.objects.create(
        username="henry", role=Role.READER, password=make_password("Ti3-quarterly-report", hasher="pbkdf2_sha256")
    )
    assert user.password.startswith("pbkdf2_sha256$")

    # when: its owner signs in through the API
    response = Client().post(
        "/api/v1/auth/session/",
        {"username": "henry", "password": "Ti3-quarterly-report"},
        content_type="application/json",
    )

    # then
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert user.check_password("Ti3-quarterly-report")
