"""A request body over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MiB by default) is refused with a JSON 413 before the
view reads it: judged from Content-Length, or, for a chunked body without one (ASGI), by reading at most one
byte past the limit. Too many form fields is a JSON 400."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_issue
from reviews.models import QuarterlyReport
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"
TEN_MB = 10 * 1024 * 1024


def ten_megabytes_of_json() -> bytes:
    body = json.dumps({"period": "2024Q3", "achievements": "x" * TEN_MB}).encode()
    assert len(body) > TEN_MB
    return body


def assert_too_large(status, body):
    assert status == 413
    assert body["code"] == "request_too_large"
    assert str(1024 * 1024) in body["detail"]


def test_a_ten_megabyte_report_is_refused_with_413_json(lead_client):
    response = lead_client.post(REPORTS, ten_megabytes_of_json(), content_type="application/json")

    assert_too_large(response.status_code, response.json())
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-ID"]
    assert not QuarterlyReport.objects.exists()


def test_the_limit_is_judged_before_authentication(anonymous_client):
    response = anonymous_client.post(REPORTS, ten_megabytes_of_json(), content_type="application/json")

    assert_too_large(response.status_code, response.json())


def test_a_body_under_the_limit_reaches_the_view(lead_client):
    body = json.dumps({"period": "2024Q3", "achievements": "x" * 900_000}).encode()

    response = lead_client.post(REPORTS, body, content_type="application/json")

    assert response.status_code == 400
    assert "project" in response.json()["errors"]


def test_the_limit_comes_from_the_settings(lead_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = lead_client.post(REPORTS, {"period": "2024Q3", "achievements": "x" * 200}, format="json")

    assert response.status_code == 413
    assert "100" in response.json()["detail"]


def test_a_form_with_too_many_fields_is_a_json_400(lead_client):
    fields = {f"field{i}": "1" for i in range(1001)}

    response = lead_client.post(REPORTS, fields)  # multipart, under the size limit

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_fields"


def test_too_many_fields_refused_before_the_view_is_json_too():
    # The CSRF check reads the form before any view: Django answers through handler400.
    client = APIClient(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "a" * 32
    fields = {f"field{i}": "1" for i in range(1001)}

    response = client.post("/admin/login/", fields, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_fields"


# --- chunked bodies, without Content-Length, through the ASGI handler --------------------------


def asgi_post(path, chunks, headers):
    """POST ``chunks`` as one body in several ASGI messages and no Content-Length, as a server relays a
    ``Transfer-Encoding: chunked`` request; returns (status, headers, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent

    async def send(message):
        sent.append(message)

    # As Django's test client does: the test's transaction must survive the request's start and end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(ASGIHandler())(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], {name.lower(): value for name, value in start["headers"]}, body


@pytest.fixture
def lead_token(agency):
    return token_issue(user=UserFactory(username="chunked-lead", role=Role.LEAD, agency=agency))


def test_a_chunked_ten_megabyte_body_is_refused_with_413_json(lead_token):
    body = ten_megabytes_of_json()
    chunks = [body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]

    status, headers, answer = asgi_post(
        REPORTS,
        chunks,
        [(b"content-type", b"application/json"), (b"authorization", f"Token {lead_token}".encode())],
    )

    assert_too_large(status, json.loads(answer))
    assert headers[b"content-type"] == b"application/json"
    assert not QuarterlyReport.objects.exists()


def test_a_small_chunked_body_is_read(lead_token):
    status, _, answer = asgi_post(
        REPORTS,
        [b'{"period": ', b'"2024Q3"'],  # cut short: only a parser that read it can say so
        [(b"content-type", b"application/json"), (b"authorization", f"Token {lead_token}".encode())],
    )

    assert status == 400
    assert json.loads(answer)["code"] == "parse_error"


def test_a_chunked_oversized_form_to_a_django_view_is_json_too():
    status, _, answer = asgi_post(
        "/admin/login/",
        [b"username=alice&password=" + b"x" * (2 * 1024 * 1024)],
        [(b"content-type", b"application/x-www-form-urlencoded")],
    )

    assert_too_large(status, json.loads(answer))
