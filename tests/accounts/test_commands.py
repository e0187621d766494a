"""The account commands: create_account and issue_token."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from accounts.authentication import key_hash
from accounts.models import ApiKey, Role, User
from projects.models import AgencyAlias
from tests.accounts.factories import UserFactory
from tests.projects.factories import AgencyAliasFactory, AgencyFactory


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def generated_password(output):
    match = re.search(r"^password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def get_projects(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/projects/")


# --------------------------------------------------------------------------- create_account


@pytest.mark.parametrize(
    ("role", "needs_agency", "is_staff"),
    [(Role.SECRETARIAT, False, True), (Role.LEAD, True, False), (Role.READER, False, False)],
)
def test_create_account_each_role(agency, role, needs_agency, is_staff):
    # when
    args = ["create_account", "alice", "--role", role]
    if needs_agency:
        args += ["--agency", "數位發展部"]
    output = run(*args)

    # then
    user = User.objects.get(username="alice")
    assert user.role == role
    assert user.agency == (agency if needs_agency else None)
    assert user.is_staff is is_staff
    assert user.is_superuser is False
    assert user.is_active is True
    assert output.splitlines()[0].startswith(f"alice: {user.get_role_display()}")
    if needs_agency:
        assert "數位發展部" in output.splitlines()[0]


def test_create_account_reader_may_have_an_agency(agency):
    run("create_account", "bob", "--role", "reader", "--agency", "數位發展部", "--email", "bob@moda.gov.tw")

    user = User.objects.get(username="bob")
    assert (user.role, user.agency, user.email) == (Role.READER, agency, "bob@moda.gov.tw")


def test_create_account_agency_by_full_name_and_by_alias_is_the_same(db):
    # given: an agency with an alias the built-in list does not know
    agency = AgencyFactory(name="國家資通安全研究院")
    AgencyAliasFactory(alias="資安院", agency=agency)

    # when
    run("create_account", "by-name", "--role", "lead", "--agency", "國家資通安全研究院")
    run("create_account", "by-alias", "--role", "lead", "--agency", "資安院")

    # then
    assert User.objects.get(username="by-name").agency == agency
    assert User.objects.get(username="by-alias").agency == agency


def test_create_account_agency_by_known_short_name(agency):
    # 數位部 is a known short name of 數位發展部 even without an alias row
    assert not AgencyAlias.objects.exists()

    run("create_account", "carol", "--role", "lead", "--agency", "數位部")

    assert User.objects.get(username="carol").agency == agency


def test_create_account_lead_without_agency_fails(db):
    with pytest.raises(CommandError, match="--agency"):
        run("create_account", "dave", "--role", "lead")

    assert not User.objects.filter(username="dave").exists()


def test_create_account_unknown_agency_fails(agency):
    with pytest.raises(CommandError, match="不存在部"):
        run("create_account", "erin", "--role", "reader", "--agency", "不存在部")

    assert not User.objects.filter(username="erin").exists()


def test_create_account_unknown_role_fails(db):
    with pytest.raises(CommandError):
        run("create_account", "frank", "--role", "admin")

    assert not User.objects.exists()


def test_create_account_invalid_email_fails_cleanly(db):
    with pytest.raises(CommandError, match="email"):
        run("create_account", "grace", "--role", "reader", "--email", "not-an-address")

    assert not User.objects.filter(username="grace").exists()


def test_create_account_prints_a_working_generated_password(db):
    output = run("create_account", "heidi", "--role", "reader")

    password = generated_password(output)
    user = User.objects.get(username="heidi")
    assert len(password) >= 12
    assert user.check_password(password)
    assert not user.check_password(password + "x")
    # and it signs in through the login page
    client = APIClient()
    assert client.login(username="heidi", password=password)


def test_create_account_generates_a_different_password_each_time(db):
    first = generated_password(run("create_account", "ivan", "--role", "reader"))
    second = generated_password(run("create_account", "judy", "--role", "reader"))

    assert first != second


def test_create_account_with_password_prints_none(db):
    output = run("create_account", "mallory", "--role", "reader", "--password", "a long chosen passphrase")

    assert "password:" not in output
    assert User.objects.get(username="mallory").check_password("a long chosen passphrase")


def test_create_account_again_updates_instead_of_duplicating(agency, other_agency):
    # given
    first_output = run("create_account", "oscar", "--role", "lead", "--agency", "數位發展部")
    password = generated_password(first_output)
    user = User.objects.get(username="oscar")

    # when: the same username again with another role and agency
    second_output = run("create_account", "oscar", "--role", "secretariat", "--agency", "經濟部")

    # then
    assert User.objects.filter(username="oscar").count() == 1
    updated = User.objects.get(username="oscar")
    assert updated.pk == user.pk
    assert (updated.role, updated.agency, updated.is_staff) == (Role.SECRETARIAT, other_agency, True)
    assert "password:" not in second_output  # the existing password is kept
    assert updated.check_password(password)

    # and back to a reader without an agency
    run("create_account", "oscar", "--role", "reader")
    user.refresh_from_db()
    assert (user.role, user.agency, user.is_staff) == (Role.READER, None, False)
    assert User.objects.count() == 1


def test_create_account_again_with_password_changes_it(db):
    run("create_account", "peggy", "--role", "reader", "--password", "first passphrase here")

    run("create_account", "peggy", "--role", "reader", "--password", "second passphrase here")

    user = User.objects.get(username="peggy")
    assert user.check_password("second passphrase here")
    assert not user.check_password("first passphrase here")


@pytest.mark.parametrize("weak", ["123", "password", "trent-1"])
def test_create_account_refuses_a_weak_password(db, weak):
    with pytest.raises(CommandError, match="password"):
        run("create_account", "trent", "--role", "reader", "--password", weak)

    assert not User.objects.filter(username="trent").exists()


def test_create_account_weak_password_leaves_an_existing_account_alone(db):
    run("create_account", "trudy", "--role", "reader", "--password", "a long chosen passphrase")

    with pytest.raises(CommandError):
        run("create_account", "trudy", "--role", "secretariat", "--password", "123")

    user = User.objects.get(username="trudy")
    assert user.role == Role.READER
    assert user.check_password("a long chosen passphrase")


def test_create_account_gives_an_unusable_password_account_a_new_one(db):
    user = UserFactory(username="sso-user", role=Role.READER)
    user.set_unusable_password()
    user.save()

    password = generated_password(run("create_account", "sso-user", "--role", "reader"))

    user.refresh_from_db()
    assert user.check_password(password)


# --------------------------------------------------------------------------- issue_token


@pytest.fixture
def reader(db):
    return UserFactory(username="api-reader", role=Role.READER)


def test_issue_token_prints_a_token_that_authenticates(reader):
    key = run("issue_token", "api-reader").strip()

    assert re.fullmatch(r"[0-9a-f]{40}", key)
    stored = ApiKey.objects.get(user=reader)
    assert (stored.key_hash, stored.prefix) == (key_hash(key), key[:8])
    assert not ApiKey.objects.filter(key_hash=key).exists()  # only the hash is kept
    response = get_projects(key)
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_issue_token_issues_a_new_key_each_time_and_both_work(reader):
    first = run("issue_token", "api-reader", "--name", "開放資料平臺").strip()
    second = run("issue_token", "api-reader").strip()

    assert first != second
    assert ApiKey.objects.filter(user=reader).count() == 2
    assert ApiKey.objects.get(key_hash=key_hash(first)).name == "開放資料平臺"
    assert get_projects(first).status_code == get_projects(second).status_code == 200


def test_issue_token_rotate_gives_a_new_one_and_revokes_the_old(reader):
    old = run("issue_token", "api-reader").strip()

    new = run("issue_token", "api-reader", "--rotate").strip()

    assert re.fullmatch(r"[0-9a-f]{40}", new)
    assert new != old
    assert get_projects(new).status_code == 200
    old_response = get_projects(old)
    assert old_response.status_code == 401
    assert old_response.json()["code"] == "authentication_failed"
    assert ApiKey.objects.get(key_hash=key_hash(old)).revoked_at is not None


def test_issue_token_rotate_without_a_token_issues_one(reader):
    key = run("issue_token", "api-reader", "--rotate").strip()

    assert get_projects(key).status_code == 200


def test_issue_token_unknown_user_fails(db):
    with pytest.raises(CommandError, match="nobody"):
        run("issue_token", "nobody")

    assert not ApiKey.objects.exists()


def test_issue_token_inactive_user_fails(reader):
    reader.is_active = False
    reader.save()

    with pytest.raises(CommandError):
        run("issue_token", "api-reader")


def test_tokens_are_per_user(reader):
    UserFactory(username="api-other", role=Role.READER)

    assert run("issue_token", "api-reader").strip() != run("issue_token", "api-other").strip()


def test_a_key_records_when_it_was_last_used(reader):
    key = run("issue_token", "api-reader").strip()
    assert ApiKey.objects.get().last_used_at is None

    get_projects(key)

    assert ApiKey.objects.get().last_used_at is not None


def test_a_revoked_key_or_an_inactive_account_no_longer_authenticates(reader):
    from accounts.services import api_key_revoke

    revoked = run("issue_token", "api-reader").strip()
    kept = run("issue_token", "api-reader").strip()
    api_key_revoke(api_key=ApiKey.objects.get(key_hash=key_hash(revoked)))

    assert get_projects(revoked).status_code == 401
    assert get_projects(kept).status_code == 200
    reader.is_active = False
    reader.save()
    assert get_projects(kept).status_code == 401


def test_the_secretariat_issues_a_key_in_the_admin_and_sees_it_once(client, reader):
    secretariat = UserFactory(username="sec-admin", role=Role.SECRETARIAT, is_staff=True, is_superuser=True)
    client.force_login(secretariat)

    response = client.post(
        "/admin/accounts/apikey/add/",
        {"user": reader.pk, "name": "儀表板", "revoked_at_0": "", "revoked_at_1": ""},
        follow=True,
    )

    stored = ApiKey.objects.get(user=reader)
    shown = re.search(r"[0-9a-f]{40}", " ".join(str(m) for m in response.context["messages"])).group(0)
    assert (stored.name, stored.created_by, stored.key_hash) == ("儀表板", secretariat, key_hash(shown))
    assert get_projects(shown).status_code == 200
