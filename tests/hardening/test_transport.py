"""HTTPS redirect (with the probes exempt), HSTS, CSRF on session writes, and CORS closed by default."""

import re

import pytest
from django.conf import settings
from django.middleware.csrf import get_token
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Role
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"
HTTPS_ONLY = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_HSTS_SECONDS": 3600,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
}


# --- HTTPS ---------------------------------------------------------------------------------------


@override_settings(**HTTPS_ONLY)
def test_plain_http_is_redirected_to_https():
    response = APIClient().get("/api/v1/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/"


@override_settings(**HTTPS_ONLY)
def test_https_through_the_proxy_is_served_with_hsts():
    response = APIClient().get("/api/v1/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains; preload"


@override_settings(**HTTPS_ONLY, ALLOWED_HOSTS=["gstp.example.gov.tw"])
def test_the_probes_answer_plain_http_with_any_host():
    # A load balancer probes the container's address over HTTP.
    client = APIClient()

    response = client.get("/healthz/", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "Strict-Transport-Security" not in response
    # while anything else still redirects, and an unknown host is still refused
    assert client.get("/api/v1/", HTTP_HOST="gstp.example.gov.tw").status_code == 301
    assert client.get("/api/v1/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_the_probe_paths_are_exempt_from_djangos_https_redirect():
    # Django's SecurityMiddleware matches these against the path without its leading slash.
    for path in ["healthz/", "readyz/"]:
        assert any(re.search(pattern, path) for pattern in settings.SECURE_REDIRECT_EXEMPT)
    assert not any(re.search(pattern, "api/v1/") for pattern in settings.SECURE_REDIRECT_EXEMPT)


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.fixture
def session_client(agency):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="browser-lead", role=Role.LEAD, agency=agency))
    return client


def test_a_session_write_without_the_csrf_token_is_refused_with_json(session_client):
    response = session_client.post(REPORTS, {"period": "2024Q3"}, format="json")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert "CSRF" in body["detail"]


def test_a_session_write_with_the_csrf_token_gets_through(session_client):
    # given: the token a page of GSTP would have handed the browser
    csrf = get_token(session_client.get("/api/v1/").wsgi_request)
    session_client.cookies["csrftoken"] = csrf

    response = session_client.post(REPORTS, {"period": "2024Q3"}, format="json", HTTP_X_CSRFTOKEN=csrf)

    # past CSRF: the body itself is judged
    assert response.status_code == 400
    assert "project" in response.json()["errors"]


def test_a_token_write_needs_no_csrf_token(lead_client):
    lead_client.handler.enforce_csrf_checks = True

    response = lead_client.post(REPORTS, {"period": "2024Q3"}, format="json")

    assert response.status_code == 400
    assert "project" in response.json()["errors"]


# --- CORS ----------------------------------------------------------------------------------------


def preflight(origin):
    return APIClient().options(
        "/api/v1/projects/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )


def test_cors_is_closed_by_default(reader_client):
    assert "Access-Control-Allow-Origin" not in preflight("https://dashboard.example.gov.tw")
    response = reader_client.get("/api/v1/projects/", HTTP_ORIGIN="https://dashboard.example.gov.tw")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


@override_settings(CORS_ALLOWED_ORIGINS=["https://dashboard.example.gov.tw"])
def test_cors_opens_to_the_listed_origins_only(reader_client):
    allowed = preflight("https://dashboard.example.gov.tw")
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://dashboard.example.gov.tw"
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed

    response = reader_client.get("/api/v1/projects/", HTTP_ORIGIN="https://dashboard.example.gov.tw")
    assert response["Access-Control-Allow-Origin"] == "https://dashboard.example.gov.tw"
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]

    assert "Access-Control-Allow-Origin" not in preflight("https://elsewhere.example.com")
