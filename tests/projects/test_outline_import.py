"""Importing outlines into the plan tree: the full 2024 report, re-imports, revisions and refusals."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from indicators.models import Indicator
from indicators.services import outline_import
from projects.models import Agency, NodeKind, Plan, PlanNode
from projects.outline import read_outline
from projects.outline.document import OutlineError, document_to_data
from projects.selectors import agency_find
from tests.conftest import REPO_ROOT

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


@pytest.fixture
def seed_import(db, seed_report_path):
    return outline_import(document=read_outline(seed_report_path))


def test_seed_imports_four_groups_with_their_convening_agencies(seed_import):
    groups = PlanNode.objects.filter(kind=NodeKind.GROUP).order_by("position")

    assert [(group.title, group.convening_agency.name) for group in groups] == [
        ("數位基盤分組", "數位發展部"),
        ("數位創新分組", "經濟部"),
        ("數位治理分組", "數位發展部"),
        ("數位包容分組", "教育部"),
    ]
    plan = Plan.objects.get()
    assert (plan.name, plan.start_year, plan.end_year) == ("智慧國家方案", 2021, 2025)


def test_seed_strategy_sections_and_measures_stand_under_their_group(seed_import):
    counts = {kind: PlanNode.objects.filter(kind=kind).count() for kind in NodeKind.values}
    assert counts == {"group": 4, "strategy": 16, "measure": 12, "subproject": 149}

    sections = {
        group.title: list(group.children.order_by("position").values_list("title", flat=True))
        for group in PlanNode.objects.filter(kind=NodeKind.GROUP)
    }
    assert sections["數位基盤分組"] == [
        "5G 寬頻基礎建設與實證",
        "先進網路建設整備",
        "B5G 衛星通訊發展：推動 Beyond 5G 低軌衛星",
        "國家網路資安防護強化：開發 5G 資安防護系統",
        "擘劃頻譜政策",
        "法規調適促進先進網路應用發展",
    ]
    assert sections["數位創新分組"] == ["擴大數位經濟", "數位關鍵技術", "產業轉型基盤"]
    assert sections["數位治理分組"] == [
        "建構資料治理生態系",
        "推升智慧政府服務",
        "完備政府數位基礎",
        "促進公民協力參與",
    ]
    assert sections["數位包容分組"] == ["普及數位平權", "培育數位人才", "精進數位學習環境"]

    measure = node("連結亞太強韌陸海空網路")
    assert measure.kind == NodeKind.MEASURE
    assert measure.parent.title == "先進網路建設整備"
    assert leads(measure) == ["數位發展部", "交通部", "國家科學及技術委員會"]
    assert list(measure.children.values_list("title", flat=True)) == [
        "擴增光纜通道",
        "建構光纜通道與衛星網路之連結",
        "鼓勵擴增海纜登陸站",
        "公私協力及國際策略夥伴",
        "電子資訊國際大廠先進網路推廣",
    ]


@pytest.mark.parametrize(
    ("title", "path", "lead_agencies"),
    [
        ("超高速寬頻網路普及", ["數位基盤分組", "5G 寬頻基礎建設與實證"], ["數位發展部"]),
        ("強化偏鄉地區 5G 寬頻服務與涵蓋", ["數位基盤分組", "5G 寬頻基礎建設與實證"], ["數位發展部", "原住民族委員會"]),
        ("推動警消微波網路系統移頻", ["數位基盤分組", "擘劃頻譜政策"], ["內政部警政署"]),
        (
            "政府資料開放，民間活化應用發展服務",
            ["數位治理分組", "建構資料治理生態系", "精進政府資料品質，優先聚焦開放高價值資料及建立資料應用典範"],
            ["數位發展部"],
        ),
        ("臺灣資安卓越深耕-學術型資安研究", None, ["國家科學及技術委員會前瞻處"]),
        ("5G 時代影音場域建置及推廣計畫", None, ["文化部影視司"]),
        ("數位共融及培力計畫", ["數位包容分組", "普及數位平權"], None),
        (
            "原住民族、離島及偏鄉地區遠距醫療專科門診暨強化衛生所醫療影像設備計畫",
            None,
            ["衛生福利部護理及健康照護司", "衛生福利部醫事司"],
        ),
        ("顯示科技研發與人才培育計畫", ["數位包容分組", "培育數位人才"], ["國家科學及技術委員會", "教育部"]),
    ],
)
def test_seed_titled_subprojects_with_their_lead_agencies(seed_import, title, path, lead_agencies):
    subproject = node(title, kind=NodeKind.SUBPROJECT)

    if lead_agencies is not None:
        assert leads(subproject) == lead_agencies
    if path is not None:
        ancestors = []
        parent = subproject.parent
        while parent:
            ancestors.insert(0, parent.title)
            parent = parent.parent
        assert ancestors == path


def test_seed_every_subproject_has_a_lead_agency_and_reads_as_a_title(seed_import):
    for subproject in PlanNode.objects.subprojects().prefetch_related("agency_links__agency"):
        assert subproject.lead_agencies, subproject.title
        assert len(subproject.title) <= 64, subproject.title
        assert "。" not in subproject.title.rstrip("。"), subproject.title


def test_seed_result_sentences_are_narrative_not_subprojects(seed_import):
    assert not PlanNode.objects.filter(title__startswith="工研院開發高效浸沒式液冷散熱技術").exists()
    assert not PlanNode.objects.filter(title__startswith="落實清廉施政").exists()
    measure = node("打造臺灣成為亞洲「高階製造、半導體先進製程」中心，至2025年至少吸引1家國際大廠來臺設立 Demo Lab。")
    assert "工研院開發高效浸沒式液冷散熱技術達 1200W" in measure.description
    assert "圖 " not in node("5G 行動寬頻網路普及").description


def test_seed_group_summary_is_the_group_description(seed_import):
    group = node("數位治理分組")
    assert "主要績效目標共計 7 項" in group.description
    assert not PlanNode.objects.filter(title__contains="整體推動效益").exists()


def test_seed_agencies_form_a_tree_with_short_names(seed_import):
    moda = Agency.objects.get(name="數位發展部")
    assert agency_find("數位部") == moda
    assert agency_find("國科會") == Agency.objects.get(name="國家科學及技術委員會")
    assert agency_find("中研院") == Agency.objects.get(name="中央研究院")
    industry = Agency.objects.get(name="數位發展部數位產業署")
    assert industry.parent == moda
    assert industry.path.startswith(moda.path)
    assert Agency.objects.get(name="國史館審編處").parent.name == "國史館"
    assert Agency.objects.get(name="國家科學及技術委員會前瞻處").parent.name == "國家科學及技術委員會"
    assert Agency.objects.filter(parent__isnull=True, name__endswith="產業署").count() == 0


def test_seed_overall_indicator_table(seed_import):
    rows = [
        (
            indicator.dimension,
            indicator.name,
            indicator.unit,
            indicator.targets.get().value,
            indicator.actuals.get().value,
            indicator.actuals.get().is_estimate,
        )
        for indicator in Indicator.objects.filter(node__isnull=True).order_by("position")
    ]
    assert rows == [
        ("創新數位經濟", "數位經濟規模", "兆元", Decimal("6.5"), Decimal("9.3"), True),
        ("創新數位經濟", "數位服務經濟規模", "兆元", Decimal("2.9"), Decimal("4.2"), True),
        ("活躍網路社會", "數位生活服務使用普及率", "%", Decimal("80"), Decimal("78.2"), False),
        ("活躍網路社會", "民眾具備個人數位競爭力人口占比", "%", Decimal("60"), Decimal("61.6"), False),
        ("優勢寬頻環境", "高速網路寬頻服務達 2Gbps 涵蓋率", "%", Decimal("90"), Decimal("83.3"), False),
        ("優勢寬頻環境", "5G 網路非偏鄉人口涵蓋率", "%", Decimal("85"), Decimal("98.15"), False),
    ]
    assert Indicator.objects.get(name="數位生活服務使用普及率").targets.get().year == 2025
    assert Indicator.objects.get(name="數位生活服務使用普及率").actuals.get().year == 2024


def test_second_import_of_the_seed_changes_nothing(seed_import, seed_report_path):
    before = list(PlanNode.objects.order_by("pk").values_list("pk", "updated_at", "path"))
    agencies_before = Agency.objects.count()

    again = outline_import(document=read_outline(seed_report_path))

    assert (again.created, again.updated, again.agencies_created) == (0, 0, 0)
    assert list(PlanNode.objects.order_by("pk").values_list("pk", "updated_at", "path")) == before
    assert Agency.objects.count() == agencies_before


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
    assert nodes == 181
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
    assert PlanNode.objects.subprojects().count() == 149
    lead = User.objects.get(username="moda-lead")
    assert (lead.role, lead.agency.name) == ("lead", "數位發展部")
    assert lead.check_password("moda-lead-demo")
    assert User.objects.get(username="secretariat").is_staff
