"""Importing outlines into the plan tree: re-imports, revisions and refusals (what the full 2024 report gives:
test_outline_seed.py)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from indicators.services import outline_import
from projects.models import Agency, NodeKind, Plan, PlanNode
from projects.outline import read_outline
from projects.outline.document import OutlineError, document_from_data, document_to_data
from reviews.models import LagFlag, QuarterlyReport
from tests.conftest import REPO_ROOT
from tests.reviews.factories import LagFlagFactory, QuarterlyReportFactory

SHIPPED_OUTLINE = REPO_ROOT / "projects" / "data" / "smart-nation-2024.json"

SMALL_REPORT = """智慧國家方案(2021-2025 年)

2024 年階段成果報告

肆、數位治理分組推動成果【召集部會：數位發展部】

二、建構資料治理生態系

(一) 精進政府資料品質

1. 政府資料開放，民間活化應用發展服務【數位發展部】

2. 地理資訊整合圖臺服務整合應用【內政部資訊服務司】

伍、數位包容分組推動成果【召集部會：教育部】

三、培育數位人才

(一) 智慧晶片系統與應用人才培育計畫【教育部資訊及科技教育司】
"""


def import_text(tmp_path, text, **kwargs):
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    return outline_import(document=read_outline(path), **kwargs)


def node(title, **filters):
    return PlanNode.objects.get(title=title, **filters)


def leads(node):
    return [agency.name for agency in PlanNode.objects.get(pk=node.pk).lead_agencies]


def test_revised_report_updates_in_place_and_keeps_removed_nodes_until_pruned(db, tmp_path):
    import_text(tmp_path, SMALL_REPORT)
    original = node("地理資訊整合圖臺服務整合應用")
    removed = node("智慧晶片系統與應用人才培育計畫")

    revised = SMALL_REPORT.replace(
        "地理資訊整合圖臺服務整合應用【內政部資訊服務司】", "地理資訊整合圖臺服務【內政部、數位部】"
    )
    revised = revised.replace("(一) 智慧晶片系統與應用人才培育計畫【教育部資訊及科技教育司】\n", "")
    result = import_text(tmp_path, revised)

    updated = PlanNode.objects.get(pk=original.pk)
    assert updated.title == "地理資訊整合圖臺服務"
    assert leads(updated) == ["內政部", "數位發展部"]
    assert result.updated == 1
    assert result.absent == [removed.outline_key]
    assert PlanNode.objects.filter(pk=removed.pk).exists()

    pruned = import_text(tmp_path, revised, prune=True)
    assert pruned.pruned == 1
    assert not PlanNode.objects.filter(pk=removed.pk).exists()


def test_the_change_log_is_in_the_import_summary_and_the_nodes_admin_history(db, tmp_path, client):
    import_text(tmp_path, SMALL_REPORT)
    measure = node("精進政府資料品質")
    revised = SMALL_REPORT.replace("(一) 精進政府資料品質", "(一) 提升政府資料品質")
    revised = revised.replace("【內政部資訊服務司】", "【內政部資訊服務司、內政部地政司】")
    path = tmp_path / "revised.txt"
    path.write_text(revised, encoding="utf-8")
    out = io.StringIO()

    call_command("import_outline", str(path), stdout=out)

    assert "2 updated" in out.getvalue()
    assert "Plan tree: 0 created, 1 renamed, 0 moved, 0 removed" in out.getvalue()
    assert "  renamed  肆/二/(一) 精進政府資料品質 → 提升政府資料品質" in out.getvalue()
    assert "  agency added  內政部地政司" in out.getvalue()
    client.force_login(User.objects.create_user("root", role="secretariat", is_staff=True, is_superuser=True))
    history = client.get(f"/admin/projects/plannode/{measure.pk}/history/")
    assert history.status_code == 200
    assert "imported: renamed" in history.content.decode()
    assert "imported: created" in history.content.decode()


def shipped_section(key: str) -> dict:
    """The shipped outline cut down to one strategy section: its group, the section and what stands below it."""
    data = json.loads(SHIPPED_OUTLINE.read_text(encoding="utf-8"))
    group = next(group for group in data["groups"] if key.startswith(group["key"] + "/"))
    group["children"] = [section for section in group["children"] if section["key"] == key]
    return {**data, "groups": [group], "indicators": [], "group_targets": []}


def test_a_subproject_once_right_under_its_section_keeps_its_row_under_the_measure_now_read_above_it(db):
    # given the section as an earlier reading gave it: 參/二/(四), a tagged (一) entry beside measures, a sub-project
    # of the section, with a report and a flag on it
    current = shipped_section("參/二")
    earlier = json.loads(json.dumps(current))
    (section,) = earlier["groups"][0]["children"]
    at = next(index for index, child in enumerate(section["children"]) if child["key"] == "參/二/(四)")
    measure = section["children"][at]
    assert [child["key"] for child in measure["children"]] == ["參/二/(四)/1"]
    section["children"][at] = {**measure, "kind": "subproject", "children": []}
    outline_import(document=document_from_data(earlier))
    subproject = node("推動多元的運動數據應用發展", kind=NodeKind.SUBPROJECT)
    assert (subproject.outline_key, subproject.parent.title) == ("參/二/(四)", "擴大數位經濟")
    report = QuarterlyReportFactory(node=subproject)
    flag = LagFlagFactory(node=subproject)

    # when the outline as now read is imported over it
    result = outline_import(document=document_from_data(current))

    # then the same row stands, moved under the new measure of its title and agencies, with what hangs on it
    moved = PlanNode.objects.get(pk=subproject.pk)
    new_measure = moved.parent
    assert (moved.kind, moved.outline_key, moved.number) == (NodeKind.SUBPROJECT, "參/二/(四)/1", "")
    assert (new_measure.kind, new_measure.outline_key, new_measure.title) == (
        NodeKind.MEASURE,
        "參/二/(四)",
        "推動多元的運動數據應用發展",
    )
    assert new_measure.parent_id == subproject.parent_id
    assert moved.path.startswith(new_measure.path)
    assert leads(new_measure) == leads(moved) == ["數位發展部數位產業署"]
    assert QuarterlyReport.objects.get(pk=report.pk).node_id == moved.pk
    assert LagFlag.objects.get(pk=flag.pk).node_id == moved.pk
    assert [(entry.change, entry.key, entry.node_id) for entry in result.changes] == [
        ("created", "參/二/(四)", new_measure.pk),
        ("moved", "參/二/(四)/1", moved.pk),
    ]
    history = PlanNode.history.filter(id=moved.pk).latest("history_date", "history_id")
    assert history.history_change_reason == "imported: moved"


def test_unreadable_input_imports_nothing(db, tmp_path):
    broken = SMALL_REPORT + "\n(二) 數位人文創新人才培育計畫【不明的東西 123】\n"

    with pytest.raises(CommandError, match=r"line 2\d: cannot read the agencies"):
        path = tmp_path / "broken.txt"
        path.write_text(broken, encoding="utf-8")
        call_command("import_outline", str(path), stdout=io.StringIO())

    assert not Plan.objects.exists()
    assert not PlanNode.objects.exists()
    assert not Agency.objects.exists()


def test_a_failure_halfway_through_the_database_writes_rolls_everything_back(db, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(SMALL_REPORT, encoding="utf-8")
    document = read_outline(path)
    # Give a later node a kind the plan tree refuses under its parent.
    document.groups[1].children[0].children[0].kind = NodeKind.STRATEGY

    with pytest.raises(OutlineError, match=r"line 19: \(一\) 智慧晶片系統與應用人才培育計畫: parent: "):
        outline_import(document=document)

    assert not PlanNode.objects.exists()
    assert not Plan.objects.exists()


def test_import_command_shows_progress_and_a_summary(db, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(SMALL_REPORT, encoding="utf-8")
    out = io.StringIO()

    call_command("import_outline", str(path), stdout=out)

    output = out.getvalue()
    assert "肆、數位治理分組: 5 nodes" in output
    assert "伍、數位包容分組: 3 nodes" in output
    # the plan and 8 nodes; 數位發展部, 內政部 and its 資訊服務司, 教育部 and its 資訊及科技教育司
    assert "9 created, 0 updated, 0 unchanged, 5 agencies added" in output


def test_shipped_demo_outline_is_the_importers_own_output(seed_report_path):
    shipped = json.loads(SHIPPED_OUTLINE.read_text(encoding="utf-8"))

    assert shipped == document_to_data(read_outline(seed_report_path))
    assert "description" not in SHIPPED_OUTLINE.read_text(encoding="utf-8")


def test_shipped_outline_then_report_adds_prose_without_new_nodes(db, seed_report_path):
    outline_import(document=read_outline(SHIPPED_OUTLINE))
    nodes = PlanNode.objects.count()
    assert nodes == 199
    assert not PlanNode.objects.exclude(description="").exists()

    result = outline_import(document=read_outline(seed_report_path))

    assert result.agencies_created == 0
    assert PlanNode.objects.count() == nodes
    assert node("數位治理分組").description


def test_seed_demo_loads_the_shipped_structure_and_accounts_once(db):
    call_command("seed_demo", "--no-reports", stdout=io.StringIO())
    call_command("seed_demo", "--no-reports", stdout=io.StringIO())

    assert Plan.objects.count() == 1
    assert PlanNode.objects.filter(kind=NodeKind.GROUP).count() == 4
    assert PlanNode.objects.subprojects().count() == 150
    lead = User.objects.get(username="moda-lead")
    assert (lead.role, lead.agency.name) == ("lead", "數位發展部")
    assert lead.check_password("moda-lead-demo")
    assert User.objects.get(username="secretariat").is_staff
