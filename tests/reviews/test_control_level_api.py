"""A sub-project's control level (列管等級) in the API: the secretariat sets it
(``POST /api/v1/projects/{id}/control-level/``, recorded in the history with who and why, read back with
``?as_of=``); the projects, reports, flags, lights, budgets and their exports filter by it."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import ControlLevel, PlanNode
from reviews.models import LagRule, ReportStatus
from reviews.periods import Quarter
from tests.projects.factories import allocate, make_tree
from tests.reviews.factories import LagFlagFactory, moment, report_in_status

EY, MINISTRY, AGENCY = ControlLevel.EXECUTIVE_YUAN, ControlLevel.MINISTRY, ControlLevel.AGENCY
BODY = {"control_level": EY, "reason": "行政院指定重點列管"}


def url(node):
    return f"/api/v1/projects/{node.pk}/control-level/"


@pytest.fixture
def tree(agency):
    return make_tree(lead_agency=agency, subprojects=3)


@pytest.fixture
def sub(tree):
    return tree[3][0]


# --------------------------------------------------------------------------- setting a level


def test_the_secretariat_sets_a_level_recorded_with_who_and_why(secretariat_client, sub):
    response = secretariat_client.post(url(sub), BODY, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["control_level"]) == (sub.pk, EY)
    assert "light" in response.json()  # the project as the collection shows it
    sub.refresh_from_db()
    assert sub.control_level == EY
    latest = sub.history.order_by("-history_date", "-history_id").first()
    assert (latest.control_level, latest.history_change_reason, latest.history_user) == (
        EY,
        "行政院指定重點列管",
        secretariat_client.user,
    )


def test_setting_the_level_it_has_records_nothing(secretariat_client, sub):
    before = sub.history.count()

    response = secretariat_client.post(url(sub), {"control_level": AGENCY, "reason": "維持"}, format="json")

    assert response.status_code == 200
    assert sub.history.count() == before


@pytest.mark.parametrize("role", ["lead", "reviewer", "reader"])
def test_other_roles_may_not_set_it(request, sub, role):
    client = request.getfixturevalue(f"{role}_client")

    response = client.post(url(sub), BODY, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert PlanNode.objects.get(pk=sub.pk).control_level == AGENCY


def test_anonymous_is_refused_and_a_missing_project_is_404(anonymous_client, secretariat_client, sub):
    assert anonymous_client.post(url(sub), BODY, format="json").status_code == 401
    missing = PlanNode(pk=PlanNode.objects.order_by("-pk").first().pk + 1000)
    assert secretariat_client.post(url(missing), BODY, format="json").status_code == 404


def test_only_a_sub_project_has_a_level(secretariat_client, tree):
    group = tree[0]

    response = secretariat_client.post(url(group), BODY, format="json")

    assert response.status_code == 400
    assert "control_level" in json.dumps(response.json())
    assert PlanNode.objects.get(pk=group.pk).control_level == AGENCY


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "is not a valid choice"), ("zh-Hant", "不是有效的選擇")],
)
def test_a_bad_level_is_refused_naming_the_field_in_the_clients_language(secretariat_client, sub, language, words):
    response = secretariat_client.post(
        url(sub), {"control_level": "cabinet", "reason": "x"}, format="json", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400
    body = json.dumps(response.json(), ensure_ascii=False)
    assert "control_level" in body and words in body
    assert PlanNode.objects.get(pk=sub.pk).control_level == AGENCY


@pytest.mark.parametrize(
    "body", [{"control_level": EY}, {"control_level": EY, "reason": "x" * 101}, {**BODY, "level": EY}]
)
def test_a_reason_is_needed_and_unknown_fields_refused(secretariat_client, sub, body):
    response = secretariat_client.post(url(sub), body, format="json")

    assert response.status_code == 400
    assert PlanNode.objects.get(pk=sub.pk).control_level == AGENCY


def test_as_of_reads_the_level_as_it_was(secretariat_client, sub):
    before = moment()
    assert secretariat_client.post(url(sub), BODY, format="json").status_code == 200
    after = moment()

    def level(when):
        response = secretariat_client.get(f"/api/v1/projects/{sub.pk}/", {"as_of": when})
        assert response.status_code == 200, response.content
        return response.json()["control_level"]

    def filtered(when):
        response = secretariat_client.get("/api/v1/projects/", {"as_of": when, "control_level": EY})
        return [row["id"] for row in response.json()["results"]]

    assert (level(before), level(after)) == (AGENCY, EY)
    assert (filtered(before), filtered(after)) == ([], [sub.pk])


# --------------------------------------------------------------------------- filters by level


@pytest.fixture
def leveled(tree):
    """Three sub-projects, one at each level, each with an accepted 2024Q1 report, a flag and a budget year."""
    subs = tree[3]
    for node, level in zip(subs, (EY, MINISTRY, AGENCY), strict=True):
        PlanNode.objects.filter(pk=node.pk).update(control_level=level)
        report_in_status(node=node, status=ReportStatus.ACCEPTED, period=Quarter(2024, 1))
        LagFlagFactory(node=node, rule=LagRule.PROGRESS_GAP, period=Quarter(2024, 1), severity="red", evidence={})
        allocate(node, 2025, 1, 1000)
    return dict(zip((EY, MINISTRY, AGENCY), subs, strict=True))


def ids(response, key="id"):
    assert response.status_code == 200, response.content
    return sorted({row[key] for row in response.json()["results"]})


@pytest.mark.parametrize(
    ("collection", "key"),
    [("projects", "id"), ("reports", "project"), ("flags", "project"), ("budgets", "project")],
)
def test_each_collection_filters_by_level(secretariat_client, leveled, collection, key):
    path = f"/api/v1/{collection}/"
    extra = {"kind": "subproject"} if collection == "projects" else {}

    assert ids(secretariat_client.get(path, {**extra, "control_level": EY}), key) == [leveled[EY].pk]
    assert ids(secretariat_client.get(path, {**extra, "control_level": [EY, AGENCY]}), key) == sorted(
        [leveled[EY].pk, leveled[AGENCY].pk]
    )
    refused = secretariat_client.get(path, {"control_level": "cabinet"})
    assert refused.status_code == 400 and "control_level" in json.dumps(refused.json())


@pytest.mark.parametrize("collection", ["projects", "reports", "flags"])
def test_filtering_by_level_costs_no_more_queries(secretariat_client, leveled, collection):
    def count(params):
        with CaptureQueriesContext(connection) as captured:
            response = secretariat_client.get(f"/api/v1/{collection}/", params)
        assert response.status_code == 200
        return len(captured)

    assert count({"control_level": EY}) == count({})


def test_the_lights_count_the_sub_projects_of_a_level(secretariat_client, leveled):
    plan = leveled[EY].plan_id

    def lights(*levels):
        query = "".join(f"&control_level={level}" for level in levels)
        response = secretariat_client.get(f"/api/v1/lights/?plan={plan}&by=plan{query}")
        assert response.status_code == 200, response.content
        (row,) = response.json()
        return row["red"], row["total"]

    assert lights() == (3, 3)
    assert lights(EY) == (1, 1)
    assert lights(EY, MINISTRY) == (2, 2)
    refused = secretariat_client.get(f"/api/v1/lights/?plan={plan}&control_level=cabinet")
    assert refused.status_code == 400 and "control_level" in json.dumps(refused.json())


@pytest.mark.parametrize(("resource", "column"), [("projects", "id"), ("reports", "project"), ("flags", "project")])
def test_exports_filter_by_level(secretariat_client, leveled, resource, column):
    query = {"format": "csv", "control_level": MINISTRY, **({"kind": "subproject"} if resource == "projects" else {})}
    response = secretariat_client.get(f"/api/v1/exports/{resource}/", query)

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {int(row[column]) for row in rows} == {leveled[MINISTRY].pk}
    if resource == "projects":
        assert {row["control_level"] for row in rows} == {MINISTRY}


def test_the_level_reads_back_on_every_project(secretariat_client, leveled):
    response = secretariat_client.get("/api/v1/projects/", {"kind": "subproject"})

    assert {row["id"]: row["control_level"] for row in response.json()["results"]} == {
        node.pk: level for level, node in leveled.items()
    }
