"""Every read carries an ETag and a Last-Modified; asking again with either gets 304 while nothing changed."""

import time

import pytest
from django.utils.http import http_date

from projects.models import PlanNode
from tests.projects.factories import PlanFactory, make_tree

ENDPOINTS = ["/api/v1/projects/", "/api/v1/plans/", "/api/v1/agencies/", "/api/v1/milestones/", "/api/v1/flags/"]


@pytest.fixture
def tree(agency):
    return make_tree(PlanFactory(), lead_agency=agency, subprojects=2)


def test_a_detail_read_carries_etag_and_last_modified(reader_client, tree):
    _, _, _, (sub, _) = tree

    response = reader_client.get(f"/api/v1/projects/{sub.pk}/")

    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"] == http_date(sub.updated_at.timestamp())


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_list_read_answers_304_to_its_own_etag(reader_client, tree, url):
    first = reader_client.get(url)

    again = reader_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert again.status_code == 304
    assert again.content == b""


def test_if_modified_since_answers_304_until_something_changes(reader_client, tree):
    _, _, _, (sub, _) = tree
    url = f"/api/v1/projects/{sub.pk}/"
    first = reader_client.get(url)

    unchanged = reader_client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    time.sleep(1.1)  # HTTP dates have whole seconds
    node = PlanNode.objects.get(pk=sub.pk)
    node.title = "新標題"
    node.save()
    changed = reader_client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["title"] == "新標題"


def test_a_changed_collection_gets_a_new_etag(reader_client, tree):
    group, *_ = tree
    first = reader_client.get("/api/v1/projects/")

    PlanNode.objects.filter(pk=group.pk).update(title="新分組")
    again = reader_client.get("/api/v1/projects/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_a_report_keeps_its_version_etag_and_answers_304_to_it(lead_client, agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    created = lead_client.post(
        "/api/v1/reports/",
        {"project": sub.pk, "period": "2024Q3", "planned_progress": "10", "actual_progress": "10"},
        format="json",
    )
    url = f"/api/v1/reports/{created.json()['id']}/"

    read = lead_client.get(url)
    again = lead_client.get(url, HTTP_IF_NONE_MATCH=read["ETag"])

    assert read["ETag"] == f'"{created.json()["id"]}-1"'
    assert again.status_code == 304
