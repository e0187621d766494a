"""Importing the full 2024 report into the plan tree: groups, strategies, measures, sub-projects and their lead
agencies, the overall indicators; and a second import that changes nothing."""

from decimal import Decimal

import pytest

from indicators.models import Indicator
from indicators.services import outline_import
from projects.models import Agency, NodeKind, Plan, PlanNode
from projects.outline import read_outline
from projects.selectors import agency_find
from tests.conftest import SEED_REPORT
from tests.support.module_data import data_for_the_module

from .test_outline_import import leads, node


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The 2024 report imported once for the module (tests/support/module_data.py): each test starts from it."""
    if not SEED_REPORT.exists():
        pytest.skip(f"the seed report is not at {SEED_REPORT}")
    with data_for_the_module(django_db_blocker):
        yield outline_import(document=read_outline(SEED_REPORT))


@pytest.fixture
def seed_import(seeded, db):
    return seeded


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
    assert counts == {"group": 4, "strategy": 16, "measure": 18, "subproject": 150}

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
    for subproject in PlanNode.objects.subprojects().select_related("parent").prefetch_related("agency_links__agency"):
        assert subproject.lead_agencies, subproject.title
        # but the one sub-project of a measure stating an aim, which carries the measure's title
        assert len(subproject.title) <= 64 or subproject.title == subproject.parent.title, subproject.title
        assert "。" not in subproject.title.rstrip("。"), subproject.title


def test_seed_result_sentences_are_narrative_not_subprojects(seed_import):
    assert not PlanNode.objects.filter(title__startswith="工研院開發高效浸沒式液冷散熱技術").exists()
    # a measure of a list written 「label：results」: the label is its title, the results its description
    assert "法務部廉政署成立機關採購廉政平臺" in node("落實清廉施政", kind=NodeKind.MEASURE).description
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
