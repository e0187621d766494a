"""Sign-in attempts are limited per account and per client address (django-axes), on the real ways in:
the API's JSON sign-in (/api/v1/auth/session/) and the admin's page (/admin/login/)."""

import datetime
import json
import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client, override_settings

from accounts.models import Role
from tests.accounts.factories import UserFactory

API_LOGIN = "/api/v1/auth/session/"
ADMIN_LOGIN = "/admin/login/"
# What a failed sign-in answers before the limit: the API's 400, the admin's page again.
FAILED = {API_LOGIN: 400, ADMIN_LOGIN: 200}
PASSWORD = "correct horse battery staple"  # UserFactory's
LIMIT = 3

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("small_limit"),
]


@pytest.fixture
def small_limit():
    with override_settings(AXES_FAILURE_LIMIT=LIMIT, AXES_COOLOFF_TIME=datetime.timedelta(minutes=15)):
        yield


@pytest.fixture
def alice():
    return UserFactory(username="alice", role=Role.READER)


@pytest.fixture
def bob():
    return UserFactory(username="bob", role=Role.READER)


def sign_in(username, password, *, address="203.0.113.10", path=API_LOGIN, **headers):
    credentials = {"username": username, "password": password}
    if path == API_LOGIN:
        body = json.dumps(credentials)
        return Client().post(path, body, content_type="application/json", REMOTE_ADDR=address, **headers)
    return Client().post(path, credentials, REMOTE_ADDR=address, **headers)


def signed_in(response) -> bool:
    succeeded = 200 if response.wsgi_request.path == API_LOGIN else 302
    return response.status_code == succeeded and "_auth_user_id" in response.wsgi_request.session


def fail(username, times, *, address="203.0.113.10", path=API_LOGIN):
    answers = [sign_in(username, "wrong password", address=address, path=path).status_code for _ in range(times)]
    return answers


def assert_locked_out(response):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "too_many_login_attempts"
    assert body["detail"]
    assert int(response["Retry-After"]) == 15 * 60


def test_failures_up_to_the_limit_lock_the_account_from_any_address(alice):
    # when: the limit is reached from one address
    answers = fail("alice", LIMIT, address="203.0.113.10")

    # then: the failures before it were ordinary failures, the last one locks
    assert answers[:-1] == [FAILED[API_LOGIN]] * (LIMIT - 1)
    assert answers[-1] == 429
    # and the right password from another address is refused too
    assert_locked_out(sign_in("alice", PASSWORD, address="198.51.100.20"))


def test_failures_up_to_the_limit_lock_the_address_for_every_account(alice, bob):
    # given: the limit reached from one address, spread over accounts that do not even exist
    for username in ["carol", "dave", "erin"][:LIMIT]:
        fail(username, 1, address="203.0.113.10")

    # then: another account's right password is refused from that address
    assert_locked_out(sign_in("bob", PASSWORD, address="203.0.113.10"))
    # but works from another address
    assert signed_in(sign_in("bob", PASSWORD, address="198.51.100.20"))


def test_a_success_before_the_limit_resets_the_accounts_count(alice):
    # given
    fail("alice", LIMIT - 1)

    # when
    assert signed_in(sign_in("alice", PASSWORD))

    # then: the count starts again
    assert fail("alice", LIMIT - 1) == [FAILED[API_LOGIN]] * (LIMIT - 1)
    assert signed_in(sign_in("alice", PASSWORD))


def test_signing_into_ones_own_account_does_not_reset_the_addresss_count(alice, bob):
    # given: a guesser at alice's password, who also holds bob's account, at one address
    fail("alice", LIMIT - 1, address="203.0.113.10")

    # when: it signs into bob between guesses
    assert signed_in(sign_in("bob", PASSWORD, address="203.0.113.10"))

    # then: its next guess at alice still reaches the limit
    assert fail("alice", 1, address="203.0.113.10") == [429]


def test_the_lock_lifts_after_the_cool_off(alice):
    with override_settings(AXES_COOLOFF_TIME=datetime.timedelta(seconds=1)):
        # given
        assert fail("alice", LIMIT)[-1] == 429

        # when
        time.sleep(1.5)

        # then
        assert signed_in(sign_in("alice", PASSWORD, address="198.51.100.20"))
        assert signed_in(sign_in("alice", PASSWORD, address="203.0.113.10"))


def test_the_admin_sign_in_is_limited_too_with_a_plain_page(alice):
    # given
    assert fail("alice", LIMIT, path=ADMIN_LOGIN)[-1] == 429

    # when
    response = sign_in("alice", PASSWORD, path=ADMIN_LOGIN, address="198.51.100.20")

    # then
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode()
    # the lock is per account, whichever way in: the API's sign-in refuses it as well
    assert_locked_out(sign_in("alice", PASSWORD, address="198.51.100.30"))


def test_a_json_client_of_the_admin_page_gets_json(alice):
    fail("alice", LIMIT, path=ADMIN_LOGIN)

    response = sign_in("alice", PASSWORD, path=ADMIN_LOGIN, HTTP_ACCEPT="application/json")

    assert_locked_out(response)


def test_failures_are_recorded_without_the_password(alice):
    sign_in("alice", "hunter2-secret", address="203.0.113.10")

    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.ip_address == "203.0.113.10"
    assert "hunter2-secret" not in attempt.post_data


@override_settings(GSTP_TRUSTED_PROXIES=1)
def test_behind_a_proxy_the_forwarded_address_is_the_one_limited(alice, bob):
    proxy = "10.0.0.2"

    # given: a client behind the proxy reaches the limit, claiming another address in X-Forwarded-For
    for username in ["carol", "dave", "erin"][:LIMIT]:
        response = sign_in(
            username,
            "wrong",
            address=proxy,
            HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.10",  # the proxy appended the real one
        )
    assert response.status_code == 429

    # then: that client is locked out, not everyone behind the same proxy
    def from_client(client_address, username):
        return sign_in(username, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=client_address)

    assert from_client("203.0.113.10", "bob").status_code == 429
    assert signed_in(from_client("198.51.100.20", "bob"))
    assert AccessAttempt.objects.filter(ip_address=proxy).count() == 0


def test_authenticating_without_a_request_is_not_counted(alice):
    # A script or a test checking a password has no client address and is no sign-in from outside.
    assert authenticate(username="alice", password="wrong") is None
    assert authenticate(username="alice", password=PASSWORD) == alice
    assert not AccessAttempt.objects.exists()


CONSOLE_LOGIN = "/accounts/login/"


def console_sign_in(client, username, password, **headers):
    page = client.get(CONSOLE_LOGIN, **headers)
    assert page.status_code == 200
    return client.post(CONSOLE_LOGIN, {"username": username, "password": password, "next": ""}, **headers)


def test_the_console_sign_in_locked_out_answers_a_console_page(alice):
    # given: the console's sign-in form fails up to the limit
    client = Client(REMOTE_ADDR="203.0.113.10")
    answers = [console_sign_in(client, "alice", "wrong password").status_code for _ in range(LIMIT)]
    assert answers == [200] * (LIMIT - 1) + [429]

    # when: the right password, from another address
    response = console_sign_in(Client(REMOTE_ADDR="198.51.100.20"), "alice", PASSWORD)

    # then: a page of the console, in zh-Hant, saying when to try again and whom to ask
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) == 15 * 60
    page = response.content.decode()
    assert '<html lang="zh-hant">' in page
    assert "暫停登入" in page
    assert "此帳號或此位址登入失敗次數過多，請於 15 分鐘後再試。" in page
    assert "執行秘書室系統管理者" in page
    assert "_auth_user_id" not in response.wsgi_request.session


def test_the_console_lockout_page_in_english(alice):
    fail("alice", LIMIT, path=CONSOLE_LOGIN)

    response = console_sign_in(Client(), "alice", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 429
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Sign-in locked" in page
    assert "Too many failed sign-in attempts for this account or from this address. Try again in 15 minutes." in page
    assert "Executive Secretariat's system administrator" in page
