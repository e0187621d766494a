"""Schemathesis against the API's published schema, signed in as a privileged and an unprivileged caller.

Every operation goes through the examples and coverage phases and then GSTP_FUZZ_EXAMPLES generated cases
(10 by default) of valid and invalid data, against a small world of real objects, in-process over WSGI:
no answer may be a 5xx, and every answer must be documented by the schema (status, content type, body).

On every change (``make test``) one caller is fuzzed: a lead, who writes reports, their files and flag comments
(the largest bodies the API takes). ``make reliability`` (``python -m tests.security.run_fuzz``, which prints the
table) fuzzes every kind of caller in fuzzing.py's ``ACTORS`` with 100 cases per operation: the lead, another
system's API key (a reader: every write refused, every read narrowed to what is public), the secretariat, the
ministry's reviewer, a reader signed in with a browser session and nobody signed in.

Each caller gets a world of its own (the database is emptied after each test), so one caller's writes
never change what the next one meets, and the seed is fixed (GSTP_FUZZ_SEED) so a run can be repeated.
"""

import logging
import os

import pytest
from drf_spectacular.generators import SchemaGenerator

from .endpoints import api_endpoints
from .fuzzing import ACTORS, fuzz
from .world import build_world, make_actor

EXAMPLES = int(os.environ.get("GSTP_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("GSTP_FUZZ_SEED", "20240930"))

# The caller who writes the most; the other five run in `make reliability` (see above).
EVERY_CHANGE = ("lead",)
assert set(EVERY_CHANGE) <= set(ACTORS)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def refusals_unlogged():
    """Thousands of 4xx are the point here; errors (a 5xx's traceback) are still logged."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


# The fuzzer calls the app from its own threads, each with its own database connection: the world must be
# committed for them to see it, hence transactional_db.
@pytest.mark.parametrize("name", EVERY_CHANGE)
def test_no_operation_answers_a_5xx_or_outside_the_schema(transactional_db, refusals_unlogged, media, name):
    world = build_world()
    actor = make_actor(name, world, session=name == "reader")

    result = fuzz(actor, world, max_examples=EXAMPLES, seed=SEED)

    failures = "\n".join(result.failures[:40])
    assert (result.errors, result.server_errors, result.schema_violations) == (0, 0, 0), failures
    assert result.operations == len(api_endpoints())
    # An operation that takes neither a parameter nor a body has only a few cases to try, and a deletion (ids
    # in its path, at most an If-Match, no body) a few more; every other one gets the generated cases.
    inputless, id_only = inputless_operations(), id_only_deletions()
    assert all(cases >= 1 for cases in result.per_operation.values())
    few = {
        key: cases
        for key, cases in result.per_operation.items()
        if key not in inputless and cases < (EXAMPLES // 3 if key in id_only else EXAMPLES)
    }
    assert not few, few


def id_only_deletions() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"DELETE {path}"
        for path, operations in schema["paths"].items()
        if "delete" in operations
        and {p["in"] for p in operations["delete"].get("parameters", [])} <= {"path", "header"}
        and "requestBody" not in operations["delete"]
    }


def inputless_operations() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("parameters") and "requestBody" not in operation
    }
