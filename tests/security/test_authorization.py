"""Object- and function-level authorization across every endpoint of the API.

The spec (README, "Who sees what"): an object out of the caller's scope answers 404, byte for byte the
answer for an id that does not exist; an object in scope with an action the caller may not take answers
403; an allowed action answers 2xx. And no list, filter, count, search, export or error message shows
anything of an object out of scope.

Endpoints are read from the URL resolver: each one that names an object is either in the matrix below, in
the quarterly-report matrix of tests/reviews/test_report_permissions.py (statuses x endpoints x roles), or
named as not naming an object. A new endpoint fails ``test_every_object_endpoint_is_classified`` until it is
placed.
"""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from indicators.models import IndicatorActual
from projects.models import BudgetYear, PlanNode
from reviews.models import (
    EvidenceFile,
    FlagComment,
    FlagStatus,
    LagFlag,
    LockException,
    QuarterLock,
    QuarterlyReport,
    ReportEvent,
    ReportStatus,
)
from tests.reviews import test_report_permissions as report_matrix
from tests.reviews import test_revision_permissions as revision_matrix
from tests.reviews.evidence_samples import pdf

from .conftest import IN_SCOPE, ROLES
from .endpoints import api_endpoints, collection_reads, object_endpoints
from .world import OWNERS, PRIVATE_VALUE, assessment_markers, private_markers

pytestmark = pytest.mark.postgres

# --------------------------------------------------------------------------- what each endpoint is

# Rows: an endpoint (method and URL name) and, after "@", which object it is tried on when that is not the
# owner's own. Columns: role, then the agency leading the object's sub-project (A = 數位發展部, U = its
# sub-unit 數位產業署, B = 經濟部); for the plan structure (agencies, plans, nodes, milestones, indicators),
# which every signed-in user reads, the owner's agency, node, milestone or indicator.
EXPECTED = """
#                                 anonymous     secretariat   lead_a        lead_unit     lead_b        reviewer_a    reviewer_b    reader        service
#                                 A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B     A   U   B
GET agency-detail                 401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
GET plan-detail                   401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
GET plan-indicators               401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
GET project-detail                401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
GET project-baselines             401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
POST project-control-level        401 401 401   200 200 200   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
GET milestone-detail              401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
GET indicator-detail              401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
POST indicator-actuals            401 401 401   409 409 409   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
POST indicator-actuals@plan       401 401 401   201 201 201   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
GET flag-detail                   401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   200 200 200   200 200 200
POST flag-acknowledge             401 401 401   200 200 200   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   403 403 403   403 403 403
POST flag-resolve                 401 401 401   200 200 200   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   403 403 403   403 403 403
POST flag-comment                 401 401 401   201 201 201   201 201 404   404 201 404   404 404 201   403 403 404   404 404 403   403 403 403   403 403 403
GET lock-detail                   401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
DELETE lock-detail                401 401 401   204 204 204   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
POST lock-exceptions              401 401 401   201 201 201   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
GET lock-exception-detail         401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
DELETE lock-exception-detail      401 401 401   204 204 204   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
GET budget-detail                 401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
PATCH budget-detail               401 401 401   200 200 200   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
PATCH budget-detail@frozen        401 401 401   409 409 409   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
GET assessment-scheme-detail      401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
PATCH assessment-scheme-detail    401 401 401   200 200 200   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
POST assessment-scheme-publish    401 401 401   428 428 428   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403   403 403 403
GET assessment-scheme-history     401 401 401   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200   200 200 200
GET assessment-detail             401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404   404 404 404
GET assessment-history            401 401 401   200 200 200   200 200 404   404 200 404   404 404 200   200 200 404   404 404 200   404 404 404   404 404 404
PATCH assessment-detail           401 401 401   403 403 403   200 200 404   404 200 404   404 404 200   403 403 404   404 404 403   404 404 404   404 404 404
POST assessment-submit            401 401 401   403 403 403   428 428 404   404 428 404   404 404 428   403 403 404   404 404 403   404 404 404   404 404 404
POST assessment-withdraw          401 401 401   403 403 403   428 428 404   404 428 404   404 404 428   403 403 404   404 404 403   404 404 404   404 404 404
POST assessment-suggest           401 401 401   428 428 428   428 428 404   404 428 404   404 404 428   403 403 404   404 404 403   404 404 404   404 404 404
POST assessment-endorse           401 401 401   403 403 403   403 403 404   404 403 404   404 404 403   428 428 404   404 404 428   404 404 404   404 404 404
POST assessment-return-assessment 401 401 401   428 428 428   403 403 404   404 403 404   404 404 403   428 428 404   404 404 428   404 404 404   404 404 404
POST assessment-finalize          401 401 401   428 428 428   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404   404 404 404
POST assessment-reopen            401 401 401   428 428 428   403 403 404   404 403 404   404 404 403   403 403 404   404 404 403   404 404 404   404 404 404
"""

# The quarterly-report endpoints, and the name each has in the report matrix.
COVERED_BY_REPORT_MATRIX = {
    "GET report-detail": "detail",
    "PATCH report-detail": "patch",
    "GET report-history": "history",
    "POST report-submit": "submit",
    "POST report-withdraw": "withdraw",
    "POST report-endorse": "endorse",
    "POST report-return-report": "return",
    "POST report-accept": "accept",
    "POST report-reopen": "reopen",
}
# The plan revisions' endpoints, and the name each has in the revision matrix
# (tests/reviews/test_revision_permissions.py: roles x endpoints x statuses).
COVERED_BY_REVISION_MATRIX = {
    "GET revision-detail": "detail",
    "PATCH revision-detail": "patch",
    "GET revision-history": "history",
    "POST revision-withdraw": "withdraw",
    "POST revision-endorse": "endorse",
    "POST revision-approve": "approve",
    "POST revision-reject": "reject",
}
# The evidence files of reports and flag comments: ``test_evidence_files`` below, by the scope of each role.
COVERED_BY_FILE_RULES = {
    "GET report-files",
    "POST report-files",
    "GET report-file",
    "DELETE report-file",
    "GET flag-comment-files",
    "POST flag-comment-files",
    "GET flag-comment-file",
}
# The year's assessment's evidence files (two ids in their path): tests/assessments/test_api.py, with the steps of
# the chain per role and status; what outsiders see before and after publication: tests/assessments/test_visibility.py.
COVERED_BY_ASSESSMENT_TESTS = {
    "GET assessment-files",
    "POST assessment-files",
    "GET assessment-file",
    "DELETE assessment-file",
}
# Endpoints whose path parameter names no object.
NOT_AN_OBJECT = {
    "GET export": "names the collection to export; every export is searched for leaks below",
}

BODIES = {
    "indicator-actuals": {"year": 2024, "value": "10", "as_of": "2024-12-31", "source": "國家發展委員會"},
    "flag-resolve": {"reason": "已改善"},
    "flag-comment": {"body": "請補充改善措施", "kind": "comment"},
    # an exception for the sub-project the lock already lets in: granting it again moves its date
    "lock-exceptions": lambda lock: {"project": lock.exceptions.get().node_id, "expires_on": "2099-06-30"},
    "budget-detail": lambda ledger: {"appropriation": str(ledger.appropriation + 1)},
    "project-control-level": {"control_level": "executive_yuan", "reason": "行政院指定重點列管"},
    "assessment-scheme-detail": {"publish_on": "2025-04-30"},
    "assessment-detail": {"scores": [{"criterion": "budget", "score": "66", "note": "依季報"}]},
    # the reason a return and a reopen take: past the body, only If-Match is missing
    "assessment-return-assessment": {"reason": "請補充"},
    "assessment-reopen": {"reason": "更正"},
}


def _rows():
    rows = {}
    for line in EXPECTED.strip().splitlines():
        if line.startswith("#"):
            continue
        method, name, *values = line.split()
        assert len(values) == len(ROLES) * len(OWNERS), line
        rows[f"{method} {name}"] = {
            (role, owner): int(values[r * len(OWNERS) + o])
            for r, role in enumerate(ROLES)
            for o, owner in enumerate(OWNERS)
        }
    return rows


MATRIX = _rows()


def _endpoint_key(endpoint):
    return f"{endpoint.method} {endpoint.name}"


def test_every_object_endpoint_is_classified():
    object_keys = {_endpoint_key(endpoint) for endpoint in object_endpoints()}
    classified = (
        {key.split("@")[0] for key in MATRIX}
        | set(COVERED_BY_REPORT_MATRIX)
        | set(COVERED_BY_REVISION_MATRIX)
        | COVERED_BY_FILE_RULES
        | COVERED_BY_ASSESSMENT_TESTS
        | set(NOT_AN_OBJECT)
    )

    assert object_keys - classified == set(), "place these endpoints in the matrix"
    assert classified - object_keys == set(), "these endpoints are gone: take them out of the matrix"
    assert set(COVERED_BY_REPORT_MATRIX.values()) <= set(report_matrix.ENDPOINTS)
    assert set(COVERED_BY_REVISION_MATRIX.values()) == set(revision_matrix.ENDPOINTS)


def test_every_endpoint_is_in_the_published_schema(secretariat_client):
    schema = secretariat_client.get("/api/v1/schema/", {"format": "json"}).json()
    published = {f"{method.upper()} {path}" for path, methods in schema["paths"].items() for method in methods}
    routed = {endpoint.key.replace("{pk}", "{id}") for endpoint in api_endpoints()}

    assert routed == published


# --------------------------------------------------------------------------- the matrix


def _target(world, key, owner):
    """The object an endpoint is tried on."""
    name, _, variant = key.split(" ")[1].partition("@")
    if variant == "plan":
        return world.plan_indicator
    if name.startswith("assessment-scheme-"):
        return world.assessment_scheme
    if name.startswith("assessment-"):
        return world.assessments[owner]
    if name == "budget-detail":  # 2024 has an accepted report, 2025 not yet
        return world.budgets[(owner, 2024 if variant == "frozen" else 2025)]
    return {
        "agency-detail": world.agencies[owner],
        "plan-detail": world.plan,
        "plan-indicators": world.plan,
        "project-detail": world.nodes[owner],
        "project-baselines": world.nodes[owner],
        "project-control-level": world.nodes[owner],
        "milestone-detail": world.milestones[owner],
        "indicator-detail": world.indicators[owner],
        "indicator-actuals": world.indicators[owner],
        "flag-detail": world.flags[(owner, "open")],
        "flag-acknowledge": world.flags[(owner, "open")],
        "flag-resolve": world.flags[(owner, "open")],
        "flag-comment": world.flags[(owner, "open")],
        "lock-detail": world.locks[owner],
        "lock-exceptions": world.locks[owner],
        "lock-exception-detail": world.lock_exceptions[owner],
    }[name]


def _endpoint(key):
    method, name = key.split("@")[0].split(" ")
    return next(e for e in object_endpoints() if e.method == method and e.name == name)


def _call(client, endpoint, target):
    url = endpoint.url(**{endpoint.parameters[0]: target.pk})
    if endpoint.method == "GET":
        return client.get(url)
    if endpoint.method == "DELETE":
        return client.delete(url)
    body = BODIES.get(endpoint.name, {})
    body = body(target) if callable(body) else body
    if endpoint.method == "PATCH":
        return client.patch(url, body, format="json", HTTP_IF_MATCH="*")
    return client.post(url, body, format="json")


def _locks_state():
    return sorted(QuarterLock.objects.values_list("pk", flat=True)), sorted(
        LockException.objects.values_list("pk", "expires_on")
    )


def _levels_state():
    return sorted(PlanNode.objects.values_list("pk", "control_level"))


def _budgets_state():
    return sorted(BudgetYear.objects.values_list("pk", "appropriation"))


def _flag_state(flag):
    stored = LagFlag.objects.get(pk=flag.pk)
    return stored.status, stored.resolution_reason, FlagComment.objects.filter(flag=flag).count()


def _check_cell(client, key, target, expected):
    """Call the endpoint on ``target``; what is wrong with the answer, or None."""
    endpoint = _endpoint(key)
    before = _flag_state(target) if isinstance(target, LagFlag) else None
    actuals_before = IndicatorActual.objects.count()
    locks_before = _locks_state()
    budgets_before = _budgets_state()
    levels_before = _levels_state()

    response = _call(client, endpoint, target)

    if response.status_code != expected:
        return f"{response.status_code} {response.content[:200]!r}"
    if expected >= 400:
        body = response.json()
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}.get(expected)
        if code and body.get("code") != code or not body.get("detail"):
            return f"error body {body}"
        # a refusal changes nothing
        if IndicatorActual.objects.count() != actuals_before or (before and _flag_state(target) != before):
            return "a refused request changed the object"
        if _locks_state() != locks_before:
            return "a refused request changed the locks"
        if _budgets_state() != budgets_before:
            return "a refused request changed a budget"
        if _levels_state() != levels_before:
            return "a refused request changed a control level"
    if expected == 404:
        missing = type(target)(pk=type(target).objects.order_by("-pk").values_list("pk", flat=True).first() + 1_000_000)
        absent = _call(client, endpoint, missing)
        if (absent.status_code, absent.content, absent["Content-Type"]) != (
            response.status_code,
            response.content,
            response["Content-Type"],
        ):
            return f"differs from a missing id: {response.content!r} against {absent.content!r}"
        if response.has_header("ETag") or response.has_header("Last-Modified"):
            return "a 404 carries a validator"
    if expected < 300:
        stored = LagFlag.objects.get(pk=target.pk) if before else None
        done = {
            "POST flag-acknowledge": lambda: stored.status == FlagStatus.ACKNOWLEDGED,
            "POST flag-resolve": lambda: stored.status == FlagStatus.RESOLVED,
            "POST flag-comment": lambda: FlagComment.objects.filter(flag=target).count() == before[2] + 1,
            "POST indicator-actuals@plan": lambda: IndicatorActual.objects.filter(indicator=target, year=2024).exists(),
            "DELETE lock-detail": lambda: not QuarterLock.objects.filter(pk=target.pk).exists(),
            "POST lock-exceptions": lambda: target.exceptions.get().expires_on.isoformat() == "2099-06-30",
            "DELETE lock-exception-detail": lambda: not LockException.objects.filter(pk=target.pk).exists(),
            "POST project-control-level": lambda: PlanNode.objects.get(pk=target.pk).control_level == "executive_yuan",
            "PATCH budget-detail": lambda: BudgetYear.objects.get(pk=target.pk).appropriation
            == target.appropriation + 1,
        }.get(key, lambda: True)
        if not done():
            return "answered 2xx but did not do it"
    return None


# Roles that may change an object go last, so every refusal meets the object as the world made it.
MATRIX_ORDER = sorted(ROLES, key=lambda role: role == "secretariat")


@pytest.mark.parametrize("key", list(MATRIX))
def test_object_access(client_for, world, key):
    wrong = []
    for role in MATRIX_ORDER:
        client = client_for(role)
        for owner in OWNERS:
            expected = MATRIX[key][(role, owner)]
            problem = _check_cell(client, key, _target(world, key, owner), expected)
            if problem:
                wrong.append(f"{role} on {owner}'s: expected {expected}, got {problem}")

    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- evidence files
#
# Who sees a report's files, and a flag comment's: the secretariat, the sub-project's leads and its ministry's
# reviewers (``IN_SCOPE``); for anyone else every file URL is a 404, also on an accepted report or a flag that
# they may read. Of those who see them, only the sub-project's leads add and remove a report's files (a draft's),
# and only a comment's author (none of these roles here) adds to a comment.


def _file_answers(client, world, owner):
    files = world.files
    draft, accepted = files[(owner, "draft")].report, files[(owner, "accepted")].report
    comment = files[(owner, "comment")].comment
    comment_files = f"/api/v1/flags/{comment.flag_id}/comments/{comment.pk}/files/"

    def upload():
        return {"file": SimpleUploadedFile("佐證.pdf", pdf("upload"), content_type="application/pdf")}

    return {
        "GET report-files": client.get(f"/api/v1/reports/{accepted.pk}/files/").status_code,
        "GET report-file": client.get(
            f"/api/v1/reports/{accepted.pk}/files/{files[(owner, 'accepted')].pk}/"
        ).status_code,
        "GET report-files@draft": client.get(f"/api/v1/reports/{draft.pk}/files/").status_code,
        "GET flag-comment-files": client.get(comment_files).status_code,
        "GET flag-comment-file": client.get(f"{comment_files}{files[(owner, 'comment')].pk}/").status_code,
        "POST flag-comment-files": client.post(comment_files, upload(), format="multipart").status_code,
        "POST report-files": client.post(
            f"/api/v1/reports/{draft.pk}/files/", upload(), format="multipart"
        ).status_code,
        "DELETE report-file": client.delete(
            f"/api/v1/reports/{draft.pk}/files/{files[(owner, 'draft')].pk}/"
        ).status_code,
    }


def _files_expected(role, owner):
    if role == "anonymous":
        return dict.fromkeys(_FILE_KEYS, 401)
    sees = owner in IN_SCOPE[role]
    leads = sees and role.startswith("lead")
    seen = 200 if sees else 404
    return {
        "GET report-files": seen,
        "GET report-file": seen,
        "GET report-files@draft": seen,
        "GET flag-comment-files": seen,
        "GET flag-comment-file": seen,
        "POST flag-comment-files": 403 if sees else 404,
        "POST report-files": 201 if leads else 403 if sees else 404,
        "DELETE report-file": 204 if leads else 403 if sees else 404,
    }


_FILE_KEYS = (
    "GET report-files",
    "GET report-file",
    "GET report-files@draft",
    "GET flag-comment-files",
    "GET flag-comment-file",
    "POST flag-comment-files",
    "POST report-files",
    "DELETE report-file",
)


@pytest.mark.parametrize("role", ROLES)
def test_evidence_files(client_for, world, role):
    client = client_for(role)
    counts = (EvidenceFile.objects.count(), ReportEvent.objects.count())
    wrong = []
    for owner in OWNERS:
        answers, expected = _file_answers(client, world, owner), _files_expected(role, owner)
        wrong += [
            f"{key} on {owner}'s: expected {expected[key]}, got {answers[key]}"
            for key in _FILE_KEYS
            if answers[key] != expected[key]
        ]

    assert not wrong, "\n".join(wrong)
    added = sum(1 for owner in OWNERS if _files_expected(role, owner)["POST report-files"] == 201)
    # each upload added a file and an event, each removal took one file away and added an event
    assert (EvidenceFile.objects.count(), ReportEvent.objects.count()) == (counts[0], counts[1] + 2 * added)


def test_the_file_rules_cover_every_file_endpoint():
    assert {key.split("@")[0] for key in _FILE_KEYS} == COVERED_BY_FILE_RULES


# --------------------------------------------------------------------------- nothing leaks
#
# Every read of every collection, with every filter the schema lists (tried with values that point at other
# agencies' objects), cursor pages, every export in every format, every object's detail and history, and
# writes that name other agencies' objects: no answer may hold a private text of an agency out of the
# caller's scope, a hidden report or flag id in a list, or a count that includes them.

LEAK_ROLES = [role for role in ROLES if role not in ("anonymous", "secretariat")]
EXPORT_FORMATS = ("csv", "jsonl", "xlsx")


def _query_values(world, parameter):
    """Values to try for a query parameter: enum values, the world's ids, its periods and its secrets."""
    schema = parameter.get("schema", {})
    if "enum" in schema:
        return schema["enum"]
    if schema.get("type") == "array" and "enum" in schema.get("items", {}):
        return schema["items"]["enum"]
    if schema.get("type") == "integer":
        ids = {world.plan.pk, world.group.pk}
        ids |= {node.pk for node in world.nodes.values()} | {agency.pk for agency in world.agencies.values()}
        return sorted(ids)
    if schema.get("type") == "boolean":
        return ["true", "false"]
    if schema.get("format") in ("date", "date-time"):
        return ["2000-01-01"]
    return ["SECRET", "7q", "2024Q1", "2024Q2", "2024Q3", "2024", "draft", "數位"]


def _body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):  # an XLSX workbook: its text is in the XML parts
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            content = b"".join(workbook.read(name) for name in workbook.namelist() if name.endswith(".xml"))
    return content.decode("utf-8", errors="replace")


def _rows_of(path, text):
    """The rows of a list or export answer, as dicts (empty for anything else)."""
    if "format=jsonl" in path:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if "format=csv" in path:
        return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    try:
        body = json.loads(text)
    except ValueError:
        return []
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    return body if isinstance(body, list) else []


def _requests(world, schema):
    """(path, query) of every read to search."""
    reads = []
    for endpoint in collection_reads():
        operation = schema["paths"][endpoint.route]["get"]
        parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        reads.append((endpoint.route, {"page_size": 500}))
        reads.append((endpoint.route, {"cursor": "", "page_size": 500}))
        for parameter in parameters:
            if parameter["name"] in ("page", "page_size", "cursor"):
                continue
            reads.extend(
                (endpoint.route, {parameter["name"]: value, "page_size": 500})
                for value in _query_values(world, parameter)
            )
    for resource in ("projects", "reports", "flags", "indicator-values", "assessments"):
        for fmt in EXPORT_FORMATS:
            reads.append((f"/api/v1/exports/{resource}/", {"format": fmt}))
        for query in ({"status": "draft"}, {"project": world.nodes["B"].pk}, {"agency": world.agencies["B"].pk}):
            reads.append((f"/api/v1/exports/{resource}/", {"format": "jsonl", **query}))
    for report in world.reports.values():
        reads.append((f"/api/v1/reports/{report.pk}/", {}))
        reads.append((f"/api/v1/reports/{report.pk}/history/", {}))
    for flag in world.flags.values():
        reads.append((f"/api/v1/flags/{flag.pk}/", {}))
    for indicator in (world.plan_indicator, world.group_indicator, *world.indicators.values()):
        reads.append((f"/api/v1/indicators/{indicator.pk}/", {}))
    reads.append((f"/api/v1/plans/{world.plan.pk}/indicators/", {}))
    for assessment in world.assessments.values():
        reads.append((f"/api/v1/assessments/{assessment.pk}/", {}))
        reads.append((f"/api/v1/assessments/{assessment.pk}/history/", {}))
        reads.append((f"/api/v1/assessments/{assessment.pk}/files/", {}))
    return reads


def _probing_writes(world):
    """Writes that name every agency's reports, flags and sub-projects: their errors must tell nothing."""
    for owner in OWNERS:
        draft = world.report(owner, ReportStatus.DRAFT)
        yield "post", "/api/v1/reports/", {"project": world.nodes[owner].pk, "period": "2024Q1"}, {}
        yield "patch", f"/api/v1/reports/{draft.pk}/", {"achievements": "x"}, {"HTTP_IF_MATCH": draft.etag}
        yield "patch", f"/api/v1/reports/{draft.pk}/", {"achievements": "x"}, {"HTTP_IF_MATCH": '"1-1"'}
        yield "post", f"/api/v1/reports/{draft.pk}/submit/", {}, {}
        yield "post", f"/api/v1/flags/{world.flags[(owner, 'resolved')].pk}/comment/", {"body": ""}, {}


@pytest.mark.parametrize("role", LEAK_ROLES)
def test_no_answer_reveals_anything_out_of_scope(client_for, world, secretariat_client, role):
    # given: what the role must never see
    client = client_for(role)
    hidden = set(OWNERS) - IN_SCOPE[role]
    markers = set().union(*(private_markers(owner) | assessment_markers(owner) for owner in hidden))
    hidden_reports = {
        report.pk for (owner, status), report in world.reports.items() if owner in hidden and status != "accepted"
    }
    hidden_flags = (
        {flag.pk for (owner, _), flag in world.flags.items() if owner in hidden}
        if role.startswith(("lead", "reviewer"))
        else set()
    )
    schema = secretariat_client.get("/api/v1/schema/", {"format": "json"}).json()
    answers = []

    # when
    for path, query in _requests(world, schema):
        response = client.get(path, query)
        assert response.status_code < 500, (path, query, response.status_code)
        url = f"{path}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
        answers.append((url, response, _body_text(response)))
    for method, path, body, headers in _probing_writes(world):
        response = getattr(client, method)(path, body, format="json", **headers)
        assert response.status_code < 500, (path, response.status_code)
        answers.append((f"{method.upper()} {path}", response, _body_text(response)))

    # then
    for url, response, text in answers:
        leaked = sorted(marker for marker in markers if marker in text)
        assert not leaked, f"{url} shows {leaked}"
        if not IN_SCOPE[role]:  # no private report at all: not even its figures
            assert str(PRIVATE_VALUE.normalize()) not in text, url
        rows = _rows_of(url, text) if response.status_code == 200 else []
        if url.startswith(("/api/v1/reports/?", "/api/v1/exports/reports/")):
            assert not {row.get("id") for row in rows} & {*hidden_reports, *map(str, hidden_reports)}, url
        if url.startswith(("/api/v1/flags/?", "/api/v1/exports/flags/")):
            assert not {row.get("id") for row in rows} & {*hidden_flags, *map(str, hidden_flags)}, url
        body = response.json() if response.get("Content-Type", "").startswith("application/json") else None
        if isinstance(body, dict) and "count" in body and body.get("next") is None and body.get("previous") is None:
            assert body["count"] == len(body["results"]), url


def test_the_leak_search_would_see_a_leak(secretariat_client, world):
    """The secretariat sees every agency's private texts: the same search finds them in its answers."""
    schema = secretariat_client.get("/api/v1/schema/", {"format": "json"}).json()
    texts = [_body_text(secretariat_client.get(path, query)) for path, query in _requests(world, schema)]
    everything = "\n".join(texts)

    missing = sorted(
        marker
        for owner in OWNERS
        for marker in private_markers(owner) | assessment_markers(owner)
        if marker not in everything
    )
    assert missing == []
    assert str(PRIVATE_VALUE.normalize()) in everything
    assert QuarterlyReport.objects.filter(status=ReportStatus.DRAFT).count() == len(OWNERS)
