"""Real answers match the OpenAPI schema the API publishes (OpenAPI 3.0 rules, nullable included)."""

import io

import pytest
from django.core.management import call_command
from openapi_schema_validator import OAS30Validator

from accounts.models import User
from accounts.services import token_issue
from projects.models import Plan
from reviews.models import LagFlag, QuarterlyReport, ReportStatus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=io.StringIO())
        yield
        call_command("flush", "--no-input", verbosity=0)


@pytest.fixture
def schema(secretariat_client):
    return secretariat_client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en").json()


@pytest.fixture
def secretariat(demo, db):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=User.objects.get(username='secretariat'))}")
    return client


def response_schema(schema, path, method, status):
    operation = schema["paths"][path][method]
    content = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return content


def nullable_refs(node):
    """OpenAPI 3.0 writes a nullable reference as ``allOf: [$ref], nullable: true``, which a strict
    validator reads as "the referenced object, and also nothing"; say what it means: either."""
    if isinstance(node, list):
        return [nullable_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: nullable_refs(value) for key, value in node.items()}
    if node.get("nullable") and len(node.get("allOf", [])) == 1:
        rest = {key: value for key, value in node.items() if key not in ("allOf", "nullable")}
        return {**rest, "anyOf": [node["allOf"][0], {"nullable": True, "enum": [None]}]}
    return node


def validate(schema, path, method, status, body):
    validator = OAS30Validator(
        nullable_refs({**response_schema(schema, path, method, status), "components": schema["components"]}),
    )
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path}: {errors[0].message} at {list(errors[0].absolute_path)}"


@pytest.mark.parametrize(
    ("template", "model"),
    [
        ("/api/v1/agencies/", None),
        ("/api/v1/plans/", None),
        ("/api/v1/projects/", None),
        ("/api/v1/milestones/", None),
        ("/api/v1/indicators/", None),
        ("/api/v1/reports/", QuarterlyReport),
        ("/api/v1/flags/", LagFlag),
    ],
)
def test_lists_and_details_match_the_schema(secretariat, schema, template, model):
    listing = secretariat.get(template, {"page_size": 20})
    validate(schema, template, "get", 200, listing.json())
    first = listing.json()["results"][0]["id"]

    detail = secretariat.get(f"{template}{first}/")

    validate(schema, f"{template}{{id}}/", "get", 200, detail.json())


def test_the_plan_summary_history_and_lights_match_the_schema(secretariat, schema):
    report = QuarterlyReport.objects.filter(status=ReportStatus.ACCEPTED).first()
    plan = Plan.objects.get()

    validate(
        schema,
        "/api/v1/plans/{plan_id}/indicators/",
        "get",
        200,
        secretariat.get(f"/api/v1/plans/{plan.pk}/indicators/").json(),
    )
    validate(
        schema,
        "/api/v1/reports/{id}/history/",
        "get",
        200,
        secretariat.get(f"/api/v1/reports/{report.pk}/history/").json(),
    )
    validate(schema, "/api/v1/lights/", "get", 200, secretariat.get("/api/v1/lights/", {"plan": plan.pk}).json())
    validate(schema, "/api/v1/deletions/", "get", 200, secretariat.get("/api/v1/deletions/").json())
