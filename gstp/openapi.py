"""The error answers of every operation, written into the OpenAPI schema.

Every error is JSON in one shape (``gstp.errors``), and any operation can answer with some of them: 401
without credentials, 403 when the caller may not, 404 for an id that does not exist or is out of scope (and
for a page past the end), 400 for invalid parameters or fields. The views document their successes;
this hook adds the errors, and the error body to every error a view documents by its description only,
so a client (or a fuzzer) finds every status it can get in the schema, with its body.
"""

from django.utils.translation import gettext as _

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` for a person, `code` for a program, `errors` naming each invalid field.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {}},
    },
    "required": ["detail", "code"],
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _descriptions():
    return {
        "400": _("Invalid parameters or fields; `errors` names each one."),
        "401": _("No valid credentials."),
        "403": _("Not allowed to do this."),
        "404": _("No such object, or not visible to you."),
        "413": _("The request body is too large."),
        "415": _("The request body's content type is not accepted."),
    }


def _error_statuses(method: str, operation: dict) -> list[str]:
    statuses = ["400", "403", "404"]
    if operation.get("security") != [{}]:
        statuses.append("401")
    if method in WRITE_METHODS:
        statuses.append("413")
    if "requestBody" in operation:
        statuses.append("415")
    return statuses


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation's error answers, with the error schema."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    descriptions = _descriptions()
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                responses.setdefault(status, {"description": descriptions[status]})
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    response.setdefault("content", body)
    return result
