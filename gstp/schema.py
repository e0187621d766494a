"""What the OpenAPI schema says beyond what the views declare: the one error shape, every error an
operation can answer, and examples; and the forms client generators read without guessing: a query
parameter's choices named by the enum component they match (never by their translated label), and a
nullable reference written as "the referenced schema, or null".

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

NULL_REF = "#/components/schemas/NullEnum"
NOT_MODIFIED = "Not modified: the representation still matches `If-None-Match` or `If-Modified-Since`."
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
RETRY_AFTER = {
    "Retry-After": {
        "description": "Whole seconds to wait before sending the request again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _descriptions() -> dict[str, str]:
    return {
        "400": _("Invalid parameters or fields; `errors` names each one."),
        "401": _("No credentials, or credentials that are not valid."),
        "403": _("Signed in, but not allowed to do this."),
        "404": _("No such object, or one you may not see (the same answer), or a page past the end."),
        "413": _("The request body is larger than the server accepts."),
        "415": _("The request body's content type is not accepted."),
        "429": _(
            "Too many requests of this kind (reads, writes or exports) from this API key, user or address; send it "
            "again after Retry-After seconds."
        ),
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
    enums = _enum_components(schemas)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            _document_errors(method, operation, descriptions)
            for parameter in operation.get("parameters", []):
                _name_parameter_enum(parameter, enums)
    if _nullable_references(result):
        schemas.setdefault("NullEnum", {"enum": [None]})
    return result


def _enum_components(schemas: dict) -> dict[frozenset, str]:
    """Enum components by their set of values, for the sets that only one component has."""
    by_values: dict[frozenset, list[str]] = {}
    for name, component in schemas.items():
        values = [value for value in component.get("enum", []) if value is not None]
        if values:
            by_values.setdefault(frozenset(values), []).append(name)
    return {values: names[0] for values, names in by_values.items() if len(names) == 1}


def _name_parameter_enum(parameter: dict, enums: dict[frozenset, str]) -> None:
    """A query parameter's choices refer to the enum component with the same values (``?kind=`` to
    ``NodeKindEnum``), so a generated client shares one type for a field and its filter. A label is no
    name: the model field's translated verbose name (``燈號``) would otherwise become the type's name."""
    schema = parameter.get("schema", {})
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    if "enum" not in schema:
        return
    schema.pop("title", None)
    component = enums.get(frozenset(schema["enum"]))
    if component is not None:
        for key in ("type", "enum"):
            schema.pop(key)
        schema["$ref"] = f"#/components/schemas/{component}"


def _nullable_references(node) -> bool:
    """``{allOf: [$ref], nullable: true}`` becomes ``{oneOf: [$ref, NullEnum]}``: OpenAPI 3.0 gives
    ``nullable`` no meaning without a ``type`` beside it, and generators read the ``oneOf`` as
    "this or null". True when any was rewritten."""
    rewritten = False
    if isinstance(node, list):
        for item in node:
            rewritten |= _nullable_references(item)
    elif isinstance(node, dict):
        for value in node.values():
            rewritten |= _nullable_references(value)
        if node.get("nullable") and "type" not in node and ("allOf" in node or "oneOf" in node):
            choices = node.pop("allOf", None) or node.pop("oneOf")
            del node["nullable"]
            refs = [choice for choice in choices if choice != {"$ref": NULL_REF}]
            node["oneOf"] = [*refs, {"$ref": NULL_REF}]
            rewritten = True
    return rewritten


def _error_statuses(method: str, operation: dict) -> set[str]:
    """Any operation may answer 400 (a parameter or field), 403 and 404 (an object or page out of reach),
    429 (the caller's limit reached) and 503 (the database away); 401 unless anonymous callers are welcome;
    413 for a write and 415 for a body of another content type."""
    statuses = {"400", "403", "404", "429", "503"}
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
        if response.get("description") == "No response body" and status in descriptions:
            response["description"] = descriptions[status]  # declared as ``None`` in a view: it has the error body
        if status in ("429", "503"):
            response.setdefault("headers", copy.deepcopy(RETRY_AFTER))
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "example": copy.deepcopy(ERROR_EXAMPLES.get(status, ERROR_EXAMPLES["400"])),
                }
            }
    if method == "get":
        responses.setdefault("304", {"description": NOT_MODIFIED})
