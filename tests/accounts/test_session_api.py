"""Signing in and out of the API with a session, in JSON (/api/v1/auth/session/), for a browser's scripts.

CSRF is enforced as a browser meets it (``enforce_csrf_checks=True``): a script reads the ``csrftoken``
cookie and sends it back in ``X-CSRFToken`` with every write, signing in and out included.
"""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Role
from tests.accounts.factories import PASSWORD, UserFactory, lead_user, reader_user

SESSION = "/api/v1/auth/session/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    return APIClient(enforce_csrf_checks=True)


def csrf_token(client) -> str:
    """What a page's script does first: read the csrftoken cookie the API hands out."""
    response = client.get(SESSION)
    return response.cookies["csrftoken"].value


def sign_in(client, username, password, *, csrf=None, **headers):
    token = csrf if csrf is not None else csrf_token(client)
    return client.post(
        SESSION, {"username": username, "password": password}, format="json", HTTP_X_CSRFTOKEN=token, **headers
    )


def test_signing_in_answers_who_and_sets_the_session_and_csrf_cookies(browser, agency):
    # given: nobody signed in; the first GET answers 401 and hands out the csrftoken cookie
    lead_user(agency, "moda-lead")
    before = browser.get(SESSION)
    assert before.status_code == 401
    assert before.json()["code"] == "not_authenticated"
    token = before.cookies["csrftoken"].value

    # when
    response = sign_in(browser, "moda-lead", PASSWORD, csrf=token)

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "username": "moda-lead",
        "role": "lead",
        "agency": {"id": agency.pk, "name": "數位發展部", "short_name": "數位部"},
    }
    assert response.cookies[settings.SESSION_COOKIE_NAME].value
    new_token = response.cookies["csrftoken"].value
    assert new_token and new_token != token  # a new token for the new session
    # and the session is who it says
    assert browser.get(SESSION).json()["username"] == "moda-lead"
    assert browser.get("/api/v1/projects/").status_code == 200


def test_a_reader_without_an_agency_has_none(browser):
    reader_user("portal-person")

    response = sign_in(browser, "portal-person", PASSWORD)

    assert response.status_code == 200, response.content
    assert response.json() == {"username": "portal-person", "role": "reader", "agency": None}


def test_a_write_with_the_session_needs_the_new_csrf_token(browser, agency):
    lead_user(agency, "moda-lead")
    token = sign_in(browser, "moda-lead", PASSWORD).cookies["csrftoken"].value

    refused = browser.post("/api/v1/reports/", {"period": "2024Q3"}, format="json")
    judged = browser.post("/api/v1/reports/", {"period": "2024Q3"}, format="json", HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert "X-CSRFToken" in refused.json()["detail"]
    assert judged.status_code == 400  # past CSRF: the body itself is judged
    assert "project" in judged.json()["errors"]


def test_signing_in_without_the_csrf_token_is_refused_and_not_counted(browser):
    reader_user("alice")

    response = browser.post(SESSION, {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "X-CSRFToken" in response.json()["detail"]
    assert browser.get(SESSION).status_code == 401
    assert not AccessAttempt.objects.exists()


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(browser):
    reader_user("alice")
    UserFactory(username="retired", role=Role.READER, is_active=False)

    wrong_password = sign_in(browser, "alice", "not the password")
    unknown = sign_in(browser, "nobody", "not the password")
    inactive = sign_in(browser, "retired", PASSWORD)

    for response in (wrong_password, unknown, inactive):
        assert response.status_code == 400, response.content
        assert response.json() == wrong_password.json()
    assert wrong_password.json()["code"] == "invalid_credentials"
    assert wrong_password.json()["errors"] == {"non_field_errors": ["帳號或密碼不正確。"]}
    assert browser.get(SESSION).status_code == 401


def test_missing_fields_are_named(browser):
    response = browser.post(SESSION, {}, format="json", HTTP_X_CSRFTOKEN=csrf_token(browser))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"username", "password"}


def test_signing_out_ends_the_session(browser):
    reader_user("alice")
    token = sign_in(browser, "alice", PASSWORD).cookies["csrftoken"].value

    response = browser.delete(SESSION, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 204
    assert browser.get(SESSION).status_code == 401
    assert browser.get("/api/v1/projects/").status_code == 401


def test_signing_out_needs_the_csrf_token(browser):
    reader_user("alice")
    sign_in(browser, "alice", PASSWORD)

    response = browser.delete(SESSION)

    assert response.status_code == 403
    assert browser.get(SESSION).json()["username"] == "alice"  # still signed in


def test_signing_out_when_nobody_is_signed_in_is_no_error(browser):
    assert browser.delete(SESSION, HTTP_X_CSRFTOKEN=csrf_token(browser)).status_code == 204


def test_an_api_key_says_whose_it_is(reader_client):
    response = reader_client.get(SESSION)

    assert response.status_code == 200
    assert response.json() == {"username": "reader", "role": "reader", "agency": None}


def test_the_old_sign_in_page_leads_to_the_consoles_in_chinese(browser):
    reader_user("alice")

    response = browser.get("/api/v1/auth/login/?next=/api/v1/projects/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/v1/projects/"
    page = browser.get(response["Location"]).content.decode()
    assert '<html lang="zh-hant"' in page and "登入" in page
    # and signing in there comes back to the API
    signed_in = browser.post(
        "/accounts/login/",
        {
            "username": "alice",
            "password": PASSWORD,
            "next": "/api/v1/projects/",
            "csrfmiddlewaretoken": csrf_token(browser),
        },
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/api/v1/projects/"
    assert browser.get("/api/v1/projects/").status_code == 200


def test_the_schema_documents_signing_in_and_out(reader_client):
    schema = reader_client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en").json()
    operations = schema["paths"][SESSION]

    assert set(operations) == {"get", "post", "delete"}
    sign_in_operation = operations["post"]
    body = sign_in_operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][body.rsplit("/", 1)[1]]["required"]) == {"username", "password"}
    assert {"200", "400", "403", "429"} <= set(sign_in_operation["responses"])
    answer = sign_in_operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]) == {
        "username",
        "role",
        "agency",
    }
    for status in ("400", "403", "429"):
        error = sign_in_operation["responses"][status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/Error"}
    assert "204" in operations["delete"]["responses"]
    assert "401" in operations["get"]["responses"]
    assert "X-CSRFToken" in schema["components"]["securitySchemes"]["cookieAuth"]["description"]
    assert "X-CSRFToken" in schema["info"]["description"]
    components = schema["components"]["schemas"]
    assert components["SignInRequest"]["example"]["username"] == "moda-lead"
    assert components["SignedInUser"]["example"]["role"] == "lead"
