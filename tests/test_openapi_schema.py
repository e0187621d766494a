"""The published schema documents every operation's errors in the one error shape, with examples that
are true to their schemas; real error answers match what it documents."""

import pytest
from drf_spectacular.validation import validate_schema
from openapi_schema_validator import OAS30Validator

from tests.reviews.factories import FlagCommentFactory, LagFlagFactory
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
        assert {"400", "401", "403", "404", "429", "503"} <= statuses, f"{method} {path}"
        for status in ("429", "503"):  # when to send it again
            header = operation["responses"][status]["headers"]["Retry-After"]
            assert header["schema"] == {"type": "integer", "minimum": 1}, f"{status} {method} {path}"
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


def test_component_examples_match_their_schemas(schema):
    with_examples = set()
    for name, component in schema["components"]["schemas"].items():
        if "example" in component:
            assert set(component["example"]) <= set(component.get("properties", component["example"])), name
            assert_valid(schema, {"$ref": f"#/components/schemas/{name}"}, component["example"], name)
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


def test_every_caller_is_served_the_same_schema(schema, lead_client, reader_client, anonymous_client, settings):
    # One client generated from it reads everyone's answers: a flag's fields for the secretariat and the
    # sub-project's leads are typed in `Flag`, not required, and not missing from a reader's schema.
    settings.GSTP_API_DOCS_PUBLIC = True
    for client in (lead_client, reader_client, anonymous_client):
        assert client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="en").json() == schema
    flag = schema["components"]["schemas"]["Flag"]
    assert {"acknowledged_by", "resolved_by", "resolution_reason", "comments"} <= set(flag["properties"])
    assert not {"acknowledged_by", "resolved_by", "resolution_reason", "comments"} & set(flag["required"])
    assert flag["properties"]["evidence"]["allOf"] == [{"$ref": "#/components/schemas/FlagEvidence"}]
    assert "PublicFlag" not in schema["components"]["schemas"]


def test_a_readers_and_the_secretariats_flags_match_the_flag_schema(schema, secretariat_client, reader_client):
    flag = LagFlagFactory(evidence={"rule": "progress_gap", "period": "2024Q1", "gap": "-6"})
    FlagCommentFactory(flag=flag)
    flags = "/api/v1/flags/{id}/"

    full = secretariat_client.get(flags.format(id=flag.pk)).json()
    public = reader_client.get(flags.format(id=flag.pk)).json()

    assert "comments" in full and "comments" not in public
    documented = schema["paths"][flags]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    for answer in (full, public):
        assert_valid(schema, documented, answer, f"GET {flags}")


# The uploads of evidence files: multipart/form-data with a binary `file`.
UPLOADS = {
    ("/api/v1/reports/{id}/files/", "post"),
    ("/api/v1/flags/{id}/comments/{comment_id}/files/", "post"),
    ("/api/v1/assessments/{id}/files/", "post"),
}


def test_request_bodies_are_json_and_report_answers_document_their_etag(schema):
    bodies = {(path, method): op["requestBody"] for path, method, op in operations(schema) if "requestBody" in op}
    assert len(bodies) >= 6  # filing, editing and returning reports, resolving, commenting, actuals
    assert all(set(body["content"]) == {"application/json"} for key, body in bodies.items() if key not in UPLOADS)
    for key in UPLOADS:
        (form,) = bodies[key]["content"].values()
        assert set(bodies[key]["content"]) == {"multipart/form-data"}, key
        upload = schema["components"]["schemas"][form["schema"]["$ref"].rsplit("/", 1)[-1]]
        assert upload["properties"]["file"] == {"type": "string", "format": "binary"}, key
        assert upload["required"] == ["file"], key
    report_operations = [
        ("/api/v1/reports/", "post", "201"),
        ("/api/v1/reports/{id}/", "get", "200"),
        ("/api/v1/reports/{id}/", "patch", "200"),
        ("/api/v1/reports/{id}/submit/", "post", "200"),
        ("/api/v1/reports/{id}/return/", "post", "200"),
        ("/api/v1/reports/{id}/accept/", "post", "200"),
    ]
    for path, method, status in report_operations:
        assert "ETag" in schema["paths"][path][method]["responses"][status]["headers"], f"{method} {path}"
    assert "etag" in schema["components"]["schemas"]["Report"]["required"]


def test_list_typed_filters_take_one_value_or_repeat_it_and_name_their_enum(schema):
    # ?kind=subproject or ?kind=group&kind=subproject: form style, exploded; the items are NodeKindEnum, as
    # a node's `kind` is, and no parameter keeps a translated label as its schema's title.
    lists = {}
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            assert "title" not in parameter["schema"].get("items", parameter["schema"]), f"{parameter['name']} {path}"
            if parameter["schema"].get("type") == "array":
                assert (parameter["style"], parameter["explode"]) == ("form", True), f"{parameter['name']} {path}"
                lists[f"{path}?{parameter['name']}"] = parameter["schema"]["items"].get("$ref", "").rsplit("/")[-1]
    assert lists["/api/v1/projects/?kind"] == "NodeKindEnum"
    assert lists["/api/v1/flags/?severity"] == "SeverityEnum"
    assert lists["/api/v1/reports/?status"] == "ReportStatusEnum"
    assert lists["/api/v1/projects/?control_level"] == "ControlLevelEnum"
    assert lists["/api/v1/flags/?control_level"] == "ControlLevelEnum"
    assert "/api/v1/lights/?control_level" in lists


def test_exports_declare_their_media_types(schema):
    answer = schema["paths"]["/api/v1/exports/{resource}/"]["get"]["responses"]["200"]
    assert set(answer["content"]) == {
        "text/csv",
        "application/x-ndjson",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_component_and_operation_descriptions_are_written_for_api_users(schema):
    # Not the code's own notes: a serializer's or a view's docstring for developers leaks into the schema.
    internals = ("to_representation", "serializer", "DRF", "``", "queryset", "reviews.", "projects.")
    texts = [(name, component.get("description", "")) for name, component in schema["components"]["schemas"].items()]
    texts += [(f"{method} {path}", operation.get("description", "")) for path, method, operation in operations(schema)]
    assert [name for name, text in texts if any(word in text for word in internals)] == []
    resources = ["Agency", "Plan", "Project", "Milestone", "Indicator", "Report", "Flag", "FlagEvidence", "Error"]
    assert all(schema["components"]["schemas"][name]["description"] for name in resources)


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
