"""The annual report as a Word document (.docx): real headings, real tables, a CJK font on every style."""

from __future__ import annotations

import datetime
import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from .document import AnnualReport, BulletList, Chart, Heading, Paragraph, Table
from .docx_chart import Fonts, add_chart
from .wording import display_width

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# 標楷體 is the typeface of Taiwanese government documents; a word processor without it substitutes
# another CJK font for the East Asian runs, which is why the East Asian font is named separately.
EAST_ASIAN_FONT = "標楷體"
LATIN_FONT = "Times New Roman"
LANGUAGE = "zh-TW"
BODY_SIZE = Pt(12)
TABLE_TEXT_SIZE = Pt(10.5)
HEADING_SIZES = {1: Pt(16), 2: Pt(14), 3: Pt(13), 4: Pt(12)}
MAX_HEADING_LEVEL = 9
TABLE_STYLE = "Table Grid"
TEXT_WIDTH = Cm(16)  # A4 less the margins
COLUMN_WEIGHT_BOUNDS = (6, 50)  # half-width characters: a column gets its longest text's share, within these
CHART_FONTS = Fonts(latin=LATIN_FONT, east_asian=EAST_ASIAN_FONT, language=LANGUAGE)
THEME_FONT_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def render_docx(report: AnnualReport) -> bytes:
    document = Document()
    _fonts(document)
    _page(document)
    _properties(document, report)
    # Styles by id, looked up once: python-docx resolves a style given by name or object anew on every use.
    style_ids = {
        name: document.styles[name].style_id
        for name in ("Title", "Subtitle", "Caption", "List Bullet", TABLE_STYLE)
        + tuple(f"Heading {level}" for level in range(1, MAX_HEADING_LEVEL + 1))
    }

    def add(text: str, style: str | None = None):
        paragraph = document.add_paragraph(text)
        if style:
            paragraph._p.style = style_ids[style]
        return paragraph

    add(report.title, "Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    add(report.subtitle, "Subtitle").alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in report.byline:
        add(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for block in report.blocks:
        if isinstance(block, Heading):
            add(block.text, f"Heading {min(block.level, MAX_HEADING_LEVEL)}")
        elif isinstance(block, Paragraph):
            add(block.text)
        elif isinstance(block, Table):
            if block.caption:
                add(block.caption, "Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER
            _table(document, block, style_id=style_ids[TABLE_STYLE])
            add("")
        elif isinstance(block, BulletList):
            for item in block.items:
                add(item, "List Bullet")
        elif isinstance(block, Chart):
            if block.caption:
                add(block.caption, "Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER
            add_chart(document, block, fonts=CHART_FONTS, width=TEXT_WIDTH)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _table(document, block: Table, *, style_id: str) -> None:
    table = document.add_table(rows=1, cols=len(block.columns))
    table._tbl.tblStyle_val = style_id
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = table.rows[0]
    _repeat_as_header(header)
    for cell, text in zip(header.cells, block.columns, strict=True):
        _cell_text(cell, text, bold=True)
    for row in block.rows:
        cells = table.add_row().cells
        if row.is_section:
            merged = cells[0].merge(cells[-1])
            _cell_text(merged, row.cells[0], bold=True)
            continue
        for cell, text in zip(cells, row.cells, strict=True):
            _cell_text(cell, text)
    _column_widths(table, block)


def _column_widths(table, block: Table) -> None:
    """Share the text width by each column's longest text, so names get room and figures stay narrow."""
    low, high = COLUMN_WEIGHT_BOUNDS
    weights = []
    for index, column in enumerate(block.columns):
        # A heading may wrap onto two lines sooner than the figures below it.
        widths = [
            display_width(column) * 0.6,
            *(display_width(row.cells[index]) for row in block.rows if not row.is_section),
        ]
        weights.append(min(high, max(low, *widths)))
    total = sum(weights)
    for column, weight in zip(table.columns, weights, strict=True):
        width = int(TEXT_WIDTH * weight / total)
        column.width = width
        for cell in column.cells:
            cell.width = width


def _cell_text(cell, text: str, *, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.text = ""
    run = paragraph.add_run(text)
    run.bold = bold or None
    run.font.size = TABLE_TEXT_SIZE


def _repeat_as_header(row) -> None:
    """The header row is repeated at the top of every page the table runs onto."""
    properties = row._tr.get_or_add_trPr()
    marker = OxmlElement("w:tblHeader")
    marker.set(qn("w:val"), "true")
    properties.append(marker)


def _fonts(document) -> None:
    """Name the fonts on the document defaults and on every style, instead of the theme's, so the
    East Asian font is the one given here whatever theme the word processor has."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(defaults)
    language = defaults.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        defaults.append(language)
    language.set(qn("w:val"), LANGUAGE)
    language.set(qn("w:eastAsia"), LANGUAGE)
    for fonts in styles.iter(qn("w:rFonts")):
        for attribute in THEME_FONT_ATTRIBUTES:
            fonts.attrib.pop(qn(attribute), None)
        _name_fonts(fonts)
    for name in ("Normal", "Title", "Subtitle", "Caption", "List Bullet", TABLE_STYLE):
        _set_fonts(document.styles[name].element.get_or_add_rPr())
    document.styles["Normal"].font.size = BODY_SIZE
    for level in range(1, MAX_HEADING_LEVEL + 1):
        style = document.styles[f"Heading {level}"]
        _set_fonts(style.element.get_or_add_rPr())
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
        if level in HEADING_SIZES:
            style.font.size = HEADING_SIZES[level]
    title = document.styles["Title"]
    title.font.color.rgb = RGBColor(0, 0, 0)
    caption = document.styles["Caption"]
    caption.font.color.rgb = RGBColor(0, 0, 0)
    caption.font.size = Pt(11)
    caption.paragraph_format.keep_with_next = True  # on the page of the table or chart it names
    document.styles["Subtitle"].font.color.rgb = RGBColor(0, 0, 0)
    document.styles["Subtitle"].font.italic = False


def _set_fonts(properties) -> None:
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.insert(0, fonts)
    for attribute in THEME_FONT_ATTRIBUTES:
        fonts.attrib.pop(qn(attribute), None)
    _name_fonts(fonts)


def _name_fonts(fonts) -> None:
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    fonts.set(qn("w:cs"), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def _page(document) -> None:
    """A4, 2.5 cm margins, the page number centred in the footer."""
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "1"  # shown until the word processor updates the field
    run.append(text)
    field.append(run)
    footer._p.append(field)


def _properties(document, report: AnnualReport) -> None:
    properties = document.core_properties
    properties.title = f"{report.title} {report.subtitle}"
    properties.subject = report.subtitle
    properties.author = report.plan.secretariat or report.plan.name
    properties.language = LANGUAGE
    created = datetime.datetime.combine(report.generated_on, datetime.time(), tzinfo=datetime.UTC)
    properties.created = properties.modified = created
    properties.last_modified_by = properties.author
    properties.revision = 1
