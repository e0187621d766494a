"""Every measure and sub-project of the 2024 report in the shipped outline (projects/data/smart-nation-2024.json),
under its parent with its agencies, as the report's headings nest them. Reads the data file, once for the module;
no database."""

import json
from collections import Counter

import pytest

from tests.conftest import REPO_ROOT

SHIPPED_OUTLINE = REPO_ROOT / "projects" / "data" / "smart-nation-2024.json"


def walk(node, parent=None):
    yield node, parent
    for child in node.get("children", []):
        yield from walk(child, node)


def subprojects_below(node) -> int:
    return sum(1 for below, _ in walk(node) if below["kind"] == "subproject" and below is not node)


@pytest.fixture(scope="module")
def outline():
    data = json.loads(SHIPPED_OUTLINE.read_text(encoding="utf-8"))
    nodes = [pair for group in data["groups"] for pair in walk(group)]
    return {node["key"]: (node, parent) for node, parent in nodes}


def test_counts_per_level(outline):
    counts = Counter(node["kind"] for node, _ in outline.values())

    assert counts == {"group": 4, "strategy": 16, "measure": 29, "subproject": 150}


# Each measure of the report: its key, the heading it stands under, its title, the agencies its own heading names
# and the number of sub-projects below it.
MEASURES = [
    (
        "貳/三/(一)",
        "先進網路建設整備",
        "強化公部門網路服務與運算雲端基礎設施",
        ["數位發展部", "國家科學及技術委員會", "教育部"],
        1,
    ),
    ("貳/三/(二)", "先進網路建設整備", "完善臺灣光纜通道", ["交通部"], 1),
    ("貳/三/(三)", "先進網路建設整備", "建置海纜及 5G 雲端聯網中心", ["國家科學及技術委員會"], 1),
    ("貳/三/(四)", "先進網路建設整備", "推動海纜與網路之發展政策及安全防護", ["數位發展部"], 1),
    ("貳/三/(五)", "先進網路建設整備", "連結亞太強韌陸海空網路", ["數位發展部", "交通部", "國家科學及技術委員會"], 5),
    (
        "參/二/(一)",
        "擴大數位經濟",
        "強化 5G 領航領域跨域整合運用，包括服務業或小微企業，完成各領域代表案例",
        [],
        16,
    ),
    (
        "參/二/(一)/12",
        "強化 5G 領航領域跨域整合運用，包括服務業或小微企業，完成各領域代表案例",
        "推動影音場域之 5G 創新應用領航，提升文化體驗經濟的永續動能",
        [],
        2,
    ),
    (
        "參/二/(二)",
        "擴大數位經濟",
        "促進跨業合作，加速場域布建，經由行動支付多元應用增值服務，擴大民眾消費體驗，加速行動支付應用普及擴散。",
        ["數位發展部數位產業署"],
        1,
    ),
    (
        "參/二/(三)",
        "擴大數位經濟",
        "鼓勵業者與地方合作，發展民眾有感智慧應用服務，協助地方深化數位治理與產業轉型。",
        ["數位發展部數位產業署"],
        1,
    ),
    ("參/二/(四)", "擴大數位經濟", "推動多元的運動數據應用發展", ["數位發展部數位產業署"], 1),
    (
        "參/二/(五)",
        "擴大數位經濟",
        "透過多元化輔導政策機制，發展運動科技產創新應用典範案例，帶動提升整體運動科技產業生態正向循環。",
        ["數位發展部數位產業署"],
        1,
    ),
    (
        "參/二/(六)",
        "擴大數位經濟",
        "針對文化科技領域整合自主 5G 專網系統，帶動文化數位體驗科技應用創新，展現科技、文化與藝術結合之跨域應用，"
        "帶動地域性投資促進產業轉型。",
        ["文化部資訊處", "數位發展部數位產業署"],
        1,
    ),
    (
        "參/二/(七)",
        "擴大數位經濟",
        "推動數據信任與合規環境，建立國際合作平臺以促進數據經濟，支持業者拓展海外市場，並推動數據創新服務生態系統的發展。",
        ["數位發展部數位產業署"],
        1,
    ),
    (
        "參/二/(八)",
        "擴大數位經濟",
        "輔導電商零售業應用數位創新科技並協助業者跨境發展，提升數位經濟產值。",
        ["數位發展部數位產業署"],
        1,
    ),
    (
        "參/三/(一)",
        "數位關鍵技術",
        "推升資安卓越，至 2025 年促進臺灣成為亞洲區高階資安人才及技術創新基地，5G 網路安全水準達世界領先地位。",
        [],
        1,
    ),
    (
        "參/三/(二)",
        "數位關鍵技術",
        "打造臺灣成為亞洲「高階製造、半導體先進製程」中心，至2025年至少吸引1家國際大廠來臺設立 Demo Lab。",
        [],
        13,
    ),
    ("參/三/(三)", "數位關鍵技術", "吸引國際大廠來臺設立 Demo Lab、推動國際級領導廠商在臺前瞻研究布局", [], 0),
    ("參/三/(四)", "數位關鍵技術", "打造臺灣成為 5G 創新應用領先國，深化產業創新，驅動數位轉型之核心動能。", [], 1),
    (
        "參/四/(一)",
        "產業轉型基盤",
        "以雲端平臺促進重點領域產業包括文化科技、農業等轉型，至 2024 年至少開發商轉 6 個具產業影響力的數位平臺，"
        "帶動所涉領域中小企業新增營收累計達 20 億元",
        [],
        16,
    ),
    (
        "參/四/(二)",
        "產業轉型基盤",
        "推升數位軟體之創新與應用，提升電腦及資訊服務業年營業額",
        ["經濟部產業發展署", "數位發展部數位產業署"],
        1,
    ),
    ("肆/二/(一)", "建構資料治理生態系", "精進政府資料品質，優先聚焦開放高價值資料及建立資料應用典範", [], 9),
    ("肆/二/(二)", "建構資料治理生態系", "強化民眾資料自主應用機制，推動數位服務個人化服務", [], 3),
    (
        "肆/三/(一)",
        "推升智慧政府服務",
        "改善政府數位施政效能及為民服務品質，行政院各部會每年至少完成 1 項運用大數據或 AI 之政策措施",
        [],
        28,
    ),
    (
        "肆/三/(二)",
        "推升智慧政府服務",
        "推動服務型智慧政府，預計至 2025 年新興科技應用之智慧服務民眾使用普及率達 60%。",
        [],
        13,
    ),
    ("肆/五/(一)", "促進公民協力參與", "推動資料開放與資訊公開", [], 0),
    ("肆/五/(二)", "促進公民協力參與", "擴大公共參與機制", [], 0),
    ("肆/五/(三)", "促進公民協力參與", "增加性別及族群包容性對話", [], 0),
    ("肆/五/(四)", "促進公民協力參與", "落實清廉施政", [], 0),
    ("肆/五/(五)", "促進公民協力參與", "執行洗錢防制", [], 0),
]


def test_every_measure_under_its_parent_with_its_agencies_and_subprojects(outline):
    measures = [
        (key, parent["title"], node["title"], node["lead_agencies"], subprojects_below(node))
        for key, (node, parent) in outline.items()
        if node["kind"] == "measure"
    ]

    assert measures == MEASURES


# Sub-projects that stand right under their strategy section (no measure between), by section: the tagged (一)
# entries of the sections whose (一) entries are not measures. Beside a measure, a tagged (一) entry is a measure.
SUBPROJECTS_UNDER_STRATEGIES = {
    "貳/二": ["(一)", "(二)", "(三)", "(四)", "(五)"],
    "貳/三": [],
    "貳/四": [],
    "貳/五": [],
    "貳/六": ["(一)", "(二)", "(三)"],
    "貳/七": ["(一)", "(二)"],
    "參/二": [],
    "參/三": [],
    "參/四": [],
    "肆/二": [],
    "肆/三": [],
    "肆/四": ["(一)", "(二)"],
    "肆/五": [],
    "伍/二": ["(一)", "(二)", "(三)", "(四)"],
    "伍/三": ["(一)", "(二)", "(三)", "(四)", "(五)", "(六)", "(七)", "(八)", "(九)", "(十)", "(十一)"],
    "伍/四": ["(一)", "(二)", "(三)", "(四)", "(五)", "(六)"],
}


def test_subprojects_right_under_their_strategy_stay_there(outline):
    strategies = {key: node for key, (node, _) in outline.items() if node["kind"] == "strategy"}

    assert {
        key: [child["number"] for child in strategy.get("children", []) if child["kind"] == "subproject"]
        for key, strategy in strategies.items()
    } == SUBPROJECTS_UNDER_STRATEGIES


# The tagged (一) entries with no titled entries below them that stand beside a measure, short titles and long.
MEASURES_CARRYING_THEIR_OWN_WORK = [
    "貳/三/(一)",
    "貳/三/(二)",
    "貳/三/(三)",
    "貳/三/(四)",
    "參/二/(二)",
    "參/二/(三)",
    "參/二/(四)",
    "參/二/(五)",
    "參/二/(六)",
    "參/二/(七)",
    "參/二/(八)",
    "參/四/(二)",
]


def test_a_tagged_measure_beside_measures_holds_its_agencies_work_as_its_one_subproject(outline):
    carrying = [
        key
        for key, (node, parent) in outline.items()
        if node["kind"] == "measure"
        and parent["kind"] == "strategy"
        and node["lead_agencies"]
        and [child["key"] for child in node.get("children", [])] == [f"{key}/1"]
    ]
    assert carrying == MEASURES_CARRYING_THEIR_OWN_WORK

    for key in carrying:
        measure, _ = outline[key]
        (work,) = measure["children"]
        assert (work["kind"], work["number"], work["title"]) == ("subproject", "", measure["title"]), key
        assert work["lead_agencies"] == measure["lead_agencies"], key
    short, _ = outline["參/二/(四)"]
    assert short["title"] == "推動多元的運動數據應用發展"
    # every (一) entry of these sections is a measure
    for section in ("貳/三", "參/二", "參/四"):
        strategy, _ = outline[section]
        assert {child["kind"] for child in strategy["children"]} == {"measure"}, section


def test_a_bulleted_list_of_measures_gives_one_measure_per_item(outline):
    strategy, group = outline["肆/五"]

    assert group["title"] == "數位治理分組"
    assert [(child["kind"], child["number"], child["title"]) for child in strategy["children"]] == [
        ("measure", "(一)", "推動資料開放與資訊公開"),
        ("measure", "(二)", "擴大公共參與機制"),
        ("measure", "(三)", "增加性別及族群包容性對話"),
        ("measure", "(四)", "落實清廉施政"),
        ("measure", "(五)", "執行洗錢防制"),
    ]


def test_every_subproject_has_a_lead_agency_under_a_strategy_or_a_measure(outline):
    for node, parent in outline.values():
        if node["kind"] == "subproject":
            assert node["lead_agencies"], node["key"]
            assert parent["kind"] in ("strategy", "measure", "subproject"), node["key"]
            assert node["key"].startswith(parent["key"] + "/"), node["key"]
