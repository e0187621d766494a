"""Hostile input: huge and negative ids in paths, NUL bytes, invalid UTF-8, a 10 MB body, JSON nested
100,000 deep, wrong content types, malformed If-Match and Idempotency-Key headers, garbage page sizes and
cursors. Every answer is a 4xx with the API's JSON error body (``detail`` and ``code``): never a 5xx,
never an HTML page, and nothing is written.
"""

import base64
import json

import pytest
from django.test import Client

from reviews.models import IdempotencyRecord, QuarterlyReport, ReportStatus

from .endpoints import collection_reads, object_endpoints

pytestmark = pytest.mark.postgres

ODD_IDS = [
    "99999999999999999999999",
    "9223372036854775808",  # one past the largest bigint
    "-1",
    "-99999999999999999999999",
    "0",
    "1.5",
    "1e3",
    "0x10",
    "%00",
    "%FF%FE",
    "%E4%B8",  # a cut-off UTF-8 sequence
    "a%20b",
]
GARBAGE_PAGE_SIZES = ["-1", "0", "1.5", "abc", "1e3", "%00", "9" * 5000]
GARBAGE_CURSORS = [
    "garbage",
    "%00",
    base64.b64encode(b"p=abc").decode(),
    base64.b64encode(b"p=1.5").decode(),
    base64.b64encode(b"p=" + b"9" * 5000).decode(),
    base64.b64encode(b"r=1&p=\x00").decode(),
    base64.b64encode(b"o=99999999999999999999999").decode().rstrip("="),
]


def assert_json_error(response, *statuses):
    """A 4xx (one of ``statuses`` when given) whose body is the API's JSON error."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].split(";")[0] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body.get("detail"), str) and body["detail"], body
    assert isinstance(body.get("code"), str) and body["code"], body
    return body


@pytest.fixture
def raw(secretariat_client):
    """A plain Django client with the secretariat's key: the request exactly as written, no encoding help."""
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = secretariat_client._credentials["HTTP_AUTHORIZATION"]
    return client


@pytest.fixture
def lead_raw(lead_client):
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = lead_client._credentials["HTTP_AUTHORIZATION"]
    return client


def _unchanged():
    return list(QuarterlyReport.objects.order_by("pk").values_list("pk", "version", "achievements"))


# --------------------------------------------------------------------------- ids in paths


@pytest.mark.parametrize("endpoint", object_endpoints(), ids=lambda endpoint: endpoint.key)
def test_odd_ids_in_paths_are_a_json_404(raw, world, endpoint):
    before = _unchanged()
    for odd in ODD_IDS:
        url = endpoint.url(**dict.fromkeys(endpoint.parameters, odd))
        if endpoint.method == "GET":
            response = raw.get(url)
        else:
            call = getattr(raw, endpoint.method.lower())
            response = call(url, "{}", content_type="application/json", HTTP_IF_MATCH='"1-1"')

        assert_json_error(response, 404)
    assert _unchanged() == before


def test_an_id_too_large_for_the_database_and_a_missing_one_answer_alike(raw, world):
    for path in ("/api/v1/reports/{}/", "/api/v1/flags/{}/", "/api/v1/projects/{}/", "/api/v1/plans/{}/indicators/"):
        huge = raw.get(path.format("9" * 30))
        missing = raw.get(path.format(10**9))

        assert (huge.status_code, huge.content) == (missing.status_code, missing.content)
        assert_json_error(huge, 404)


# --------------------------------------------------------------------------- NUL bytes


@pytest.mark.parametrize("endpoint", collection_reads(), ids=lambda endpoint: endpoint.route)
def test_a_nul_byte_in_any_query_parameter_is_refused(raw, world, secretariat_client, endpoint):
    schema = secretariat_client.get("/api/v1/schema/", {"format": "json"}).json()
    parameters = [p["name"] for p in schema["paths"][endpoint.route]["get"].get("parameters", []) if p["in"] == "query"]
    assert parameters or endpoint.route == "/api/v1/lights/"

    for name in parameters or ["plan"]:
        response = raw.get(f"{endpoint.route}?{name}=a%00b")

        assert_json_error(response)


def test_a_nul_byte_in_a_path_parameter_is_a_404(raw, world):
    assert_json_error(raw.get("/api/v1/exports/reports%00/"), 404)
    assert_json_error(raw.get("/api/v1/reports/1%00/"), 404)


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("post", "/api/v1/reports/", {"period": "2024Q2", "achievements": "成果\x00"}),
        ("post", "/api/v1/reports/", {"period": "2024Q\x002"}),
        ("patch", "/api/v1/reports/{draft}/", {"delay_reasons": "\x00"}),
        ("patch", "/api/v1/reports/{draft}/", {"milestone_entries": [{"milestone": "{milestone}", "note": "a\x00"}]}),
        ("post", "/api/v1/reports/{submitted}/return/", {"reason": "請補充\x00"}),
        ("post", "/api/v1/flags/{flag}/comment/", {"body": "改善\x00措施"}),
        ("post", "/api/v1/flags/{flag}/resolve/", {"reason": "\x00"}),
        (
            "post",
            "/api/v1/indicators/{plan_indicator}/actuals/",
            {"year": 2024, "value": "1", "as_of": "2024-12-31", "source": "\x00"},
        ),
    ],
)
def test_a_nul_byte_in_a_json_string_is_refused(request, world, method, path, payload):
    # the secretariat returns, resolves and records; the lead files and edits
    client = request.getfixturevalue(
        "lead_client" if "/reports/" in path and "return" not in path else "secretariat_client"
    )
    draft = world.report("A", ReportStatus.DRAFT)
    names = {
        "draft": draft.pk,
        "submitted": world.report("A", ReportStatus.SUBMITTED).pk,
        "flag": world.flags[("A", "open")].pk,
        "plan_indicator": world.plan_indicator.pk,
        "milestone": world.milestones["A"].pk,
    }
    payload = json.loads(json.dumps(payload).replace('"{milestone}"', str(names["milestone"])))
    if path == "/api/v1/reports/":
        payload["project"] = world.nodes["A"].pk
    url = path.format(**names)
    before = _unchanged()
    headers = {"HTTP_IF_MATCH": QuarterlyReport.objects.get(pk=names["submitted" if "return" in url else "draft"]).etag}

    response = getattr(client, method)(url, payload, format="json", **headers)

    assert_json_error(response, 400)
    assert _unchanged() == before


# --------------------------------------------------------------------------- invalid UTF-8


@pytest.mark.parametrize("query", ["search=%FF%FE", "period=2024Q%E4", "agency=%C0%80", "status=dr%FFaft", "%FF=1"])
def test_invalid_utf8_in_a_query_string_is_refused(raw, world, query):
    path = "/api/v1/reports/" if "period" in query or "status" in query else "/api/v1/projects/"

    body = assert_json_error(raw.get(f"{path}?{query}"), 400)

    assert body["code"] == "invalid_query_string"


@pytest.mark.parametrize(
    "body",
    [b'{"achievements": "\xff\xfe"}', b'{"achievements": "\xe4\xb8"}', b"\xef\xbb\xbf\xff", b'{"\xc0\x80": 1}'],
)
def test_invalid_utf8_in_a_body_is_refused(lead_raw, world, body):
    draft = world.report("A", ReportStatus.DRAFT)
    before = _unchanged()

    created = lead_raw.post("/api/v1/reports/", body, content_type="application/json")
    patched = lead_raw.patch(
        f"/api/v1/reports/{draft.pk}/", body, content_type="application/json", HTTP_IF_MATCH=draft.etag
    )

    assert_json_error(created, 400)
    assert_json_error(patched, 400)
    assert _unchanged() == before


# --------------------------------------------------------------------------- size and depth


def test_a_10_mb_body_is_refused(lead_raw, world):
    text = "成" * (10 * 1024 * 1024 // 3 + 1)
    payload = json.dumps({"project": world.nodes["A"].pk, "period": "2024Q2", "achievements": text}, ensure_ascii=False)
    assert len(payload.encode()) >= 10 * 1024 * 1024
    before = QuarterlyReport.objects.count()

    response = lead_raw.post("/api/v1/reports/", payload, content_type="application/json")

    assert_json_error(response, 400, 413)
    assert QuarterlyReport.objects.count() == before


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_json_nested_100000_deep_is_refused(lead_raw, world, opening, closing):
    draft = world.report("A", ReportStatus.DRAFT)
    deep = opening * 100_000 + "1" + closing * 100_000
    before = _unchanged()

    for response in (
        lead_raw.post("/api/v1/reports/", deep, content_type="application/json"),
        lead_raw.patch(f"/api/v1/reports/{draft.pk}/", deep, content_type="application/json", HTTP_IF_MATCH=draft.etag),
        lead_raw.post(f"/api/v1/flags/{world.flags[('A', 'open')].pk}/comment/", deep, content_type="application/json"),
    ):
        assert_json_error(response, 400)
    assert _unchanged() == before


# --------------------------------------------------------------------------- content types


@pytest.mark.parametrize(
    ("content_type", "body", "statuses"),
    [
        ("text/plain", "project=1", (415,)),
        ("application/xml", "<report/>", (415,)),
        ("text/html", "<p>", (415,)),
        ("application/x-www-form-urlencoded", "%FF%FE=%00", (400,)),
        ("multipart/form-data", "garbage", (400,)),
        ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data\r\n\r\n\x00\r\n--x--", (400,)),
        ("application/json", "", (400,)),
        ("application/json", "{", (400,)),
        ("application/json", "[]", (400,)),
        ("application/json", "null", (400,)),
        ("application/json", '"a string"', (400,)),
        ("application/json; charset=utf-16", '{"period": "2024Q2"}', (400,)),
        ("", "{}", (400, 415)),
    ],
)
def test_wrong_content_types_and_bodies_are_refused(lead_raw, world, content_type, body, statuses):
    before = QuarterlyReport.objects.count()

    response = lead_raw.post("/api/v1/reports/", body, content_type=content_type)

    assert_json_error(response, *statuses)
    assert QuarterlyReport.objects.count() == before


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "if_match",
    [
        '"',
        '""',
        "W/",
        'W/"x"',
        '"1-1", "2-2"',
        '"-1--1"',
        '"99999999999999999999999-1"',
        "\x00",
        "金鑰",
        " " * 8000,
    ],
)
def test_a_malformed_if_match_is_a_412(lead_client, world, if_match):
    draft = world.report("A", ReportStatus.DRAFT)
    before = _unchanged()

    for response in (
        lead_client.patch(f"/api/v1/reports/{draft.pk}/", {"achievements": "x"}, format="json", HTTP_IF_MATCH=if_match),
        lead_client.post(f"/api/v1/reports/{draft.pk}/submit/", {}, format="json", HTTP_IF_MATCH=if_match),
    ):
        body = assert_json_error(response, 412)
        assert body["code"] == "precondition_failed"
    assert _unchanged() == before


@pytest.mark.parametrize("key", ["", "\x00", "a\nb", "鍵", "é", "k" * 256, "\x7f"])
def test_a_malformed_idempotency_key_is_a_400(lead_client, world, key):
    before = QuarterlyReport.objects.count()
    payload = {"project": world.nodes["A"].pk, "period": "2024Q2"}

    response = lead_client.post("/api/v1/reports/", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)

    body = assert_json_error(response, 400)
    assert body["code"] == "invalid_idempotency_key"
    assert QuarterlyReport.objects.count() == before
    assert not IdempotencyRecord.objects.exists()


# --------------------------------------------------------------------------- pages and cursors


UNPAGINATED = {"lights", "report-owed"}


@pytest.mark.parametrize(
    "endpoint", [e for e in collection_reads() if e.name not in UNPAGINATED], ids=lambda endpoint: endpoint.route
)
def test_garbage_page_sizes_pages_and_cursors_are_refused(raw, world, endpoint):
    for size in GARBAGE_PAGE_SIZES:
        body = assert_json_error(raw.get(f"{endpoint.route}?page_size={size}"), 400)
        assert list(body["errors"]) == ["page_size"]
        assert_json_error(raw.get(f"{endpoint.route}?cursor=&page_size={size}"), 400)
    for page in ["0", "-1", "abc", "99999999999999999999999", "%00", "1.5"]:
        assert_json_error(raw.get(f"{endpoint.route}?page={page}"), 404)
    for cursor in GARBAGE_CURSORS:
        assert_json_error(raw.get(f"{endpoint.route}?cursor={cursor}"), 404)


def test_a_page_size_past_the_cap_is_capped_not_refused(raw, world):
    response = raw.get("/api/v1/reports/?page_size=99999999999999999999")

    assert response.status_code == 200
    assert len(response.json()["results"]) == QuarterlyReport.objects.count()
