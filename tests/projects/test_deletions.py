"""Deletions are visible, so a mirror kept with updated_since stays equal to GSTP."""

import io

import pytest
from django.core.management import CommandError, call_command

from projects.models import Milestone, PlanNode, Tombstone
from tests.projects.factories import MilestoneFactory, PlanFactory, make_tree


@pytest.fixture
def tree(agency):
    return make_tree(PlanFactory(), lead_agency=agency, subprojects=2)


def test_deleting_records_a_tombstone_per_row_and_collection(tree):
    _, _, measure, (first, second) = tree
    milestone = MilestoneFactory(node=first)

    PlanNode.objects.get(pk=measure.pk).delete()  # cascades to both sub-projects and the milestone

    gone = set(Tombstone.objects.values_list("resource", "object_id"))
    assert gone == {
        ("projects", measure.pk),
        ("projects", first.pk),
        ("projects", second.pk),
        ("milestones", milestone.pk),
    }


def test_the_deletions_feed_filters_by_collection_and_time(reader_client, tree):
    _, _, _, (first, second) = tree
    milestone = MilestoneFactory(node=first)
    Milestone.objects.get(pk=milestone.pk).delete()
    cut = Tombstone.objects.get().deleted_at
    PlanNode.objects.get(pk=second.pk).delete()

    everything = reader_client.get("/api/v1/deletions/").json()["results"]
    projects_only = reader_client.get("/api/v1/deletions/", {"resource": "projects"}).json()["results"]
    since = reader_client.get("/api/v1/deletions/", {"since": cut.isoformat()}).json()["results"]

    assert [(row["resource"], row["id"]) for row in everything] == [
        ("milestones", milestone.pk),
        ("projects", second.pk),
    ]
    assert [row["id"] for row in projects_only] == [second.pk]
    assert [row["resource"] for row in since] == ["milestones", "projects"]
    assert reader_client.get("/api/v1/deletions/", {"resource": "bogus"}).status_code == 400


def test_a_pruning_import_shows_in_the_feed(reader_client, tmp_path, db):
    report = tmp_path / "r.txt"
    base = (
        "智慧國家方案(2021-2025 年)\n\n肆、數位治理分組推動成果【召集部會：數位發展部】\n\n二、建構資料治理生態系\n\n"
    )
    report.write_text(base + "(一) 推動 T-Road 跨機關資料傳輸服務【數位發展部】\n", encoding="utf-8")
    call_command("import_outline", str(report), stdout=io.StringIO())
    removed = PlanNode.objects.get(title="推動 T-Road 跨機關資料傳輸服務")

    report.write_text(base, encoding="utf-8")
    call_command("import_outline", str(report), "--prune", stdout=io.StringIO())

    feed = reader_client.get("/api/v1/deletions/", {"resource": "projects"}).json()["results"]
    assert [row["id"] for row in feed] == [removed.pk]


def test_anonymous_sees_no_deletions(anonymous_client, tree):
    assert anonymous_client.get("/api/v1/deletions/").status_code == 401


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "/api/v1/deletions/" in (tmp_path / "schema.yml").read_text()


def test_pruning_a_subproject_with_reports_is_refused_and_nothing_changes(tmp_path, lead_client):
    report = tmp_path / "r.txt"
    base = (
        "智慧國家方案(2021-2025 年)\n\n肆、數位治理分組推動成果【召集部會：數位發展部】\n\n二、建構資料治理生態系\n\n"
    )
    report.write_text(base + "(一) 推動 T-Road 跨機關資料傳輸服務【數位發展部】\n", encoding="utf-8")
    call_command("import_outline", str(report), stdout=io.StringIO())
    subproject = PlanNode.objects.get(title="推動 T-Road 跨機關資料傳輸服務")
    filed = lead_client.post("/api/v1/reports/", {"project": subproject.pk, "period": "2024Q1"}, format="json")
    assert filed.status_code == 201

    report.write_text(base, encoding="utf-8")
    with pytest.raises(CommandError, match="has quarterly reports"):
        call_command("import_outline", str(report), "--prune", stdout=io.StringIO())

    assert PlanNode.objects.filter(pk=subproject.pk).exists()
    assert not Tombstone.objects.exists()
