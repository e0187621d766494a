"""A bar chart in the Word document, as Word makes one: a chart part (DrawingML) drawn inline in a paragraph.

The chart part caches its categories and figures, so Word and LibreOffice draw it as they open the document,
and refers to the same figures in an embedded workbook, which is what Word opens to edit them. Its text is set
in the report's fonts: the chart does not take the document's styles.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import Part, XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, nsmap, qn
from docx.shared import Cm, Length
from lxml import etree
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from .document import Chart

CHART_URI = nsmap["c"]
CHART_PARTNAME = "/word/charts/chart%d.xml"
WORKBOOK_PARTNAME = "/word/embeddings/Microsoft_Excel_Worksheet%d.xlsx"
SHEET = "Sheet1"
HEIGHT = Cm(9)
TEXT_SIZE = 1000  # hundredths of a point
TITLE_SIZE = 1200
# Dark to light, so that series stay apart when the report is printed in grey.
PALETTE = ("1F4E79", "8FAADC", "595959", "BFBFBF", "2E75B6", "D9D9D9")
LINE_COLOUR = "BFBFBF"
GRID_COLOUR = "E7E6E6"
TEXT_COLOUR = "000000"
CATEGORY_AXIS, VALUE_AXIS = "500000001", "500000002"  # any two ids, unique within the chart
SMALL_COUNT = 10  # integral figures up to this many are ticked one by one, not at halves


@dataclass(frozen=True)
class Fonts:
    latin: str
    east_asian: str
    language: str


def add_chart(document, chart: Chart, *, fonts: Fonts, width: Length) -> None:
    """A centred paragraph holding ``chart``, ``width`` wide."""
    package = document.part.package
    workbook_part = Part(package.next_partname(WORKBOOK_PARTNAME), CT.SML_SHEET, blob=_workbook(chart), package=package)
    chart_part = XmlPart(package.next_partname(CHART_PARTNAME), CT.DML_CHART, _chart_space(chart, fonts), package)
    external = _sub(chart_part.element, "c:externalData", {qn("r:id"): chart_part.relate_to(workbook_part, RT.PACKAGE)})
    _sub(external, "c:autoUpdate", val="0")
    chart_id = document.part.relate_to(chart_part, RT.CHART)

    inline = parse_xml(
        f'<wp:inline {nsdecls("wp", "a", "c", "r")} distT="0" distB="0" distL="0" distR="0">'
        f'<wp:extent cx="{int(width)}" cy="{int(HEIGHT)}"/>'
        '<wp:effectExtent l="0" t="0" r="0" b="0"/>'
        '<wp:docPr id="0" name=""/>'
        "<wp:cNvGraphicFramePr/>"
        f'<a:graphic><a:graphicData uri="{CHART_URI}"><c:chart r:id="{chart_id}"/></a:graphicData></a:graphic>'
        "</wp:inline>"
    )
    shape_id = document.part.next_id
    properties = inline.find(qn("wp:docPr"))
    properties.set("id", str(shape_id))
    properties.set("name", f"Chart {shape_id}")
    properties.set("descr", chart.title or chart.caption)  # what a screen reader says of it
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    drawing = OxmlElement("w:drawing")
    drawing.append(inline)
    paragraph.add_run()._r.append(drawing)


# ---------------------------------------------------------------------------------------------- the chart part


def _chart_space(chart: Chart, fonts: Fonts):
    space = etree.Element(qn("c:chartSpace"), nsmap={prefix: nsmap[prefix] for prefix in ("c", "a", "r")})
    _sub(space, "c:date1904", val="0")
    _sub(space, "c:lang", val=fonts.language)
    _sub(space, "c:roundedCorners", val="0")  # Word rounds them when not told
    body = _sub(space, "c:chart")
    if chart.title:
        _title(body, chart.title, fonts, size=TITLE_SIZE, bold=True)
    _sub(body, "c:autoTitleDeleted", val="0" if chart.title else "1")
    plot = _sub(body, "c:plotArea")
    _sub(plot, "c:layout")
    bars = _sub(plot, "c:barChart")
    _sub(bars, "c:barDir", val="col")
    _sub(bars, "c:grouping", val="clustered")
    _sub(bars, "c:varyColors", val="0")
    for index, series in enumerate(chart.series):
        _series(bars, chart, index, series)
    labels = _sub(bars, "c:dLbls")  # each bar's figure above it
    _text_properties(labels, fonts, size=TEXT_SIZE)
    _sub(labels, "c:dLblPos", val="outEnd")
    for flag, shown in (
        ("showLegendKey", 0),
        ("showVal", 1),
        ("showCatName", 0),
        ("showSerName", 0),
        ("showPercent", 0),
        ("showBubbleSize", 0),
    ):
        _sub(labels, f"c:{flag}", val=str(shown))
    _sub(bars, "c:gapWidth", val="80")
    _sub(bars, "c:axId", val=CATEGORY_AXIS)
    _sub(bars, "c:axId", val=VALUE_AXIS)
    _category_axis(plot, chart, fonts)
    _value_axis(plot, chart, fonts)
    if len(chart.series) > 1:
        legend = _sub(body, "c:legend")
        _sub(legend, "c:legendPos", val="b")
        _sub(legend, "c:overlay", val="0")
        _text_properties(legend, fonts, size=TEXT_SIZE)
    _sub(body, "c:plotVisOnly", val="1")
    _sub(body, "c:dispBlanksAs", val="gap")
    shape = _sub(space, "c:spPr")  # no frame around the chart: it stands in the text as a table does
    _sub(shape, "a:noFill")
    _sub(_sub(shape, "a:ln"), "a:noFill")
    _text_properties(space, fonts, size=TEXT_SIZE)
    return space


def _series(bars, chart: Chart, index: int, series) -> None:
    count = len(chart.categories)
    column = get_column_letter(index + 2)
    element = _sub(bars, "c:ser")
    _sub(element, "c:idx", val=str(index))
    _sub(element, "c:order", val=str(index))
    name = _sub(_sub(element, "c:tx"), "c:strRef")
    _sub(name, "c:f").text = _reference(f"${column}$1")
    _cache(name, "c:strCache", [series.name])
    shape = _sub(element, "c:spPr")
    _fill(shape, PALETTE[index % len(PALETTE)])
    _sub(element, "c:invertIfNegative", val="0")
    categories = _sub(_sub(element, "c:cat"), "c:strRef")
    _sub(categories, "c:f").text = _reference(f"$A$2:$A${count + 1}")
    _cache(categories, "c:strCache", chart.categories)
    values = _sub(_sub(element, "c:val"), "c:numRef")
    _sub(values, "c:f").text = _reference(f"${column}$2:${column}${count + 1}")
    _cache(values, "c:numCache", [_number(value) for value in series.values], format_code="General")


def _cache(parent, tag: str, texts, *, format_code: str | None = None) -> None:
    cache = _sub(parent, tag)
    if format_code is not None:
        _sub(cache, "c:formatCode").text = format_code
    _sub(cache, "c:ptCount", val=str(len(texts)))
    for index, text in enumerate(texts):
        _sub(_sub(cache, "c:pt", idx=str(index)), "c:v").text = text


def _category_axis(plot, chart: Chart, fonts: Fonts) -> None:
    axis = _sub(plot, "c:catAx")
    _sub(axis, "c:axId", val=CATEGORY_AXIS)
    _sub(_sub(axis, "c:scaling"), "c:orientation", val="minMax")
    _sub(axis, "c:delete", val="0")
    _sub(axis, "c:axPos", val="b")
    if chart.category_label:
        _title(axis, chart.category_label, fonts, size=TEXT_SIZE)
    _sub(axis, "c:numFmt", formatCode="General", sourceLinked="1")
    _sub(axis, "c:majorTickMark", val="none")
    _sub(axis, "c:minorTickMark", val="none")
    _sub(axis, "c:tickLblPos", val="nextTo")
    _line(_sub(axis, "c:spPr"), LINE_COLOUR)
    _text_properties(axis, fonts, size=TEXT_SIZE)
    _sub(axis, "c:crossAx", val=VALUE_AXIS)
    _sub(axis, "c:crosses", val="autoZero")
    _sub(axis, "c:auto", val="1")
    _sub(axis, "c:lblAlgn", val="ctr")
    _sub(axis, "c:lblOffset", val="100")
    _sub(axis, "c:noMultiLvlLbl", val="0")


def _value_axis(plot, chart: Chart, fonts: Fonts) -> None:
    values = [Decimal(value) for series in chart.series for value in series.values]
    axis = _sub(plot, "c:valAx")
    _sub(axis, "c:axId", val=VALUE_AXIS)
    scaling = _sub(axis, "c:scaling")
    _sub(scaling, "c:orientation", val="minMax")
    if all(value >= 0 for value in values):
        _sub(scaling, "c:min", val="0")
    _sub(axis, "c:delete", val="0")
    _sub(axis, "c:axPos", val="l")
    _line(_sub(_sub(axis, "c:majorGridlines"), "c:spPr"), GRID_COLOUR)
    if chart.value_label:
        _title(axis, chart.value_label, fonts, size=TEXT_SIZE, vertical=True)
    _sub(axis, "c:numFmt", formatCode="General", sourceLinked="1")
    _sub(axis, "c:majorTickMark", val="none")
    _sub(axis, "c:minorTickMark", val="none")
    _sub(axis, "c:tickLblPos", val="nextTo")
    _line(_sub(axis, "c:spPr"), LINE_COLOUR)
    _text_properties(axis, fonts, size=TEXT_SIZE)
    _sub(axis, "c:crossAx", val=CATEGORY_AXIS)
    _sub(axis, "c:crosses", val="autoZero")
    _sub(axis, "c:crossBetween", val="between")
    if all(value == value.to_integral_value() for value in values) and max(values, default=0) <= SMALL_COUNT:
        _sub(axis, "c:majorUnit", val="1")  # counts: no tick at a half


def _title(parent, text: str, fonts: Fonts, *, size: int, bold: bool = False, vertical: bool = False) -> None:
    title = _sub(parent, "c:title")
    rich = _sub(_sub(title, "c:tx"), "c:rich")
    # Upright characters stacked top to bottom, as a vertical CJK title is written, rather than turned on their side.
    _sub(rich, "a:bodyPr", **({"rot": "0", "vert": "wordArtVert"} if vertical else {}))
    _sub(rich, "a:lstStyle")
    paragraph = _sub(rich, "a:p")
    _run_properties(_sub(paragraph, "a:pPr"), "a:defRPr", fonts, size=size, bold=bold)
    run = _sub(paragraph, "a:r")
    _run_properties(run, "a:rPr", fonts, size=size, bold=bold)
    _sub(run, "a:t").text = text
    _sub(title, "c:overlay", val="0")


def _text_properties(parent, fonts: Fonts, *, size: int) -> None:
    properties = _sub(parent, "c:txPr")
    _sub(properties, "a:bodyPr")
    _sub(properties, "a:lstStyle")
    paragraph = _sub(properties, "a:p")
    _run_properties(_sub(paragraph, "a:pPr"), "a:defRPr", fonts, size=size)
    _sub(paragraph, "a:endParaRPr", lang=fonts.language)


def _run_properties(parent, tag: str, fonts: Fonts, *, size: int, bold: bool = False) -> None:
    properties = _sub(parent, tag, lang=fonts.language, sz=str(size), b="1" if bold else "0")
    _fill(properties, TEXT_COLOUR)
    _sub(properties, "a:latin", typeface=fonts.latin)
    _sub(properties, "a:ea", typeface=fonts.east_asian)
    _sub(properties, "a:cs", typeface=fonts.latin)


def _fill(parent, colour: str) -> None:
    _sub(_sub(parent, "a:solidFill"), "a:srgbClr", val=colour)


def _line(parent, colour: str) -> None:
    _fill(_sub(parent, "a:ln", w="9525"), colour)


def _sub(parent, tag: str, attributes: dict[str, str] | None = None, **named: str):
    return etree.SubElement(parent, qn(tag), {**(attributes or {}), **named})


def _reference(cells: str) -> str:
    return f"{SHEET}!{cells}"


def _number(value) -> str:
    """A figure as the chart's cache writes it: plain decimal notation, no exponent."""
    return f"{Decimal(value).normalize():f}"


# ---------------------------------------------------------------------------------------------- the workbook


def _workbook(chart: Chart) -> bytes:
    """The chart's figures where its references point: categories down column A, one column a series."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([chart.category_label, *(series.name for series in chart.series)])
    for index, category in enumerate(chart.categories):
        sheet.append([category, *(series.values[index] for series in chart.series)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
