"""Importing the full 2024 report into the plan tree: groups, strategies, measures, sub-projects and their lead
agencies, the overall indicators; a second import that changes nothing; and a revised copy of the report imported
over it, which updates the tree in place (the same rows, so what hangs on a sub-project stays on it) and records
what changed. The revised copy is the report with a measure renamed, a sub-project moved to another measure (those
after it renumbered), an agency added and a sub-project with reports removed."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from indicators.models import Indicator
from indicators.services import outline_import
from projects.models import Agency, NodeKind, Plan, PlanNode
from projects.outline import read_outline
from projects.selectors import agency_find
from reviews.models import LagFlag, QuarterlyReport
from tests.conftest import SEED_REPORT
from tests.reviews.factories import LagFlagFactory, QuarterlyReportFactory
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
    assert counts == {"group": 4, "strategy": 16, "measure": 29, "subproject": 150}

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
        # but the one sub-project of a tagged measure beside measures, which carries the measure's title
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


RENAMED_FROM = "(二) 強化民眾資料自主應用機制，推動數位服務個人化服務，"
RENAMED_TO = "(二) 深化民眾資料自主運用，推動個人化數位服務，"
MOVED = "3. 邁向智慧國土，推動 3D 國家底圖服務【內政部地政司】"
MOVED_BLOCK_ENDS = "4. 提供海域圖資倉儲服務，實現海域調查資料共享目標【內政部地政司】"
REMOVED = "3. 提供退休俸人員家屬水電優待申請線上服務納入 MyData 機制【國軍退除役官兵輔導委員會】"
REMOVED_BLOCK_ENDS = "三、推升智慧政府服務"
NEW_AGENCY_FROM = "2. 金融領域 MyData 線上服務【金融管理委員會】"
NEW_AGENCY_TO = "2. 金融領域 MyData 線上服務【金融管理委員會、國家發展委員會資訊管理處】"
# The sub-projects after the moved one under 精進政府資料品質…, numbered 4 to 9 in the report.
RENUMBERED = [
    "提供海域圖資倉儲服務，實現海域調查資料共享目標",
    "建構全島之山崩目錄，支援天災應變",
    "提供 3 項砂石產業開放資料集，發展 Open API 服務",
    "氣象衛星資料監測服務計畫",
    "建立原住民族相關事務決策資訊協助",
    "活化並綜合應用各項科技計畫成果，於各層面加強動智慧國家願景",
]


def revised(report: str) -> str:
    """The report with a measure renamed, a sub-project moved, an agency added and a sub-project removed."""
    moved_at = report.index(MOVED)
    moved_end = report.index(MOVED_BLOCK_ENDS, moved_at)
    moved = report[moved_at:moved_end]
    text = report[:moved_at] + report[moved_end:]
    for number, title in enumerate(RENUMBERED, start=3):
        at = text.index(f"{number + 1}. {title}", moved_at)
        text = text[:at] + f"{number}. " + text[at + len(f"{number + 1}. ") :]
    # the moved sub-project takes the removed one's place and number: 3. under the renamed measure
    removed_at = text.index(REMOVED)
    removed_end = text.index(REMOVED_BLOCK_ENDS, removed_at)  # not the table of contents' entry
    text = text[:removed_at] + moved + text[removed_end:]
    assert RENAMED_FROM in text and NEW_AGENCY_FROM in text
    return text.replace(RENAMED_FROM, RENAMED_TO).replace(NEW_AGENCY_FROM, NEW_AGENCY_TO)


@pytest.fixture
def revised_report(seed_import, tmp_path):
    path = tmp_path / "revised.txt"
    path.write_text(revised(SEED_REPORT.read_text(encoding="utf-8")), encoding="utf-8")
    return path


def import_command(path) -> str:
    out = io.StringIO()
    call_command("import_outline", str(path), stdout=out)
    return out.getvalue()


def test_a_revised_report_updates_the_tree_in_place_and_logs_the_changes(revised_report):
    # given the tree as the report gave it, with reports and a flag on sub-projects
    renamed = node("強化民眾資料自主應用機制，推動數位服務個人化服務")
    moved = node("邁向智慧國土，推動 3D 國家底圖服務")
    first_measure = moved.parent
    renumbered = [node(title, parent=first_measure) for title in RENUMBERED]
    removed = node("提供退休俸人員家屬水電優待申請線上服務納入 MyData 機制")
    with_new_agency = node("金融領域 MyData 線上服務")
    report_on_moved = QuarterlyReportFactory(node=moved)
    flag_on_moved = LagFlagFactory(node=moved)
    report_on_removed = QuarterlyReportFactory(node=removed)
    counts = {kind: PlanNode.objects.filter(kind=kind).count() for kind in NodeKind.values}

    # when the revised report is imported over it
    output = import_command(revised_report)

    # then the same rows stand renamed and moved, the others renumbered where they are
    renamed.refresh_from_db()
    assert (renamed.title, renamed.outline_key) == ("深化民眾資料自主運用，推動個人化數位服務", "肆/二/(二)")
    moved.refresh_from_db()
    assert (moved.parent_id, moved.number, moved.outline_key) == (renamed.pk, "3", "肆/二/(二)/3")
    assert moved.path.startswith(renamed.path)
    for number, before in enumerate(renumbered, start=3):
        after = PlanNode.objects.get(pk=before.pk)
        assert (after.title, after.parent_id, after.number) == (before.title, first_measure.pk, str(number))
        assert after.outline_key == f"肆/二/(一)/{number}"
    # what hangs on the moved sub-project stays on it
    assert QuarterlyReport.objects.get(pk=report_on_moved.pk).node_id == moved.pk
    assert LagFlag.objects.get(pk=flag_on_moved.pk).node_id == moved.pk
    # the new agency is created under its ministry and leads with the other
    added = Agency.objects.get(name="國家發展委員會資訊管理處")
    assert added.parent == Agency.objects.get(name="國家發展委員會")
    assert leads(with_new_agency) == ["金融監督管理委員會", "國家發展委員會資訊管理處"]
    # the removed sub-project has a report: it is kept, out of the outline, and said so
    assert QuarterlyReport.objects.filter(pk=report_on_removed.pk, node_id=removed.pk).exists()
    assert PlanNode.objects.get(pk=removed.pk).outline_key == f"肆/二/(二)/3#{removed.pk}"
    assert {kind: PlanNode.objects.filter(kind=kind).count() for kind in NodeKind.values} == counts

    # and the change log says what changed: the nodes' history and the command's summary
    def reason(row):
        return PlanNode.history.filter(id=row.pk).latest("history_date", "history_id").history_change_reason

    assert reason(renamed) == "imported: renamed"
    assert reason(moved) == "imported: moved"
    assert reason(renumbered[0]) == "imported: updated"
    assert reason(with_new_agency) == "imported: updated"
    assert "Plan tree: 0 created, 1 renamed, 1 moved, 1 removed" in output
    assert (
        "  renamed  肆/二/(二) 強化民眾資料自主應用機制，推動數位服務個人化服務 → 深化民眾資料自主運用，推動個人化數位服務"
        in output
    )
    assert (
        "  moved    肆/二/(二)/3 邁向智慧國土，推動 3D 國家底圖服務: "
        "from (一) 精進政府資料品質，優先聚焦開放高價值資料及建立資料應用典範 "
        "to (二) 深化民眾資料自主運用，推動個人化數位服務"
    ) in output
    assert (
        f"  removed  肆/二/(二)/3#{removed.pk} 提供退休俸人員家屬水電優待申請線上服務納入 MyData 機制 (has reports, kept)"
        in output
    )
    assert "  agency added  國家發展委員會資訊管理處" in output


def test_importing_the_revised_report_again_changes_nothing(revised_report):
    import_command(revised_report)
    before = list(PlanNode.objects.order_by("pk").values_list("pk", "updated_at", "path", "outline_key"))
    history = PlanNode.history.count()

    result = outline_import(document=read_outline(revised_report))

    assert (result.created, result.updated, result.agencies_created) == (0, 0, 0)
    assert [entry.change for entry in result.changes] == ["removed"]
    assert list(PlanNode.objects.order_by("pk").values_list("pk", "updated_at", "path", "outline_key")) == before
    assert PlanNode.history.count() == history
