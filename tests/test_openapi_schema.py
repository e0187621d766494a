"""The published schema documents every operation's errors in the one error shape, with examples that
are true to their schemas; real error answers match what it documents."""

import pytest
from drf_spectacular.validation import validate_schema
from openapi_schema_validator import OAS30Validator

from tests.test_openapi_responses import nullable_refs


@pytest.fixture
def schema(secretariat_client, db):
    response = secretariat_client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    document = response.json()
    validate_schema(document)
    return document


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def validator_for(schema, node):
    return OAS30Validator(nullable_refs({**node, "components": schema["components"]}))


def assert_valid(schema, node, instance, where):
    errors = sorted(validator_for(schema, node).iter_errors(instance), key=str)
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_every_operation_documents_the_errors_it_can_answer(schema):
    checked = 0
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        assert {"400", "401", "403", "404", "503"} <= statuses, f"{method} {path}"
        if method != "get":
            assert "413" in statuses, f"{method} {path}"
        if "requestBody" in operation:
            assert "415" in statuses, f"{method} {path}"
        if method == "get":
            assert "304" in statuses and "content" not in operation["responses"]["304"], f"{method} {path}"
        checked += 1
    assert checked >= 29


def test_every_error_response_has_the_error_shape_and_a_valid_example(schema):
    errors = 0
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = response["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}, f"{status} {method} {path}"
            assert_valid(schema, content["schema"], content["example"], f"{status} {method} {path}")
            assert response["description"]
            errors += 1
    assert errors > 150


def test_component_examples_match_their_schemas(schema, reader_client):
    # A reader is answered with the flags' public fields: its schema names that component.
    reader_schema = reader_client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en").json()
    with_examples = set()
    for document in (schema, reader_schema):
        components = document["components"]["schemas"]
        for name, component in components.items():
            if "example" in component:
                assert set(component["example"]) <= set(component.get("properties", component["example"])), name
                assert_valid(document, {"$ref": f"#/components/schemas/{name}"}, component["example"], name)
                with_examples.add(name)
    # Every resource the API answers with, and every request body, has one.
    assert {
        "Agency",
        "Plan",
        "Project",
        "Milestone",
        "Indicator",
        "Report",
        "Flag",
        "PublicFlag",
        "LightCount",
        "OverallRow",
        "OwedReport",
        "ReportEvent",
        "Deletion",
        "ReportCreateRequest",
        "PatchedReportUpdateRequest",
        "ReturnRequest",
        "ResolveRequest",
        "CommentRequest",
        "ActualWriteRequest",
    } - with_examples == set()


def test_a_broken_example_is_caught(schema):
    # The check above is not vacuous: an example with a wrong type fails it.
    broken = {**schema["components"]["schemas"]["Project"]["example"], "id": "three"}
    errors = list(validator_for(schema, {"$ref": "#/components/schemas/Project"}).iter_errors(broken))
    assert errors


@pytest.mark.parametrize(
    ("client_name", "method", "url", "status"),
    [
        ("anonymous_client", "get", "/api/v1/projects/", 401),
        ("secretariat_client", "get", "/api/v1/projects/999999/", 404),
        ("secretariat_client", "get", "/api/v1/projects/?updated_since=yesterday", 400),
        ("lead_client", "post", "/api/v1/reports/", 400),
        ("reader_client", "post", "/api/v1/reports/", 403),
    ],
)
def test_real_error_answers_match_the_documented_shape(request, schema, client_name, method, url, status):
    client = request.getfixturevalue(client_name)
    response = getattr(client, method)(url, {} if method == "post" else None, format="json")

    assert response.status_code == status
    path = url.split("?")[0].replace("999999", "{id}")
    documented = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    assert_valid(schema, documented, response.json(), f"{status} {method} {url}")
