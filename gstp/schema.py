"""What the OpenAPI schema says beyond what the views declare: the one error shape, every error an
operation can answer, and examples.

Hooked in through ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``, so a new endpoint is documented
with its errors without repeating them in each view.
"""

from __future__ import annotations

import copy

from .schema_examples import ERROR_EXAMPLES, EXAMPLES

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answers with this shape: `detail` for a person, `code` for a program, and "
    "`errors` naming each invalid field (`non_field_errors` for the object as a whole).",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {},
            "description": "Field name: its messages (a list, or an object for nested fields).",
        },
    },
    "required": ["detail", "code"],
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid parameters or fields; `errors` names each one.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such object, or one you may not see: the two answers are the same.",
    "413": "The request body is larger than the server accepts.",
    "503": "The database is unavailable for a moment; send the request again after `Retry-After` seconds.",
}
NOT_MODIFIED = {"description": "Not modified: the representation still matches `If-None-Match` or `If-Modified-Since`."}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def postprocess(result, generator, request, public):
    """Add the error component and examples, and document on each operation the errors it may answer."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = copy.deepcopy(ERROR_SCHEMA)
    for name, example in EXAMPLES.items():
        if name in schemas:
            schemas[name]["example"] = copy.deepcopy(example)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            _document_errors(path, method, operation)
    return result


def _document_errors(path: str, method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    statuses = {"503"}
    security = operation.get("security", [])
    if security and {} not in security:  # ``{}`` among the requirements: anonymous callers are welcome
        statuses |= {"401", "403"}
    if "{" in path:
        statuses.add("404")
    if method in WRITE_METHODS or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        statuses.add("400")
    if "requestBody" in operation:
        statuses.add("413")
    for status in statuses:
        responses.setdefault(status, {"description": ERROR_DESCRIPTIONS[status]})
    for status, response in responses.items():
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "example": copy.deepcopy(ERROR_EXAMPLES.get(status, ERROR_EXAMPLES["400"])),
                }
            }
    if method == "get" and "304" not in responses:
        responses["304"] = dict(NOT_MODIFIED)
