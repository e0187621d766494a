"""Numbered pages with a total by default; cursor pages for syncing large collections."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import NodeKind
from tests.projects.factories import NodeFactory, PlanFactory


@pytest.fixture
def groups(db):
    plan = PlanFactory()
    return [NodeFactory(plan=plan, kind=NodeKind.GROUP, title=f"分組 {index}") for index in range(7)]


def walk(client, url, params):
    seen, response = [], client.get(url, params)
    while True:
        body = response.json()
        seen.extend(row["id"] for row in body["results"])
        if not body["next"]:
            return seen, body
        response = client.get(body["next"])


def test_numbered_pages_carry_a_total(reader_client, groups):
    body = reader_client.get("/api/v1/projects/", {"page_size": 3}).json()

    assert body["count"] == 7
    assert len(body["results"]) == 3


def test_cursor_pages_count_nothing_and_cover_every_row_once(reader_client, groups):
    with CaptureQueriesContext(connection) as queries:
        seen, last = walk(reader_client, "/api/v1/projects/", {"cursor": "", "page_size": 3})

    assert seen == sorted(group.pk for group in groups)
    assert "count" not in last
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)


def test_cursor_order_holds_while_rows_are_added_between_pages(reader_client, groups):
    first = reader_client.get("/api/v1/projects/", {"cursor": "", "page_size": 3}).json()
    # rows written meanwhile: a numbered page 2 would now shift, a cursor page does not
    added = [NodeFactory(plan=groups[0].plan, kind=NodeKind.GROUP) for _ in range(2)]

    rest, _ = walk(reader_client, first["next"], {})

    ids = [row["id"] for row in first["results"]] + rest
    assert ids == sorted(group.pk for group in groups) + [node.pk for node in added]
    assert len(ids) == len(set(ids))


def test_page_size_is_capped_at_500(reader_client, groups):
    body = reader_client.get("/api/v1/projects/", {"page_size": 100_000}).json()

    assert len(body["results"]) == 7
    from gstp.pagination import CursorPagination, PageNumberPagination

    assert PageNumberPagination.max_page_size == CursorPagination.max_page_size == 500


def test_a_bad_cursor_is_a_404_json_error(reader_client, groups):
    response = reader_client.get("/api/v1/projects/", {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("cursor", [False, True], ids=["numbered", "cursor"])
def test_links_carry_the_page_size_actually_used(reader_client, db, cursor):
    plan = PlanFactory()
    NodeFactory.create_batch(1_001, plan=plan, kind=NodeKind.GROUP)
    params = {"page_size": 1000, **({"cursor": ""} if cursor else {})}

    first = reader_client.get("/api/v1/projects/", params).json()
    second = reader_client.get(first["next"]).json()

    assert len(first["results"]) == len(second["results"]) == 500
    for link in (first["next"], second["next"], second["previous"]):
        assert parse_qs(urlsplit(link).query)["page_size"] == ["500"], link
    third = reader_client.get(second["next"]).json()
    assert len(third["results"]) == 1
    assert parse_qs(urlsplit(third["previous"]).query)["page_size"] == ["500"]
