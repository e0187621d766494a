"""The OpenAPI schema and docs page are public only when GSTP_API_DOCS_PUBLIC says so (the default on a
developer's machine; production's default is signed-in users only, see tests/test_settings.py)."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

PAGES = ["/api/v1/schema/", "/api/v1/docs/"]


@pytest.mark.parametrize("path", PAGES)
@override_settings(GSTP_API_DOCS_PUBLIC=True)
def test_public_when_the_flag_is_on(anonymous_client, path):
    assert anonymous_client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
@override_settings(GSTP_API_DOCS_PUBLIC=False)
def test_signed_in_only_when_the_flag_is_off(anonymous_client, reader_client, path):
    refused = anonymous_client.get(path)
    assert refused.status_code in (401, 403)

    assert reader_client.get(path).status_code == 200


@override_settings(GSTP_API_DOCS_PUBLIC=False)
def test_the_refusal_is_the_apis_json_error(anonymous_client):
    response = anonymous_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_the_probes_are_not_in_the_schema(reader_client):
    paths = reader_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    assert not [path for path in paths if "healthz" in path or "readyz" in path]
