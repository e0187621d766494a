"""The annual report draft (階段成果報告): its structure against the seed report, its figures against the
database and the API, the Word document read back, the command and the download view.
"""

import datetime
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import Role
from indicators.models import Measure
from indicators.services import outline_import
from projects.models import NodeKind, PlanNode
from projects.outline import read_outline
from reviews.annual import annual_report_build, publication_reader
from reviews.annual.docx import EAST_ASIAN_FONT, render_docx
from reviews.annual.markdown import render_markdown
from reviews.annual.wording import evidence_text
from reviews.management.commands.export_report import Command as ExportReportCommand
from reviews.models import ACTIVE_STATUSES, FlagStatus, LagFlag, LagRule, Severity
from reviews.periods import Quarter
from tests.accounts.factories import UserFactory
from tests.indicators.factories import IndicatorActualFactory, IndicatorFactory
from tests.projects.factories import AgencyFactory, NodeFactory, PlanFactory, SubprojectFactory
from tests.reviews.factories import LagFlagFactory, QuarterlyReportFactory

YEAR = 2024
D = Decimal
SHIPPED_OUTLINE = Path(__file__).resolve().parents[2] / "projects" / "data" / "smart-nation-2024.json"
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# ---------------------------------------------------------------------------------------------- a small programme


def add_indicator(plan, node=None, *, key, name, unit="", targets=(), actuals=(), **fields):
    """An indicator with (year, quarter, value) targets and (year, quarter, value, is_estimate) actuals."""
    return IndicatorFactory(
        plan=plan, node=node, key=key, name=name, unit=unit, targets=targets, actuals=actuals, **fields
    )


def add_subproject(plan, parent, *, number, title, agencies, position=0):
    """A sub-project led by ``agencies``, in that order."""
    return SubprojectFactory(parent=parent, number=number, title=title, position=position, lead_agency=agencies)


def add_flag(node, *, rule, severity, status=FlagStatus.OPEN, year=YEAR, quarter=3, evidence=None):
    now = timezone.now()
    return LagFlagFactory(
        node=node,
        rule=rule,
        period=Quarter(year, quarter),
        severity=severity,
        status=status,
        evidence=evidence or {},
        opened_at=now,
        resolved_at=now if status == FlagStatus.RESOLVED else None,
    )


@pytest.fixture
def programme(db):
    """Two groups (the second created first, so plan order is by position, not by id), each with a strategy
    section and a measure; sub-projects with lead agencies, reports, indicators and flags."""
    plan = PlanFactory(code="smart-nation", name="智慧國家方案", secretariat="國家科學及技術委員會")
    moda = AgencyFactory(name="數位發展部")
    industry = AgencyFactory(name="數位發展部數位產業署", parent=moda)
    moea = AgencyFactory(name="經濟部")

    innovation = NodeFactory(plan=plan, number="參", title="數位創新分組", convening_agency=moea)
    innovation.position = 1
    innovation.save()
    infrastructure = NodeFactory(plan=plan, number="貳", title="數位基盤分組", convening_agency=moda)
    broadband = NodeFactory(
        plan=plan, kind=NodeKind.STRATEGY, parent=infrastructure, number="二", title="5G 寬頻基礎建設與實證"
    )
    coverage = NodeFactory(plan=plan, kind=NodeKind.MEASURE, parent=broadband, number="(一)", title="提升寬頻涵蓋")
    fiber = add_subproject(
        plan, coverage, number="1", title="超高速寬頻網路普及", agencies=[moda, industry], position=0
    )
    mountains = add_subproject(plan, coverage, number="2", title="改善山區行動通訊品質", agencies=[moda], position=1)
    economy = NodeFactory(plan=plan, kind=NodeKind.STRATEGY, parent=innovation, number="二", title="擴大數位經濟")
    startups = add_subproject(plan, economy, number="(一)", title="新創生態鏈結", agencies=[moea])

    add_indicator(
        plan,
        key="overall/1",
        name="數位經濟規模",
        dimension="創新數位經濟",
        unit="兆元",
        is_cumulative=True,
        position=0,
        targets=[(2025, 0, "6.5")],
        actuals=[(2023, 0, "8.2", False), (2024, 0, "9.3", True)],
    )
    add_indicator(
        plan,
        key="overall/2",
        name="高速網路寬頻服務達 2Gbps 涵蓋率",
        dimension="優勢寬頻環境",
        unit="%",
        measure=Measure.PERCENTAGE,
        is_cumulative=True,
        position=1,
        targets=[(2025, 0, "90")],
        actuals=[(2024, 0, "83.3", False)],
    )
    add_indicator(
        plan,
        infrastructure,
        key="貳/target/1",
        name="運用大數據或 AI 之政策措施",
        unit="項",
        position=1,
        targets=[(2024, 0, "43")],
        actuals=[(2024, 0, "43", False)],
    )
    qualitative = add_indicator(
        plan, infrastructure, key="貳/target/2", name="推動資料傳輸平臺", measure=Measure.QUALITATIVE, position=2
    )
    IndicatorActualFactory(indicator=qualitative, year=YEAR, text="已有 63 個機關介接")
    add_indicator(
        plan,
        fiber,
        key="fiber/usage",
        name="服務使用人次",
        unit="人次",
        is_cumulative=True,
        baseline_year=2023,
        baseline_value=D(1000),
        targets=[(2024, 0, "1600"), (2025, 0, "2200")],
        actuals=[(2024, 2, "1350", False), (2024, 4, "1700", False)],
    )
    add_indicator(
        plan,
        mountains,
        key="mountains/usage",
        name="基地臺數",
        unit="座",
        is_cumulative=True,
        targets=[(2024, 0, "50")],
        actuals=[(2024, 4, "40", False)],
    )

    # fiber: Q2 and Q3 accepted (Q3 is the year's latest accepted), Q4 only submitted
    QuarterlyReportFactory(
        node=fiber,
        period=Quarter(YEAR, 2),
        accepted=True,
        planned_progress=D("25"),
        actual_progress=D("25"),
        achievements="第二季成果",
    )
    QuarterlyReportFactory(
        node=fiber,
        period=Quarter(YEAR, 3),
        accepted=True,
        planned_progress=D("37.5"),
        actual_progress=D("31"),
        budget_allocated=D("500000"),
        budget_spent=D("400000"),
        budget_payables=D("25000"),
        budget_savings=D("5000"),
        achievements="完成 120 處基地臺建置\n完成偏鄉 30 處涵蓋",
        delay_reasons="採購延宕",
        countermeasures="按月追蹤",
    )
    QuarterlyReportFactory(node=fiber, period=Quarter(YEAR, 4), submitted=True, achievements="尚未審查")
    # mountains: nothing accepted this year, only last year
    QuarterlyReportFactory(node=mountains, period=Quarter(YEAR - 1, 4), accepted=True, achievements="去年成果")

    add_flag(
        fiber,
        rule=LagRule.PROGRESS_GAP,
        severity=Severity.YELLOW,
        quarter=3,
        evidence={
            "rule": "progress_gap",
            "period": "2024Q3",
            "planned_progress": "37.5",
            "actual_progress": "31",
            "gap": "-6.5",
            "yellow_at_or_below": "-5",
            "red_at_or_below": "-10",
        },
    )
    add_flag(
        fiber,
        rule=LagRule.BUDGET_EXECUTION,
        severity=Severity.RED,
        quarter=3,
        status=FlagStatus.ACKNOWLEDGED,
        evidence={
            "rule": "budget_execution",
            "period": "2024Q3",
            "budget_allocated": "500000",
            "budget_spent": "380000",
            "execution_rate": "76.00",
            "yellow_below": "90",
            "red_below": "80",
        },
    )
    add_flag(mountains, rule=LagRule.LATE_REPORT, severity=Severity.RED, quarter=2, status=FlagStatus.RESOLVED)
    add_flag(
        startups,
        rule=LagRule.LATE_REPORT,
        severity=Severity.RED,
        quarter=4,
        evidence={
            "rule": "late_report",
            "period": "2024Q4",
            "report_status": "missing",
            "due_on": "2025-01-10",
            "days_late": 21,
            "red_after": "2025-01-30",
        },
    )
    add_flag(startups, rule=LagRule.LATE_REPORT, severity=Severity.RED, year=YEAR - 1, quarter=4)  # another year
    return {
        "plan": plan,
        "groups": [infrastructure, innovation],
        "fiber": fiber,
        "mountains": mountains,
        "startups": startups,
    }


def build(plan, year=YEAR, user=None, **kwargs):
    return annual_report_build(plan=plan, year=year, user=user or publication_reader(), **kwargs)


def as_docx(report):
    return docx.Document(io.BytesIO(render_docx(report)))


def headings(document):
    """(level, text) of every Word heading, in order."""
    return [
        (int(paragraph.style.name.removeprefix("Heading ")), paragraph.text)
        for paragraph in document.paragraphs
        if paragraph.style.name.startswith("Heading ")
    ]


def md_headings(text):
    return [(len(marks) - 1, title) for marks, title in re.findall(r"^(#{2,6}) (.+)$", text, re.M)]


def table_rows(table):
    return [[cell.text for cell in row.cells] for row in table.rows]


def table_with_header(document, first_columns):
    for table in document.tables:
        header = [cell.text for cell in table.rows[0].cells]
        if header[: len(first_columns)] == list(first_columns):
            return table
    raise AssertionError(f"no table starting with {first_columns}")


def number_in(cell):
    """The number a cell states (9.3 兆元(預估值) -> 9.3)."""
    return D(re.match(r"[\d,.]+", cell).group(0).replace(",", ""))


# ---------------------------------------------------------------------------------------------- structure


def test_outline_follows_the_seed_report(programme):
    # when
    report = build(programme["plan"], generated_on=datetime.date(2025, 2, 10))
    document = as_docx(report)

    # then: title page, 壹、前言 with the overall table, each group in plan order with its summary section, its
    # strategy sections, measures and sub-projects numbered as in the tree and tagged with lead agencies, last the flags
    assert headings(document) == [
        (1, "壹、前言"),
        (2, "一、總體指標達成情形"),
        (1, "貳、數位基盤分組推動成果【召集部會：數位發展部】"),
        (2, "一、2024 年數位基盤整體推動效益"),
        (2, "二、5G 寬頻基礎建設與實證"),
        (3, "(一) 提升寬頻涵蓋"),
        (4, "1. 超高速寬頻網路普及【數位發展部、數位發展部數位產業署】"),
        (4, "2. 改善山區行動通訊品質【數位發展部】"),
        (1, "參、數位創新分組推動成果【召集部會：經濟部】"),
        (2, "一、2024 年數位創新整體推動效益"),
        (2, "二、擴大數位經濟"),
        (3, "(一) 新創生態鏈結【經濟部】"),
        (1, "肆、2024 年落後警示摘要"),
        (2, "一、各分組警示件數"),
        (2, "二、尚未解除之紅燈警示"),
    ]
    title, subtitle, compiled, generated = (paragraph.text for paragraph in document.paragraphs[:4])
    assert (title, subtitle, compiled, generated) == (
        "智慧國家方案(2021-2025 年)",
        "2024 年階段成果報告（草稿）",
        "國家科學及技術委員會彙編",
        "產製日期：2025 年 2 月 10 日",
    )
    assert document.paragraphs[0].style.name == "Title"


def test_markdown_carries_the_same_outline_as_the_word_document(programme):
    report = build(programme["plan"])

    text = render_markdown(report)

    assert text.startswith("# 智慧國家方案(2021-2025 年) 2024 年階段成果報告（草稿）\n")
    assert md_headings(text) == headings(as_docx(report))
    assert "##### 1. 超高速寬頻網路普及【數位發展部、數位發展部數位產業署】" in text.splitlines()


def test_shipped_plan_reads_like_the_seed_report(db, seed_report_path):
    # given the plan structure imported from the 2024 report
    plan = outline_import(document=read_outline(SHIPPED_OUTLINE)).plan
    seed_lines = {line.strip() for line in seed_report_path.read_text(encoding="utf-8").splitlines()}

    # when
    document = as_docx(build(plan))

    # then the group and strategy headings are the seed's own lines, in its order, and every sub-project has one
    found = headings(document)
    groups = [text for level, text in found if level == 1][1:-1]
    assert groups == [
        "貳、數位基盤分組推動成果【召集部會：數位發展部】",
        "參、數位創新分組推動成果【召集部會：經濟部】",
        "肆、數位治理分組推動成果【召集部會：數位發展部】",
        "伍、數位包容分組推動成果【召集部會：教育部】",
    ]
    assert set(groups) <= seed_lines
    sections = [text for level, text in found if level == 2 and not text.startswith("一、")]
    assert len(sections) == 16
    assert sum(text in seed_lines for text in sections) >= 12
    subproject_headings = [text for _level, text in found if text.endswith("】") and "召集部會" not in text]
    assert len(subproject_headings) == PlanNode.objects.subprojects().count() == 150
    assert "1. 政府資料開放，民間活化應用發展服務【數位發展部】" in subproject_headings
    assert "1. 政府資料開放，民間活化應用發展服務【數位發展部】" in seed_lines
    # the overall table gives the seed's figures
    overall = table_rows(table_with_header(document, ["項目"]))
    assert ["數位經濟規模", "6.5 兆元", "9.3 兆元(預估值)", "達成"] in overall
    assert ["高速網路寬頻服務達 2Gbps 涵蓋率", "90%", "83.3%", "未達成"] in overall
    assert ["5G 網路非偏鄉人口涵蓋率", "85%", "98.15%", "達成"] in overall
    # and 數位治理分組 its seven main performance targets
    targets = table_rows(table_with_header(document, ["項次", "主要績效目標"]))
    assert len(targets) == 1 + 7
    assert targets[3] == ["主要績效目標 3", "改善政府數位施政效能及為民服務品質", "43 項", "43 項", "達成"]


# ---------------------------------------------------------------------------------------------- figures


def test_overall_table_equals_the_plan_indicator_summary(programme, reader_client):
    plan = programme["plan"]
    api_rows = reader_client.get(f"/api/v1/plans/{plan.pk}/indicators/").json()

    document = as_docx(build(plan))
    rows = table_rows(table_with_header(document, ["項目"]))

    assert rows[0] == ["項目", "2025 年（總體指標）", "2024 年（達成情形）", "達成與否"]
    dimensions = [row[0] for row in rows[1:] if len(set(row)) == 1]  # a merged row repeats its one cell
    figures = [row for row in rows[1:] if len(set(row)) > 1]
    assert dimensions == ["創新數位經濟", "優勢寬頻環境"]
    assert len(figures) == len(api_rows) == 2
    for row, api in zip(figures, api_rows, strict=True):
        name, target, result, met = row
        assert api["result_year"] == YEAR
        assert name == api["name"]
        assert number_in(target) == D(api["target"])
        assert number_in(result) == D(api["result"])
        assert result.endswith(api["unit"] + "(預估值)") == api["result_is_estimate"]
        assert met == ("達成" if api["met"] else "未達成")
    assert figures == [
        ["數位經濟規模", "6.5 兆元", "9.3 兆元(預估值)", "達成"],
        ["高速網路寬頻服務達 2Gbps 涵蓋率", "90%", "83.3%", "未達成"],
    ]


def test_overall_result_is_the_years_own(programme):
    # the 2023 report shows 2023's figure, not the latest
    rows = table_rows(table_with_header(as_docx(build(programme["plan"], year=2023)), ["項目"]))

    assert ["數位經濟規模", "6.5 兆元", "8.2 兆元", "達成"] in rows
    assert ["高速網路寬頻服務達 2Gbps 涵蓋率", "90%", "—", "—"] in rows


def section_paragraphs(document, heading):
    """The body paragraphs under a heading, up to the next heading."""
    texts, inside = [], False
    for paragraph in document.paragraphs:
        if paragraph.style.name.startswith("Heading "):
            inside = paragraph.text == heading
        elif inside and paragraph.text:
            texts.append(paragraph.text)
    return texts


def test_subproject_shows_the_years_latest_accepted_report(programme):
    document = as_docx(build(programme["plan"]))

    fiber = section_paragraphs(document, "1. 超高速寬頻網路普及【數位發展部、數位發展部數位產業署】")
    assert fiber == [
        "執行進度（2024Q3 季報）：預定累計進度 37.5%，實際累計進度 31%（落後 6.5 個百分點）；"
        # (400,000 + 25,000 + 5,000) / 500,000 x 100 = 86 %
        "經費執行率 86%（累計實支 400,000 元、應付未付 25,000 元、節餘 5,000 元／累計分配 500,000 元）。",
        "推動成果：完成 120 處基地臺建置",
        "完成偏鄉 30 處涵蓋",
        "落後原因：採購延宕",
        "改善措施：按月追蹤",
    ]
    assert section_paragraphs(document, "2. 改善山區行動通訊品質【數位發展部】") == [
        "執行進度：2024 年尚無經審查之季報。"
    ]


def test_indicator_results_at_the_years_end(programme):
    document = as_docx(build(programme["plan"]))
    tables = [table_rows(table) for table in document.tables if table.rows[0].cells[0].text == "績效指標"]

    assert tables == [
        [
            ["績效指標", "目標值", "2024 年達成值", "達成情形"],
            ["服務使用人次", "1,600 人次", "1,700 人次", "達成"],
        ],
        [
            ["績效指標", "目標值", "2024 年達成值", "達成情形"],
            ["基地臺數", "50 座", "40 座", "未達成"],
        ],
    ]
    # in 2025 each is measured against its last target, due by then
    later = as_docx(build(programme["plan"], year=2025))
    rows = [table_rows(t) for t in later.tables if t.rows[0].cells[0].text == "績效指標"]
    assert rows[0][1] == ["服務使用人次", "2,200 人次", "1,700 人次", "未達成"]
    assert rows[1][1] == ["基地臺數", "50 座（2024 年）", "40 座", "未達成"]


def test_indicator_with_a_later_target_is_judged_on_its_trajectory(programme):
    add_indicator(
        programme["plan"],
        programme["startups"],
        key="startups/count",
        name="新創家數",
        unit="家",
        is_cumulative=True,
        baseline_year=2023,
        baseline_value=D(0),
        targets=[(2025, 0, "100")],
        actuals=[(2024, 4, "52", False)],
    )

    document = as_docx(build(programme["plan"]))

    rows = table_rows(document.tables[-2])
    assert rows[1] == ["新創家數", "100 家（2025 年）", "52 家", "未達成（進度符合預期）"]


def test_group_performance_targets(programme):
    document = as_docx(build(programme["plan"]))

    assert "數位基盤分組之主要績效目標共計 2 項，2024 年度各項績效目標之達成情形如下：" in section_paragraphs(
        document, "一、2024 年數位基盤整體推動效益"
    )
    assert table_rows(table_with_header(document, ["項次"])) == [
        ["項次", "主要績效目標", "目標值", "達成值", "達成情形"],
        ["主要績效目標 1", "運用大數據或 AI 之政策措施", "43 項", "43 項", "達成"],
        ["主要績效目標 2", "推動資料傳輸平臺", "—", "已有 63 個機關介接", "質化目標"],
    ]


def test_flag_counts_equal_the_flags_of_the_year(programme):
    plan = programme["plan"]
    document = as_docx(build(plan))
    rows = table_rows(table_with_header(document, ["分組", "燈號"]))

    header, body = rows[0], rows[1:]
    rules = ["季報逾期", "查核點逾期", "進度落後", "經費執行落後", "績效指標落後", "部會初核逾期", "偏離原計畫"]
    assert header == ["分組", "燈號", *rules, "合計"]
    expected = {}
    for group in programme["groups"]:
        counted = (
            LagFlag.objects.filter(year=YEAR, node__path__startswith=group.path)
            .values("severity", "rule")
            .annotate(n=Count("id"))
        )
        for row in counted:
            expected[(group.title, row["severity"], row["rule"])] = row["n"]
    severity_of = {"黃燈": Severity.YELLOW, "紅燈": Severity.RED}
    for row in body:
        group, light, *cells, total = row
        counts = [expected.get((group, severity_of[light], rule), 0) for rule in LagRule]
        if group == "合計":
            counts = [
                sum(expected.get((g.title, severity_of[light], rule), 0) for g in programme["groups"])
                for rule in LagRule
            ]
        assert [int(cell) for cell in cells] == counts, row
        assert int(total) == sum(counts)
    assert [row[:2] for row in body] == [
        ["數位基盤分組", "黃燈"],
        ["數位基盤分組", "紅燈"],
        ["數位創新分組", "黃燈"],
        ["數位創新分組", "紅燈"],
        ["合計", "黃燈"],
        ["合計", "紅燈"],
    ]
    assert sum(int(row[-1]) for row in body if row[0] == "合計") == LagFlag.objects.filter(year=YEAR).count() == 4


def test_open_red_flags_are_listed_one_line_each_with_their_evidence(programme):
    document = as_docx(build(programme["plan"]))
    lines = [paragraph.text for paragraph in document.paragraphs if paragraph.style.name == "List Bullet"]

    open_red = LagFlag.objects.filter(year=YEAR, severity=Severity.RED, status__in=ACTIVE_STATUSES)
    assert len(lines) == open_red.count() == 2
    assert lines == [
        "數位基盤分組／1. 超高速寬頻網路普及【數位發展部、數位發展部數位產業署】：經費執行落後（2024Q3，已確認），"
        # a flag raised before payables and savings counted: none shown as 0
        "經費執行率 76%（累計實支 380,000 元、應付未付 0 元、節餘 0 元／累計分配 500,000 元；紅燈門檻 80%）",
        "數位創新分組／(一) 新創生態鏈結【經濟部】：季報逾期（2024Q4，待處理），"
        "應於 2025-01-10 前提報，逾期 21 日，季報狀態：未提報",
    ]
    assert "2024 年各季之紅燈警示，截至產製日仍未解除者計 2 件：" in [p.text for p in document.paragraphs]


def test_a_ministrys_overdue_endorsement_is_counted_in_its_column_and_listed_when_red(programme):
    # given the ministry has left the fiber sub-project's Q4 report unendorsed for 30 days
    add_flag(
        programme["fiber"],
        rule=LagRule.REVIEW_OVERDUE,
        severity=Severity.RED,
        quarter=4,
        evidence={
            "rule": "review_overdue",
            "period": "2024Q4",
            "report": 1,
            "submitted_on": "2025-01-08",
            "days_waiting": 30,
            "threshold_days": 14,
            "red_over_days": 28,
            "reminder_days": 7,
            "reviewing_ministries": [{"id": 1, "name": "數位發展部"}],
        },
    )

    document = as_docx(build(programme["plan"]))

    rows = table_rows(table_with_header(document, ["分組", "燈號"]))
    column = rows[0].index("部會初核逾期")
    assert [row[column] for row in rows[1:]] == ["0", "1", "0", "0", "0", "1"]
    lines = [paragraph.text for paragraph in document.paragraphs if paragraph.style.name == "List Bullet"]
    assert (
        "數位基盤分組／1. 超高速寬頻網路普及【數位發展部、數位發展部數位產業署】：部會初核逾期（2024Q4，待處理），"
        "季報於 2025-01-08 提報，已待數位發展部初核 30 日（逾 14 日列為警示）"
    ) in lines


def test_a_year_without_flags_says_so(programme):
    text = render_markdown(build(programme["plan"], year=2022))

    assert "2022 年無落後警示。" in text
    assert "各分組警示件數" not in text


@pytest.mark.parametrize(
    ("rule", "evidence", "expected"),
    [
        (
            LagRule.MILESTONE_OVERDUE,
            {
                "title": "系統建置完成",
                "planned_date": "2024-06-30",
                "forecast_date": "2026-03-31",
                "days_overdue": 120,
                "is_critical": True,
                "red_over_days": 90,
                "red_because": ["over_red_days", "critical", "forecast_beyond_end"],
                "overdue_milestones": 2,
            },
            "查核點「系統建置完成」預定 2024-06-30 完成，逾期 120 日，預估 2026-03-31 完成"
            "（逾期逾 90 日、關鍵查核點、預估完成日晚於計畫結束日），另有 1 個查核點逾期",
        ),
        (
            LagRule.PROGRESS_GAP,
            {
                "planned_progress": "50.00",
                "actual_progress": "38.00",
                "gap": "-12.00",
                "red_at_or_below": "-10",
                "escalated": {"reason": "consecutive_quarters", "previous_period": "2024Q2"},
            },
            "預定累計進度 50%，實際累計進度 38%，差距 -12 個百分點（紅燈門檻 -10 個百分點）"
            "；連續兩季黃燈（前一季 2024Q2）轉為紅燈",
        ),
        (
            LagRule.INDICATOR_BEHIND,
            {
                "name": "服務使用人次",
                "actual": "1740",
                "expected": "1932.876712328767123287671233",
                "target": "2500",
                "target_year": 2025,
                "ratio": "0.6952",
            },
            "績效指標「服務使用人次」達成值 1,740，預期值 1,932.88，目標值 2,500（2025 年），進度比 0.6952",
        ),
        (
            LagRule.LATE_REPORT,
            {
                "report_status": "returned",
                "due_on": "2024-10-10",
                "days_late": 40,
                "days_since_returned": 15,
            },
            "應於 2024-10-10 前提報，逾期 40 日，季報狀態：退回修正；退回後 15 日未再提報",
        ),
        (
            LagRule.REVIEW_OVERDUE,
            {
                "report": 7,
                "submitted_on": "2024-10-20",
                "days_waiting": 26,
                "threshold_days": 14,
                "red_over_days": 28,
                "reminder_days": 7,
                "reviewing_ministries": [{"id": 3, "name": "數位發展部"}, {"id": 5, "name": "經濟部"}],
            },
            "季報於 2024-10-20 提報，已待數位發展部、經濟部初核 26 日（逾 14 日列為警示）",
        ),
        (
            LagRule.REVIEW_OVERDUE,
            {"submitted_on": "2024-10-20", "days_waiting": 26, "threshold_days": 14, "reviewing_ministries": []},
            "季報於 2024-10-20 提報，已待部會初核 26 日（逾 14 日列為警示）",
        ),
        (LagRule.BUDGET_EXECUTION, {"rule": "budget_execution"}, ""),  # evidence without its figures
    ],
)
def test_evidence_in_one_sentence(rule, evidence, expected):
    assert evidence_text(rule, evidence) == expected


# ---------------------------------------------------------------------------------------------- the Word document


def test_word_document_uses_a_cjk_font_real_tables_and_a4(programme):
    document = as_docx(build(programme["plan"]))

    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4", "List Bullet"):
        fonts = document.styles[name].element.rPr.find(f"{W_NS}rFonts")
        assert fonts.get(f"{W_NS}eastAsia") == EAST_ASIAN_FONT, name
        assert fonts.get(f"{W_NS}eastAsiaTheme") is None, name
    defaults = document.styles.element.find(f"{W_NS}docDefaults").find(f"{W_NS}rPrDefault").find(f"{W_NS}rPr")
    assert defaults.find(f"{W_NS}rFonts").get(f"{W_NS}eastAsia") == EAST_ASIAN_FONT
    assert defaults.find(f"{W_NS}lang").get(f"{W_NS}eastAsia") == "zh-TW"
    assert all(table.style.name == "Table Grid" for table in document.tables)
    assert len(document.tables) == 5  # overall, group targets, two sub-project indicators, flag counts
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert document.core_properties.title == "智慧國家方案(2021-2025 年) 2024 年階段成果報告（草稿）"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice) to open the document")
def test_a_word_processor_opens_the_document(programme, tmp_path):
    source = tmp_path / "report.docx"
    source.write_bytes(render_docx(build(programme["plan"])))

    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "txt:Text (encoded):UTF8",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )

    text = (tmp_path / "report.txt").read_text(encoding="utf-8-sig")
    assert "貳、數位基盤分組推動成果【召集部會：數位發展部】" in text
    assert "1. 超高速寬頻網路普及【數位發展部、數位發展部數位產業署】" in text
    assert "9.3 兆元(預估值)" in text


def test_generation_date_is_taipeis(programme, monkeypatch):
    # 2025-01-31 17:00 UTC is already 1 February in Taipei
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2025, 1, 31, 17, tzinfo=datetime.UTC))

    report = build(programme["plan"])

    assert report.generated_on == datetime.date(2025, 2, 1)
    assert "產製日期：2025 年 2 月 1 日" in render_markdown(report)


def test_markdown_escapes_what_it_would_read_as_markup(programme):
    fiber = programme["fiber"]
    fiber.title = "AI * 5G | 雲端_平臺"
    fiber.save()

    text = render_markdown(build(programme["plan"]))

    assert "##### 1. AI \\* 5G | 雲端\\_平臺【數位發展部、數位發展部數位產業署】" in text
    assert "| 服務使用人次 | 1,600 人次 | 1,700 人次 | 達成 |" in text


# ---------------------------------------------------------------------------------------------- queries


def grow(programme, count):
    """``count`` more sub-projects under the first measure, each with an accepted report, an indicator and a flag."""
    plan, measure = programme["plan"], programme["fiber"].parent
    agency = AgencyFactory(name="經濟部")
    for index in range(count):
        node = add_subproject(plan, measure, number=str(index + 3), title=f"子計畫 {index}", agencies=[agency])
        QuarterlyReportFactory(node=node, period=Quarter(YEAR, 2), accepted=True)
        add_indicator(
            plan,
            node,
            key=f"grow/{index}",
            name="服務使用人次",
            targets=[(YEAR, 0, "10")],
            actuals=[(YEAR, 2, "4", False)],
        )
        add_flag(node, rule=LagRule.PROGRESS_GAP, severity=Severity.RED, quarter=2)


def test_query_count_does_not_grow_with_the_tree(programme, django_assert_num_queries):
    plan = programme["plan"]
    with CaptureQueriesContext(connection) as small:
        small_report = build(plan)
        render_docx(small_report)
        render_markdown(small_report)

    grow(programme, 12)

    with django_assert_num_queries(len(small)):
        large_report = build(plan)
        render_docx(large_report)
        render_markdown(large_report)
    subprojects = [line for line in render_markdown(large_report).splitlines() if line.startswith("##### ")]
    assert len(subprojects) == 2 + 12


def test_download_query_count_does_not_grow_with_the_tree(programme, secretariat_client, django_assert_num_queries):
    url = "/reports/annual/2024.docx"
    with CaptureQueriesContext(connection) as small:
        assert secretariat_client.get(url).status_code == 200

    grow(programme, 12)

    with django_assert_num_queries(len(small)):
        assert secretariat_client.get(url).status_code == 200


# ---------------------------------------------------------------------------------------------- the command


def test_command_writes_markdown_to_standard_output(programme):
    out = io.StringIO()

    call_command("export_report", "--year", "2024", "--format", "md", stdout=out)

    text = out.getvalue()
    assert text.startswith("# 智慧國家方案(2021-2025 年) 2024 年階段成果報告（草稿）")
    assert "## 貳、數位基盤分組推動成果【召集部會：數位發展部】" in text


def test_command_writes_a_word_document_named_after_the_report(programme, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()

    call_command("export_report", "--year", "2024", stdout=out)

    path = tmp_path / "smart-nation-2024-階段成果報告.docx"
    assert path.exists()
    assert str(path.name) in out.getvalue()
    document = docx.Document(str(path))
    assert document.paragraphs[1].text == "2024 年階段成果報告（草稿）"


def test_command_writes_to_the_output_given(programme, tmp_path):
    target = tmp_path / "draft.md"

    call_command(
        "export_report",
        "--year",
        "2024",
        "--format",
        "md",
        "--plan",
        "smart-nation",
        "--output",
        str(target),
        stdout=io.StringIO(),
    )

    assert target.read_text(encoding="utf-8").startswith("# 智慧國家方案")


def test_command_builds_the_report_as_a_reader_sees_it(programme):
    # a report waiting for review is not in the published draft even though the command has no user
    out = io.StringIO()

    call_command("export_report", "--year", "2024", "--format", "md", stdout=out)

    assert "尚未審查" not in out.getvalue()
    assert "2024Q3 季報" in out.getvalue()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--year", "2019"], "2019 is outside the years of 智慧國家方案 (2021-2025)."),
        (["--year", "2024", "--format", "pdf"], "Unknown format pdf: use docx or md."),
        (["--year", "2024", "--plan", "nowhere"], "There is no plan with the code nowhere."),
    ],
)
def test_command_errors_are_clear(programme, arguments, message):
    with translation.override("en"), pytest.raises(CommandError) as error:
        call_command("export_report", *arguments, stdout=io.StringIO())
    assert str(error.value) == message


def test_command_help_is_printable(db):
    parser = ExportReportCommand().create_parser("manage.py", "export_report")

    text = parser.format_help()

    assert "階段成果報告" in text
    assert "--format FORMAT" in text


def test_command_without_any_plan(db):
    with pytest.raises(CommandError):
        call_command("export_report", "--year", "2024", stdout=io.StringIO())


# ---------------------------------------------------------------------------------------------- the download


@pytest.mark.parametrize("client_name", ["secretariat_client", "reader_client"])
def test_secretariat_and_readers_download_the_word_document(programme, request, client_name):
    client = request.getfixturevalue(client_name)

    response = client.get("/reports/annual/2024.docx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert response["Content-Disposition"] == (
        'attachment; filename="smart-nation-2024-annual-report.docx"; '
        "filename*=UTF-8''smart-nation-2024-%E9%9A%8E%E6%AE%B5%E6%88%90%E6%9E%9C%E5%A0%B1%E5%91%8A.docx"
    )
    document = docx.Document(io.BytesIO(response.content))
    assert ("貳、數位基盤分組推動成果【召集部會：數位發展部】") in [p.text for p in document.paragraphs]


def test_markdown_download(programme, reader_client):
    response = reader_client.get("/reports/annual/2024.md", {"plan": "smart-nation"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert "filename*=UTF-8''smart-nation-2024-%E9%9A%8E" in response["Content-Disposition"]
    assert response.content.decode().startswith("# 智慧國家方案(2021-2025 年) 2024 年階段成果報告（草稿）")


def test_signed_in_person_downloads_with_a_session(programme):
    client = Client()
    client.force_login(UserFactory(username="secretariat-person", role=Role.SECRETARIAT))

    response = client.get("/reports/annual/2024.md")

    assert response.status_code == 200
    assert "參、數位創新分組推動成果【召集部會：經濟部】" in response.content.decode()


def test_a_lead_may_not_download(programme, lead_client):
    response = lead_client.get("/reports/annual/2024.docx")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "permission_denied"


def test_anonymous_is_asked_to_sign_in(programme, anonymous_client):
    response = anonymous_client.get("/reports/annual/2024.docx")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "url",
    [
        "/reports/annual/2024.pdf",
        "/reports/annual/2024.docx.zip",
        "/reports/annual/1999.docx",
        "/reports/annual/2024.docx?plan=nowhere",
    ],
)
def test_unknown_format_year_or_plan_is_a_json_404(programme, reader_client, url):
    response = reader_client.get(
        url, HTTP_ACCEPT="application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
