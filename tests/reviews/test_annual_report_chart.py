"""Chapters other apps add to the annual report, and its bar charts: a native chart in the Word document (a
DrawingML chart part with its figures cached and an embedded workbook), a table and text bars in Markdown."""

import io
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from gstp.calendar import Calendar, format_year
from reviews.annual import Chart, Heading, Paragraph, Row, Series, Table, chapters, chinese_numeral, numbered
from reviews.annual.docx import EAST_ASIAN_FONT, LATIN_FONT, render_docx
from reviews.annual.markdown import render_markdown
from tests.reviews.test_annual_report import as_docx, build, headings, md_headings, programme  # noqa: F401 (a fixture)

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
}
GRADES = ("優等", "甲等", "乙等", "丙等")
BY_GROUP = {"數位基盤分組": (3, 5, 2, 0), "數位創新分組": (1, 4, 2, 1)}
TOTALS = (4, 9, 4, Decimal("1.5"))
REPORT_OWN_HEADINGS = [
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

# The order of the children the chart schema (ECMA-376 Part 1, dml-chart.xsd) allows, for the elements written.
SCHEMA_ORDER = {
    "chartSpace": ["date1904", "lang", "roundedCorners", "style", "clrMapOvr", "pivotSource", "protection", "chart"]
    + ["spPr", "txPr", "externalData", "printSettings", "userShapes", "extLst"],
    "chart": ["title", "autoTitleDeleted", "pivotFmts", "view3D", "floor", "sideWall", "backWall", "plotArea"]
    + ["legend", "plotVisOnly", "dispBlanksAs", "showDLblsOverMax", "extLst"],
    "plotArea": ["layout", "barChart", "catAx", "valAx", "dTable", "spPr", "extLst"],
    "barChart": ["barDir", "grouping", "varyColors", "ser", "dLbls", "gapWidth", "overlap", "serLines", "axId"]
    + ["extLst"],
    "ser": ["idx", "order", "tx", "spPr", "invertIfNegative", "pictureOptions", "dPt", "dLbls", "trendline"]
    + ["errBars", "cat", "val", "shape", "extLst"],
    "dLbls": ["dLbl", "delete", "numFmt", "spPr", "txPr", "dLblPos", "showLegendKey", "showVal", "showCatName"]
    + ["showSerName", "showPercent", "showBubbleSize", "separator", "showLeaderLines", "leaderLines", "extLst"],
    "catAx": ["axId", "scaling", "delete", "axPos", "majorGridlines", "minorGridlines", "title", "numFmt"]
    + ["majorTickMark", "minorTickMark", "tickLblPos", "spPr", "txPr", "crossAx", "crosses", "crossesAt", "auto"]
    + ["lblAlgn", "lblOffset", "tickLblSkip", "tickMarkSkip", "noMultiLvlLbl", "extLst"],
    "valAx": ["axId", "scaling", "delete", "axPos", "majorGridlines", "minorGridlines", "title", "numFmt"]
    + ["majorTickMark", "minorTickMark", "tickLblPos", "spPr", "txPr", "crossAx", "crosses", "crossesAt"]
    + ["crossBetween", "majorUnit", "minorUnit", "dispUnits", "extLst"],
    "scaling": ["logBase", "orientation", "max", "min", "extLst"],
    "title": ["tx", "layout", "overlay", "spPr", "txPr", "extLst"],
    "legend": ["legendPos", "legendEntry", "layout", "overlay", "spPr", "txPr", "extLst"],
    "strRef": ["f", "strCache", "extLst"],
    "numRef": ["f", "numCache", "extLst"],
    "strCache": ["ptCount", "pt", "extLst"],
    "numCache": ["formatCode", "ptCount", "pt", "extLst"],
}
REQUIRED = {
    "chartSpace": {"chart"},
    "chart": {"plotArea"},
    "barChart": {"barDir", "axId"},
    "ser": {"idx", "order"},
    "catAx": {"axId", "scaling", "axPos", "crossAx"},
    "valAx": {"axId", "scaling", "axPos", "crossAx"},
    "numCache": {"ptCount"},
    "strCache": {"ptCount"},
}


# ---------------------------------------------------------------------------------------------- the chapters


calls = []


def grades_chapter(*, plan, year, user, number):
    calls.append((plan.code, year, user.username, number))
    return [
        Heading(1, numbered(number, f"{format_year(year)} 年考評結果")),
        Paragraph("各分組子計畫考評等第如下。"),
        Heading(2, numbered(chinese_numeral(1), "各分組考評等第")),
        Table(
            columns=("分組", *GRADES),
            rows=tuple(Row((group, *map(str, counts))) for group, counts in BY_GROUP.items()),
            caption="表 1 各分組考評等第",
        ),
        Chart(
            title="各分組考評等第分布",
            categories=GRADES,
            series=tuple(Series(group, counts) for group, counts in BY_GROUP.items()),
            category_label="等第",
            value_label="子計畫數",
            caption="圖 1 各分組考評等第分布",
        ),
        Heading(2, numbered(chinese_numeral(2), "全體考評等第")),
        Chart(title="全體考評等第", categories=GRADES, series=(Series("子計畫數", TOTALS),), category_label="等第"),
    ]


def silent_chapter(*, plan, year, user, number):
    return []  # nothing to say this year: it takes no number


def notes_chapter(*, plan, year, user, number):
    return [Heading(1, numbered(number, "附記")), Paragraph("本章由另一應用程式提供。")]


@pytest.fixture
def registry():
    """The chapter registry holding only what the test registers, and as it was again after the test."""
    before = chapters.registered()
    for builder in before:
        chapters.unregister(builder)
    yield chapters
    for builder in chapters.registered():
        chapters.unregister(builder)
    for builder in before:
        chapters.register(builder)


@pytest.fixture
def added_chapters(registry):
    calls.clear()
    for builder in (grades_chapter, silent_chapter, notes_chapter):
        registry.register(builder)


def test_added_chapters_follow_the_reports_own_in_the_order_registered(programme, added_chapters):  # noqa: F811
    report = build(programme["plan"])

    expected = [*REPORT_OWN_HEADINGS, (1, "伍、2024 年考評結果"), (2, "一、各分組考評等第"), (2, "二、全體考評等第")]
    expected.append((1, "陸、附記"))
    assert headings(as_docx(report)) == expected
    assert md_headings(render_markdown(report)) == expected
    assert calls == [("smart-nation", 2024, "annual-report", "伍")]


def test_an_added_chapter_writes_in_the_reports_calendar(programme, added_chapters):  # noqa: F811
    report = build(programme["plan"], calendar=Calendar.ROC)

    assert (1, "伍、113 年考評結果") in headings(as_docx(report))


def test_registering_twice_adds_the_chapter_once_and_unregistering_removes_it(programme, registry):  # noqa: F811
    registry.register(notes_chapter)
    registry.register(notes_chapter)

    assert registry.registered() == (notes_chapter,)
    assert headings(as_docx(build(programme["plan"])))[-1] == (1, "伍、附記")

    registry.unregister(notes_chapter)

    assert registry.registered() == ()
    assert headings(as_docx(build(programme["plan"]))) == REPORT_OWN_HEADINGS


def test_a_chapter_reading_nothing_adds_no_query(programme, registry, django_assert_num_queries):  # noqa: F811
    with CaptureQueriesContext(connection) as alone:
        build(programme["plan"])
    registry.register(notes_chapter)

    with django_assert_num_queries(len(alone)):
        build(programme["plan"])


def test_the_download_holds_the_added_chapters(programme, added_chapters, reader_client):  # noqa: F811
    response = reader_client.get("/reports/annual/2024.md")

    assert response.status_code == 200
    assert "## 伍、2024 年考評結果" in response.content.decode()
    assert calls == [("smart-nation", 2024, "reader", "伍")]


# ---------------------------------------------------------------------------------------------- the Word chart


def chart_parts(document):
    """The chart parts the document part relates to, in the order they are drawn, with their relationship ids."""
    drawn = document.element.body.xpath(
        "//w:drawing/wp:inline/a:graphic/a:graphicData[@uri='http://schemas.openxmlformats.org/drawingml/2006/chart']"
        "/c:chart/@r:id"
    )
    relationships = {rel.rId: rel for rel in document.part.rels.values() if rel.reltype == RT.CHART}
    assert sorted(drawn) == sorted(relationships)
    return [(rid, relationships[rid].target_part) for rid in drawn]


def local(element):
    return etree.QName(element).localname


def assert_schema_order(root):
    """Every element written has its children in the schema's order, and the children the schema requires."""
    for element in root.iter(f"{{{NS['c']}}}*"):
        name = local(element)
        if name not in SCHEMA_ORDER:
            continue
        order = SCHEMA_ORDER[name]
        children = [local(child) for child in element]
        assert set(children) <= set(order), (name, children)
        places = [order.index(child) for child in children]
        assert places == sorted(places), (name, children)
        assert REQUIRED.get(name, set()) <= set(children), (name, children)


def series_of(chart_space):
    """(name, categories, values) of each series, read from the chart's caches."""
    return [
        (
            series.xpath("string(c:tx/c:strRef/c:strCache/c:pt/c:v)", namespaces=NS),
            tuple(series.xpath("c:cat/c:strRef/c:strCache/c:pt/c:v/text()", namespaces=NS)),
            tuple(Decimal(value) for value in series.xpath("c:val/c:numRef/c:numCache/c:pt/c:v/text()", namespaces=NS)),
        )
        for series in chart_space.iterfind(".//c:barChart/c:ser", NS)
    ]


def test_the_word_document_holds_native_charts_with_their_figures(programme, added_chapters):  # noqa: F811
    document = as_docx(build(programme["plan"]))

    (first_id, first), (second_id, second) = chart_parts(document)
    assert (str(first.partname), str(second.partname)) == ("/word/charts/chart1.xml", "/word/charts/chart2.xml")
    assert (
        first.content_type == second.content_type == "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
    )

    space = etree.fromstring(first.blob)  # well-formed, or this raises
    assert local(space) == "chartSpace"
    assert_schema_order(space)
    assert space.xpath("string(c:chart/c:plotArea/c:barChart/c:barDir/@val)", namespaces=NS) == "col"
    assert series_of(space) == [(group, GRADES, tuple(map(Decimal, counts))) for group, counts in BY_GROUP.items()]
    assert space.xpath("string(c:chart/c:title//a:t)", namespaces=NS) == "各分組考評等第分布"
    axis_titles = space.xpath("c:chart/c:plotArea/*/c:title//a:t/text()", namespaces=NS)
    assert axis_titles == ["等第", "子計畫數"]
    assert len(space.findall("c:chart/c:legend", NS)) == 1  # two series: a legend tells them apart
    # the two axes cross each other and are the bar chart's
    bar_axes = space.xpath("c:chart/c:plotArea/c:barChart/c:axId/@val", namespaces=NS)
    category_axis = space.find("c:chart/c:plotArea/c:catAx", NS)
    value_axis = space.find("c:chart/c:plotArea/c:valAx", NS)
    assert bar_axes == [category_axis.find("c:axId", NS).get("val"), value_axis.find("c:axId", NS).get("val")]
    assert category_axis.find("c:crossAx", NS).get("val") == bar_axes[1]
    assert value_axis.find("c:crossAx", NS).get("val") == bar_axes[0]
    # the report's fonts on all of the chart's text
    assert {font.get("typeface") for font in space.iterfind(".//a:ea", NS)} == {EAST_ASIAN_FONT}
    assert {font.get("typeface") for font in space.iterfind(".//a:latin", NS)} == {LATIN_FONT}
    assert space.find("c:lang", NS).get("val") == "zh-TW"

    single = etree.fromstring(second.blob)
    assert_schema_order(single)
    assert series_of(single) == [("子計畫數", GRADES, tuple(map(Decimal, TOTALS)))]
    assert single.find("c:chart/c:legend", NS) is None

    # the paragraph before each chart is its caption, as a table's
    paragraphs = document.paragraphs
    drawn_in = [index for index, paragraph in enumerate(paragraphs) if paragraph._p.xpath(".//c:chart")]
    assert [paragraphs[index - 1].text for index in drawn_in] == ["圖 1 各分組考評等第分布", "二、全體考評等第"]
    assert paragraphs[drawn_in[0] - 1].style.name == "Caption"
    assert document.styles["Caption"].paragraph_format.keep_with_next  # not left at the foot of a page
    assert document.element.body.xpath("//wp:docPr/@descr") == ["各分組考評等第分布", "全體考評等第"]
    assert len(set(document.element.body.xpath("//wp:docPr/@id"))) == 2
    assert first_id != second_id


def test_word_edits_the_chart_in_its_embedded_workbook(programme, added_chapters):  # noqa: F811
    document = as_docx(build(programme["plan"]))
    (_, part), _ = chart_parts(document)
    space = etree.fromstring(part.blob)

    workbook_id = space.find("c:externalData", NS).get(f"{{{NS['r']}}}id")
    relationship = part.rels[workbook_id]
    assert relationship.reltype == RT.PACKAGE
    assert relationship.target_part.content_type == CT.SML_SHEET
    sheet = openpyxl.load_workbook(io.BytesIO(relationship.target_part.blob)).active

    # the chart's references point at the workbook's cells holding the same figures
    def cells(reference):
        sheet_name, cells = reference.split("!")
        assert sheet_name == sheet.title
        found = sheet[cells.replace("$", "")]
        return [found.value] if not isinstance(found, tuple) else [cell.value for (cell,) in found]

    for series, (group, counts) in zip(space.iterfind(".//c:ser", NS), BY_GROUP.items(), strict=True):
        assert cells(series.findtext("c:tx/c:strRef/c:f", namespaces=NS)) == [group]
        assert cells(series.findtext("c:cat/c:strRef/c:f", namespaces=NS)) == list(GRADES)
        assert cells(series.findtext("c:val/c:numRef/c:f", namespaces=NS)) == list(counts)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice) to open the document")
def test_a_word_processor_draws_the_charts(programme, added_chapters, tmp_path):  # noqa: F811
    source = tmp_path / "report.docx"
    source.write_bytes(render_docx(build(programme["plan"])))

    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )

    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


# ---------------------------------------------------------------------------------------------- Markdown


def test_markdown_gives_the_figures_as_a_table_and_text_bars(programme, added_chapters):  # noqa: F811
    text = render_markdown(build(programme["plan"]))

    assert (
        "**圖 1 各分組考評等第分布**\n\n"
        "| 等第 | 數位基盤分組 | 數位創新分組 |\n"
        "| --- | --- | --- |\n"
        "| 優等 | 3 | 1 |\n"
        "| 甲等 | 5 | 4 |\n"
        "| 乙等 | 2 | 2 |\n"
        "| 丙等 | 0 | 1 |\n"
        "\n"
        "```\n"
        "優等 數位基盤分組 ████████████ 3\n"
        "     數位創新分組 ████ 1\n"
        "甲等 數位基盤分組 ████████████████████ 5\n"
        "     數位創新分組 ████████████████ 4\n"
        "乙等 數位基盤分組 ████████ 2\n"
        "     數位創新分組 ████████ 2\n"
        "丙等 數位基盤分組 0\n"
        "     數位創新分組 ████ 1\n"
        "```"
    ) in text
    assert (
        "**全體考評等第**\n\n"
        "| 等第 | 子計畫數 |\n"
        "| --- | --- |\n"
        "| 優等 | 4 |\n"
        "| 甲等 | 9 |\n"
        "| 乙等 | 4 |\n"
        "| 丙等 | 1.5 |\n"
        "\n"
        "```\n"
        "優等 ████████▉ 4\n"
        "甲等 ████████████████████ 9\n"
        "乙等 ████████▉ 4\n"
        "丙等 ███▍ 1.5\n"
        "```"
    ) in text
    assert "| 數位基盤分組 | 3 | 5 | 2 | 0 |" in text  # the chapter's own table


def test_a_chart_needs_a_value_for_each_category():
    with pytest.raises(ValueError, match="3 values for 4 categories"):
        Chart(title="等第", categories=GRADES, series=(Series("子計畫數", (1, 2, 3)),))
    with pytest.raises(ValueError, match="at least one"):
        Chart(title="等第", categories=GRADES, series=())
