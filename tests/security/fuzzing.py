"""Schemathesis against the API's own OpenAPI schema, in-process (WSGI), as one actor at a time.

Every operation of the schema the actor is served is run through schemathesis' examples, coverage and
fuzzing phases, with valid and invalid data (positive and negative modes). Path ids are drawn both from
the world's real objects and at random. Each answer is checked for:

- a server error (any 5xx);
- a schema violation: a status code the schema does not document, a content type it does not document,
  or a body that does not match the documented schema.

``fuzz`` returns the counts and a description of each failure; the test asserts the counts are zero and the
command (``run_fuzz.py``) prints them as a table.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.test import override_settings
from hypothesis import strategies as st
from schemathesis.engine import events, from_schema

from .world import Actor, World, make_actor

SCHEMA_PATH = "/api/v1/schema/?format=json"
# Who calls: the secretariat, a lead of 數位發展部 and its ministry reviewer, a reader signed in with a browser
# session, another system with an API key (a reader account), and nobody.
ACTORS = ("secretariat", "lead", "reviewer", "reader", "service", "anonymous")
SERVER_ERROR_CHECKS = {"not_a_server_error"}
SCHEMA_CHECKS = {"status_code_conformance", "content_type_conformance", "response_schema_conformance"}
ID_PARAMETER = re.compile(r"^(?P<collection>/api/v1/[a-z-]+/)\{(?P<name>[a-z_]+)\}/")


@dataclass
class FuzzResult:
    actor: str
    operations: int = 0
    cases: int = 0
    errors: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    per_operation: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def fewest_cases(self) -> int:
        """Cases tried on the operation that got the fewest."""
        return min(self.per_operation.values(), default=0)

    @property
    def clean(self) -> bool:
        return not (self.errors or self.server_errors or self.schema_violations)


def config(*, max_examples: int, seed: int | None = None) -> schemathesis.Config:
    checks = {name: {"enabled": True} for name in SERVER_ERROR_CHECKS | SCHEMA_CHECKS}
    data = {
        "checks": {"enabled": False, **checks},
        "generation": {"mode": "all", "max-examples": max_examples, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "continue-on-failure": True,
        # Generation speed depends on how busy the machine is; a slow run is not a failed one.
        "suppress-health-check": ["too_slow"],
        "cache": {"enabled": False},
        "workers": 1,
    }
    if seed is not None:
        data["seed"] = seed
    return schemathesis.Config.from_dict(data)


def real_ids(world: World) -> dict[str, list[int]]:
    """The ids of real objects of each collection, for path parameters."""
    reports = [report.pk for report in world.reports.values()]
    flags = [flag.pk for flag in world.flags.values()]
    indicators = [world.plan_indicator.pk, world.group_indicator.pk, *(i.pk for i in world.indicators.values())]
    return {
        "/api/v1/agencies/": [agency.pk for agency in world.agencies.values()],
        "/api/v1/plans/": [world.plan.pk],
        "/api/v1/projects/": [world.group.pk, *(node.pk for node in world.nodes.values())],
        "/api/v1/milestones/": [milestone.pk for milestone in world.milestones.values()],
        "/api/v1/indicators/": indicators,
        "/api/v1/reports/": reports,
        "/api/v1/flags/": flags,
        "/api/v1/locks/": [lock.pk for lock in world.locks.values()],
        "/api/v1/lock-exceptions/": [exception.pk for exception in world.lock_exceptions.values()],
        "/api/v1/budgets/": [ledger.pk for ledger in world.budgets.values()],
    }


def load_schema(actor: Actor, world: World, *, max_examples: int, seed: int | None = None):
    """The schema as ``actor`` is served it, wired to the app in-process, every case signed in as ``actor``.

    Nobody signed in is fuzzed with the schema a reader is served: production serves it to signed-in users only.
    """
    served_to = actor if actor.user is not None else make_actor("service", world)
    headers = dict(served_to.headers)
    if served_to.cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in served_to.cookies.items())
    schema = schemathesis.openapi.from_wsgi(
        SCHEMA_PATH, get_wsgi_application(), config=config(max_examples=max_examples, seed=seed), headers=headers
    )
    if actor.user is not None:

        @schema.auth(refresh_interval=None, retry_on=[])
        class SignedIn:
            def get(self, case, context):
                return actor

            def set(self, case, data, context):
                case.headers = {**(case.headers or {}), **data.headers}
                case.cookies = {**(case.cookies or {}), **data.cookies}

    ids = real_ids(world)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Half the time a real object's id, so detail and action endpoints get past the lookup.
        match = ID_PARAMETER.match(context.operation.path)
        known = ids.get(match.group("collection")) if match else None
        if not known or not isinstance(path_parameters.get(match.group("name")), int):
            return st.just(path_parameters)
        name = match.group("name")
        return st.one_of(st.just(path_parameters), st.sampled_from(known).map(lambda pk: {**path_parameters, name: pk}))

    @schema.hook
    def after_call(context, case, response):
        # Cases run in the fuzzer's worker threads, each with its own database connection: close it, as
        # the end of a request does in a server, so none is left open when the run ends.
        connections.close_all()

    return schema


def fuzz(actor: Actor, world: World, *, max_examples: int, seed: int | None = None) -> FuzzResult:
    # Thousands of cases a minute from one caller: counted against its limits, most would meet a 429 and test
    # nothing else (the limits have their own tests, tests/hardening/test_request_rates.py).
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}):
        return _fuzz(actor, world, max_examples=max_examples, seed=seed)


def _fuzz(actor: Actor, world: World, *, max_examples: int, seed: int | None = None) -> FuzzResult:
    schema = load_schema(actor, world, max_examples=max_examples, seed=seed)
    result = FuzzResult(actor=actor.name)
    seen_operations = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            seen_operations.add(recorder.label)
            result.cases += len(recorder.cases)
            result.per_operation[recorder.label] += len(recorder.cases)
            result.statuses.update(
                interaction.response.status_code
                for interaction in recorder.interactions.values()
                if interaction.response is not None
            )
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    if check.name in SERVER_ERROR_CHECKS:
                        result.server_errors += 1
                    elif check.name in SCHEMA_CHECKS:
                        result.schema_violations += 1
                    else:
                        continue
                    result.failures.append(_describe(recorder, case_id, check))
        elif isinstance(event, events.NonFatalError):
            result.errors += 1
            result.failures.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            result.errors += 1
            result.failures.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            result.seconds = event.running_time
    result.operations = len(seen_operations)
    return result


def _describe(recorder, case_id, check) -> str:
    failure = check.failure_info.failure
    interaction = recorder.interactions.get(case_id)
    request = f"{interaction.request.method} {interaction.request.uri}" if interaction else recorder.label
    status = interaction.response.status_code if interaction and interaction.response else "-"
    detail = next((line.strip() for line in failure.message.splitlines() if line.strip()), "")
    return f"[{check.name}] {request} -> {status}: {failure.title}: {detail[:300]}"
