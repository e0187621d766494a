"""What the OpenAPI schema says beyond what the views declare: the one error shape, every error an
operation can answer, and examples.

Hooked in through ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``, so a new endpoint is documented
with its errors without repeating them in each view.
"""

from __future__ import annotations

import copy

from django.utils import timezone
from django.utils.translation import gettext as _

from .schema_examples import ERROR_EXAMPLES, EXAMPLES, dated_examples

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

NOT_MODIFIED = "Not modified: the representation still matches `If-None-Match` or `If-Modified-Since`."
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _descriptions() -> dict[str, str]:
    return {
        "400": _("Invalid parameters or fields; `errors` names each one."),
        "401": _("No credentials, or credentials that are not valid."),
        "403": _("Signed in, but not allowed to do this."),
        "404": _("No such object, or one you may not see (the same answer), or a page past the end."),
        "413": _("The request body is larger than the server accepts."),
        "415": _("The request body's content type is not accepted."),
        "503": _("The database is unavailable for a moment; send the request again after Retry-After seconds."),
    }


def postprocess(result, generator, request, public):
    """Add the error component and examples, and document on each operation the errors it may answer."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = copy.deepcopy(ERROR_SCHEMA)
    for name, example in {**EXAMPLES, **dated_examples(timezone.localdate())}.items():
        if name in schemas:
            schemas[name]["example"] = copy.deepcopy(example)
    descriptions = _descriptions()
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            _document_errors(method, operation, descriptions)
    return result


def _error_statuses(method: str, operation: dict) -> set[str]:
    """Any operation may answer 400 (a parameter or field), 403 and 404 (an object or page out of reach)
    and 503 (the database away); 401 unless anonymous callers are welcome; 413 for a write and 415 for a
    body of another content type."""
    statuses = {"400", "403", "404", "503"}
    if operation.get("security") != [{}]:
        statuses.add("401")
    if method in WRITE_METHODS:
        statuses.add("413")
    if "requestBody" in operation:
        statuses.add("415")
    return statuses


def _document_errors(method: str, operation: dict, descriptions: dict[str, str]) -> None:
    responses = operation.setdefault("responses", {})
    for status in _error_statuses(method, operation):
        responses.setdefault(status, {"description": descriptions[status]})
    for status, response in responses.items():
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "example": copy.deepcopy(ERROR_EXAMPLES.get(status, ERROR_EXAMPLES["400"])),
                }
            }
    if method == "get":
        responses.setdefault("304", {"description": NOT_MODIFIED})
