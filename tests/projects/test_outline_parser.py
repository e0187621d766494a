"""The outline parser on small reports, one irregularity of the real 2024 report at a time."""

import textwrap
from decimal import Decimal

import pytest

from projects.outline.document import OutlineError, document_from_data, document_to_data
from projects.outline.parser import parse

HEADER = """
智慧國家方案(2021-2025 年)

2024 年階段成果報告

國家科學及技術委員會彙編
"""


def outline(body: str):
    return parse(HEADER + textwrap.dedent(body))


def titles(node):
    return [child.title for child in node.children]


def find(document, title):
    return next(node for node in document.walk() if node.title == title)


def test_plan_header_gives_name_years_and_report_year():
    document = outline("貳、數位治理分組推動成果【召集部會：數位發展部】\n")

    assert (document.plan_name, document.start_year, document.end_year) == ("智慧國家方案", 2021, 2025)
    assert document.report_year == 2024
    assert document.secretariat == "國家科學及技術委員會"


@pytest.mark.parametrize(
    ("plan_years", "report_year"),
    [("110-114 年", "113 年"), ("民國110-民國114年", "民國113年"), ("１１０－１１４年", "１１３ 年")],
)
def test_a_report_dated_in_the_roc_calendar_gives_the_same_years(plan_years, report_year):
    body = "貳、數位治理分組推動成果【召集部會：數位發展部】\n"
    header = HEADER.replace("2021-2025 年", plan_years).replace("2024 年", report_year)
    document = parse(header + body)

    assert (document.plan_name, document.start_year, document.end_year) == ("智慧國家方案", 2021, 2025)
    assert document.report_year == 2024


def test_group_strategy_measure_subproject_hierarchy():
    document = outline(
        """
        肆、數位治理分組推動成果【召集部會：數位發展部】

        二、建構資料治理生態系

        (一) 精進政府資料品質，優先聚焦開放高價值資料

        1. 政府資料開放，民間活化應用發展服務【數位發展部】

        數位發展部為聚焦發展契合民間需求之資料。

        2. 地理資訊整合圖臺服務整合應用【內政部資訊服務司】
        """
    )

    (group,) = document.groups
    assert (group.kind, group.title, group.convening_agency, group.key) == ("group", "數位治理分組", "數位發展部", "肆")
    (strategy,) = group.children
    assert (strategy.kind, strategy.number, strategy.title) == ("strategy", "二", "建構資料治理生態系")
    (measure,) = strategy.children
    assert (measure.kind, measure.number, measure.key) == ("measure", "(一)", "肆/二/(一)")
    first, second = measure.children
    assert (first.kind, first.number, first.title) == ("subproject", "1", "政府資料開放，民間活化應用發展服務")
    assert first.lead_agencies == ["數位發展部"]
    assert first.description == "數位發展部為聚焦發展契合民間需求之資料。"
    assert second.lead_agencies == ["內政部資訊服務司"]
    assert first.key == "肆/二/(一)/1"


def test_table_of_contents_with_page_numbers_is_skipped():
    document = outline(
        """
        目 錄

        壹、前言\t1
        貳、數位基盤分組推動成果【召集部會：數位發展部】\t17
        一、2024 年數位基盤整體推動效益\t17
        二、5G 寬頻基礎建設與實證\t18

        貳、數位基盤分組推動成果【召集部會：數位發展部】

        二、5G 寬頻基礎建設與實證

        (一) 超高速寬頻網路普及【數位發展部】
        """
    )

    assert len(document.groups) == 1
    assert titles(document.groups[0]) == ["5G 寬頻基礎建設與實證"]


def test_full_and_half_width_brackets_and_markdown_bullets():
    document = outline(
        """
        伍、數位包容分組推動成果【召集部會：教育部】

        四、精進數位學習環境

        (一) 教育雲：校園數位學習精進服務計畫【教育部資訊及科技教育司】

        （二）第二期數位學習深耕計畫【教育部資訊及科技教育司】

        - (三) 高級中等學校智慧網路環境暨學術網路提升計畫【教育部國民及學前教育署】
        """
    )

    section = document.groups[0].children[0]
    assert [child.number for child in section.children] == ["(一)", "(二)", "(三)"]
    assert titles(section) == [
        "教育雲：校園數位學習精進服務計畫",
        "第二期數位學習深耕計畫",
        "高級中等學校智慧網路環境暨學術網路提升計畫",
    ]
    assert all(child.kind == "subproject" for child in section.children)


def test_tag_alone_on_the_next_line_and_in_bold():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        二、擴大數位經濟

        (二) 促進跨業合作，加速場域布建，擴大民眾消費體驗。

        【數位發展部數位產業署】

        1. 協助在地場域之中小企業數位升級。

        (三) 鼓勵業者與地方合作，發展民眾有感智慧應用服務。**【數位發展部數位產業署】**
        """
    )

    second, third = document.groups[0].children[0].children
    assert second.kind == third.kind == "subproject"
    assert second.lead_agencies == third.lead_agencies == ["數位發展部數位產業署"]
    assert second.title == "促進跨業合作，加速場域布建，擴大民眾消費體驗。"
    assert "協助在地場域之中小企業數位升級" in second.description


def test_headings_and_tags_broken_across_lines():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        三、數位關鍵技術

        (二) 打造臺灣成為亞洲「高階製造、半導體先進製程」中心

        1. 臺灣資安卓越深耕-學術型
        資安研究【國科會前瞻處】

        2. 打造運動場域 AI 數據加值應用服務【經
        濟部產業技術司】
        """
    )

    first, second = document.groups[0].children[0].children[0].children
    assert first.title == "臺灣資安卓越深耕-學術型資安研究"
    assert first.lead_agencies == ["國家科學及技術委員會前瞻處"]
    assert second.title == "打造運動場域 AI 數據加值應用服務"
    assert second.lead_agencies == ["經濟部產業技術司"]


def test_a_sentence_broken_after_a_blank_line_continues_with_its_bullet():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        三、數位關鍵技術

        (二) 打造高階製造中心

        1. 臺灣量子新世代關鍵技術開發計畫【國科會自然處】

        發展 3D AI 晶片，使

        - 得能耗減少 90%。
        """
    )

    (subproject,) = document.groups[0].children[0].children[0].children
    assert subproject.description == "發展 3D AI 晶片，使得能耗減少 90%。"


def test_figure_captions_are_not_kept_as_narrative():
    document = outline(
        """
        貳、數位基盤分組推動成果【召集部會：數位發展部】

        二、5G 寬頻基礎建設與實證

        (二) 5G 行動寬頻網路普及【數位發展部】

        5G 基地臺總建設數達 48,195 臺。

        圖 11 5G 基地臺建設現場
        """
    )

    subproject = document.groups[0].children[0].children[0]
    assert subproject.description == "5G 基地臺總建設數達 48,195 臺。"


def test_long_result_sentences_stay_narrative_not_subprojects():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        三、數位關鍵技術

        (二) 打造臺灣成為亞洲「高階製造、半導體先進製程」中心

        1. 關鍵新興晶片設計研發計畫【國科會工程處】

        13. 工研院開發高效浸沒式液冷散熱技術達 1200W，突破國際現行交換式液冷散熱 900W 的上限。已技轉廣運、一銓、其陽，使廠商成功打入國際供應鏈。【經濟部產業技術司】

        14. 開發符合車規可靠度之 1.7kV 碳化矽功率元件及模組，已先期技轉鴻揚半導體，該公司以 6 吋廠生產製造，以及推動朋程研發車用功率模組並打入國際車廠供應鏈【經濟部產業技術司】
        """
    )

    measure = document.groups[0].children[0].children[0]
    assert measure.kind == "measure"
    assert titles(measure) == ["關鍵新興晶片設計研發計畫"]
    assert "13 工研院開發高效浸沒式液冷散熱技術達 1200W" in measure.description
    assert "14 開發符合車規可靠度" in measure.description


def test_tagged_entries_beside_a_measure_are_measures_holding_their_agencies_work_whatever_their_title():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        二、擴大數位經濟

        (一) 強化 5G 領航領域跨域整合運用

        1. 5G 文化科技領航應用計畫【文化部】

        (五) 推動多元的運動數據應用發展【數位發展部數位產業署】

        1. 建置運動數據公益平臺，累計運動數據 5,848,810 筆。

        (六) 針對文化科技領域整合自主 5G 專網系統，帶動文化數位體驗科技應用創新，展現科技、文化與藝術結合之跨域應用，帶動地域性投資促進產業轉型。【文化部資訊處、數位發展部數位產業署】

        1. 本計畫於 5G 試煉場域中正紀念堂舉辦「科藝福爾摩沙-新媒體藝術展」，總參觀人數共 38 萬 2,784 人次。

        2. 完成 2 處 5G 專網服務系統，國產化比例高於 80%。
        """
    )

    listed, short, stated = document.groups[0].children[0].children
    assert (listed.kind, titles(listed)) == ("measure", ["5G 文化科技領航應用計畫"])
    # a short title and a long one: both measures, as the measure beside them
    assert (short.kind, short.key, titles(short)) == ("measure", "參/二/(五)", ["推動多元的運動數據應用發展"])
    assert "建置運動數據公益平臺" in short.children[0].description
    assert (stated.kind, stated.number, stated.key) == ("measure", "(六)", "參/二/(六)")
    assert stated.title.startswith("針對文化科技領域整合自主 5G 專網系統")
    assert stated.lead_agencies == ["文化部資訊處", "數位發展部數位產業署"]
    (work,) = stated.children
    assert (work.kind, work.number, work.key, work.title) == ("subproject", "", "參/二/(六)/1", stated.title)
    assert work.lead_agencies == ["文化部資訊處", "數位發展部數位產業署"]
    assert "總參觀人數共 38 萬 2,784 人次" in work.description
    assert "國產化比例高於 80%" in work.description
    assert stated.description == ""


def test_tagged_entries_of_a_section_without_measures_are_its_subprojects_whatever_their_title():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        二、擴大數位經濟

        (五) 推動多元的運動數據應用發展【數位發展部數位產業署】

        1. 建置運動數據公益平臺，累計運動數據 5,848,810 筆。

        (六) 針對文化科技領域整合自主 5G 專網系統，帶動文化數位體驗科技應用創新，展現科技、文化與藝術結合之跨域應用，帶動地域性投資促進產業轉型。【文化部資訊處、數位發展部數位產業署】

        1. 完成 2 處 5G 專網服務系統，國產化比例高於 80%。
        """
    )

    short, stated = document.groups[0].children[0].children
    assert [(node.kind, node.key, node.children) for node in (short, stated)] == [
        ("subproject", "參/二/(五)", []),
        ("subproject", "參/二/(六)", []),
    ]
    assert "國產化比例高於 80%" in stated.description


def test_a_bulleted_list_of_measures_written_label_colon_results_gives_one_measure_per_item():
    document = outline(
        """
        肆、數位治理分組推動成果【召集部會：數位發展部】

        一、2024 年數位治理整體推動效益

        - (一) 主要績效目標 1：政府機關每年至少發展 3 項高價值資料集及建立資料應用典範。已開放資料集 875 項。

        五、促進公民協力參與

        國家發展委員會社會發展處推動「臺灣開放政府國家行動方案（2021-2024）」，五大範疇承諾事項重點成果包括：

        - （一）推動資料開放與資訊公開：數位發展部完成政府資料高應用價值主題評估程序；環境部完成離岸風電資料介接。
        - （二）擴大公共參與機制：中央選舉委員會「全國性公民投票電子連署系統」上線。

        (三) 執行洗錢防制：法務部針對金融業、非金融業辦理洗錢防制教育訓練計 2,555 場。

        (四) 開放政府：推動國家行動方案
        """
    )

    (group,) = document.groups
    (strategy,) = group.children
    assert [(child.kind, child.number, child.title) for child in strategy.children] == [
        ("measure", "(一)", "推動資料開放與資訊公開"),
        ("measure", "(二)", "擴大公共參與機制"),
        ("measure", "(三)", "執行洗錢防制"),
        ("measure", "(四)", "開放政府：推動國家行動方案"),  # a title with a colon, kept whole
    ]
    first = strategy.children[0]
    assert first.description.startswith("數位發展部完成政府資料高應用價值主題評估程序")
    assert (first.lead_agencies, first.children) == ([], [])
    assert "五大範疇承諾事項" in strategy.description
    # the same shape in the group's summary section is narrative
    assert "主要績效目標 1" in group.description


def test_result_sentences_under_a_subproject_are_not_measures():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        二、擴大數位經濟

        (三) 鼓勵業者與地方合作，發展民眾有感智慧應用服務。【數位發展部數位產業署】

        1. 逐步發展智慧應用服務生態系：除強化數位服務研發外，更強調智慧服務永續營運，藉此發展我國智慧城市生態系。
        """
    )

    (subproject,) = document.groups[0].children[0].children
    assert (subproject.kind, subproject.children) == ("subproject", [])
    assert "1 逐步發展智慧應用服務生態系：" in subproject.description


def test_group_summary_section_becomes_the_group_description():
    document = outline(
        """
        肆、數位治理分組推動成果【召集部會：數位發展部】

        一、2024 年數位治理整體推動效益

        數位治理分組之主要績效目標共計 7 項。

        - (一) 主要績效目標 1：政府機關每年至少發展 3 項高應用價值主題，累計 193 萬人次。

        二、建構資料治理生態系
        """
    )

    (group,) = document.groups
    assert titles(group) == ["建構資料治理生態系"]
    assert "主要績效目標共計 7 項" in group.description
    assert "(一) 主要績效目標 1" in group.description


def test_several_agencies_short_names_and_sub_units():
    document = outline(
        """
        參、數位創新分組推動成果【召集部會：經濟部】

        四、產業轉型基盤

        (一) 以雲端平臺促進重點領域產業轉型

        1. 民生公共物聯網數據應用及產業開展計畫【國科會、環境部、數位發展部及中研院】

        2. 國史館持續運用科技推動智慧展示【國史館采集處、審編處】

        3. 遠距醫療專科門診計畫【衛生福利部護理及健康照護司】

        4. Å 世代半導體研發計畫【國科會自然處、工程處、國研院臺灣半導體研究中心】

        5. 協作計畫【主辦機關：數位部；協辦機關：教育部】
        """
    )

    first, second, third, fourth, fifth = document.groups[0].children[0].children[0].children
    assert first.lead_agencies == ["國家科學及技術委員會", "環境部", "數位發展部", "中央研究院"]
    assert second.lead_agencies == ["國史館采集處", "國史館審編處"]
    assert third.lead_agencies == ["衛生福利部護理及健康照護司"]
    assert fourth.lead_agencies == [
        "國家科學及技術委員會自然處",
        "國家科學及技術委員會工程處",
        "財團法人國家實驗研究院臺灣半導體研究中心",
    ]
    assert (fifth.lead_agencies, fifth.co_agencies) == (["數位發展部"], ["教育部"])


def test_overall_indicator_table_with_units_estimates_and_notes():
    document = outline(
        """
        三、總體指標達成情形

        項目\t2025 年 (總體指標)\t2024 年 (達成情形)
        創新數位經濟\t\t
        數位經濟規模 ^[1]\t6.5 兆元\t9.3 兆元(預估值)
        活躍網路社會\t\t
        數位生活服務使用普及率 ^[2]\t80%\t78.2%

        備註

        - 1.參考 OECD 定義。
        - 2.食醫住行育樂 6 項生活領域。

        貳、數位基盤分組推動成果【召集部會：數位發展部】
        """
    )

    economy, services = document.indicators
    assert (economy.dimension, economy.name, economy.unit) == ("創新數位經濟", "數位經濟規模", "兆元")
    assert (economy.target_year, economy.target_value) == (2025, Decimal("6.5"))
    assert (economy.result_year, economy.result_value, economy.result_is_estimate) == (2024, Decimal("9.3"), True)
    assert economy.note == "參考 OECD 定義。"
    assert (services.unit, services.target_value, services.result_value) == ("%", Decimal("80"), Decimal("78.2"))
    assert services.result_is_estimate is False
    assert services.note == "食醫住行育樂 6 項生活領域。"


def test_duplicate_numbers_under_one_parent_get_distinct_keys():
    document = outline(
        """
        肆、數位治理分組推動成果【召集部會：數位發展部】

        二、建構資料治理生態系

        (二) 強化民眾資料自主應用機制

        1. 推動便民 MyData 服務【數位發展部】

        1. 金融領域 MyData 線上服務【金融監督管理委員會】
        """
    )

    first, second = document.groups[0].children[0].children[0].children
    assert (first.key, second.key) == ("肆/二/(二)/1", "肆/二/(二)/1~2")


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            "貳、數位基盤分組推動成果【召集部會：數位發展部】\n\n二、建置\n\n(一) 超高速寬頻網路普及【5G 寬頻】\n",
            11,
            "cannot read the agencies",
        ),
        ("壹、前言\n\n一、組織架構\n", 0, "no group headings"),
        ("項目\t2025 年 (總體指標)\t2024 年 (達成情形)\n數位經濟規模\t六兆\t9.3 兆元\n", 8, "cannot read the value"),
        ("項目\t2025 年\t2024 年\n數位經濟規模\t6.5 兆元\t83%\n", 8, "the target is in 兆元 but the result in %"),
        (
            "貳、數位基盤分組推動成果【召集部會：數位發展部】\n\n(一) 超高速寬頻網路普及【數位發展部】\n",
            9,
            "before any 一、 section",
        ),
    ],
)
def test_input_it_cannot_make_sense_of_names_the_line(body, line, message):
    with pytest.raises(OutlineError) as excinfo:
        outline(body)

    assert excinfo.value.line == line
    assert message in str(excinfo.value)


def test_a_report_without_the_plan_header_is_refused():
    with pytest.raises(OutlineError, match="must open with the plan's name and years") as excinfo:
        parse("貳、數位基盤分組推動成果【召集部會：數位發展部】\n")
    assert excinfo.value.line == 1


def test_data_file_round_trip_without_prose():
    document = outline(
        """
        貳、數位基盤分組推動成果【召集部會：數位發展部】

        二、5G 寬頻基礎建設與實證

        (一) 超高速寬頻網路普及【數位發展部】

        持續提升 2Gbps 等級固網涵蓋率。
        """
    )

    data = document_to_data(document)
    again = document_from_data(data)

    subproject = again.groups[0].children[0].children[0]
    assert (subproject.title, subproject.lead_agencies) == ("超高速寬頻網路普及", ["數位發展部"])
    assert subproject.description is None  # no prose in the data file, and none overwritten on import
    assert "持續提升" not in str(data)
    assert document_to_data(again) == data


def test_data_file_of_another_format_is_refused():
    with pytest.raises(OutlineError, match="not a GSTP outline data file"):
        document_from_data({"groups": []})
