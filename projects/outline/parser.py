"""Read a results report written in the official heading hierarchy into an :class:`OutlineDocument`.

Headings run 壹、 > 一、 > (一) > 1. > (1) > A.; a 壹、 heading that names a
group (分組) opens a group, with its convening agency in 【召集部會：…】.
Below it, 一、 sections are strategy sections, and (一), 1. and (1) entries
are measures, sub-projects or narrative:

- an entry whose title is tagged with agencies (【數位發展部】) and reads as a
  title, not a sentence, is a sub-project;
- an entry with titled entries below it is a measure (or, when tagged, a
  sub-project with parts);
- the (一) entries right under a strategy section stand at one rank, decided
  by the section, whatever their titles: when one of them is a measure, each
  tagged one with no titled entries below it is a measure whose one
  sub-project is the tagged agencies' work (titled as the measure, the
  results its description); when none is, the tagged ones are the section's
  sub-projects. Written ``label：results`` (a list of measures, often
  bulleted), an untagged one is a measure titled by its label, the results
  its description;
- everything else (result sentences, untitled lists, paragraphs, the
  group's 整體推動效益 summary) is narrative, kept as the description of the
  node it belongs to.

The text may be a PDF extraction: full- and half-width brackets, markdown
bullets and **bold**, a table of contents with page numbers, figure captions,
headings and tags broken across lines, tags alone on the next line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from gstp.calendar import parse_year

from . import agencies
from .document import OutlineDocument, OutlineError, OutlineGroupTarget, OutlineIndicator, OutlineNode

# (level, pattern); the number is group 1, the rest of the line group 2.
HEADINGS = [
    (1, re.compile(r"^([壹貳參肆伍陸柒捌玖拾]+)\s*、\s*(.*)$")),
    (2, re.compile(r"^([一二三四五六七八九十]+)\s*、\s*(.*)$")),
    (3, re.compile(r"^[(（]\s*([一二三四五六七八九十]+)\s*[)）]\s*(.*)$")),
    (4, re.compile(r"^(\d{1,2})\s*[.．、](?!\d)\s*(.*)$")),
    (5, re.compile(r"^[(（]\s*(\d{1,2})\s*[)）]\s*(.*)$")),
    (6, re.compile(r"^([A-Z])\s*[.．](?![A-Za-z0-9])\s*(.*)$")),
]
TOC_ENTRY = re.compile(r"\t\s*\d+\s*$")
FIGURE_CAPTION = re.compile(r"^[圖表]\s*\d+\s")
BULLET = re.compile(r"^(?:[-*•·]\s+)+")
TAG = re.compile(r"[【［]([^【】［］]*)[】］]")
TAG_ONLY = re.compile(r"^[【［]([^【】]*)[】］]$")
TERMINAL = tuple("。！？；：」』】）)!?;:")
# Years as the report writes them (2021) or in the ROC calendar (110, 民國110): ``gstp.calendar.parse_year``.
YEAR = r"(?:民國\s*)?\d{2,4}"
PLAN_TITLE = re.compile(rf"^(?P<name>\S.*?)\s*[(（]\s*(?P<start>{YEAR})\s*[-－–—~～至]\s*(?P<end>{YEAR})\s*年?\s*[)）]")
REPORT_YEAR = re.compile(rf"({YEAR})\s*年\s*(?:度)?\s*階段成果報告")
COMPILER = re.compile(r"^(\S+?)彙編$")
RESULTS_FOLLOW = re.compile(rf"[，,]?\s*(?:截至|至)\s*{YEAR}\s*年[^，,。]*?(?:推動|執行)?(?:成果|情形)如下\s*[：:]?$")
SUMMARY_SECTION = re.compile(r"整體推動效益")
GROUP_TITLE = re.compile(r"^(?P<name>.*?分組)")
VALUE = re.compile(r"^(?P<number>[\d,]+(?:\.\d+)?)\s*(?P<unit>[^\d\s(（]*)\s*(?P<estimate>[(（]\s*預估值\s*[)）])?$")
GROUP_TARGET = re.compile(r"^主要績效目標\s*(\d+)\s*[：:]\s*(.+)$", re.S)
UNITS = ("%", "兆元", "億元", "萬元", "元", "人次", "萬人", "人", "項", "件", "案", "家", "處", "個", "次", "臺", "座")
STATED_TARGET = re.compile(r"目標值\s*(?P<number>[\d,]+(?:\.\d+)?)\s*(?P<unit>" + "|".join(UNITS) + ")")
FOOTNOTE_MARK = re.compile(r"\s*\^?\[(\d+)\]\s*$")

TITLE_MAX_CHARS = 64
LABEL_MAX_CHARS = 20
LEVEL_NUMBER_FORMAT = {1: "{}", 2: "{}", 3: "({})", 4: "{}", 5: "({})", 6: "{}"}


@dataclass
class Block:
    """A paragraph, heading or table row, with the line it starts on."""

    line: int
    text: str
    level: int = 0  # heading level, 0 for plain text
    number: str = ""
    is_row: bool = False


@dataclass
class Entry:
    """A heading with what stands below it, before it is classified."""

    block: Block
    title: str = ""
    tag: str | None = None
    children: list[Entry] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    kind: str = ""  # group, strategy, measure, subproject, summary or narrative
    carries_own_work: bool = False  # a measure whose tagged agencies' work is its one sub-project

    @property
    def level(self) -> int:
        return self.block.level

    @property
    def number(self) -> str:
        return LEVEL_NUMBER_FORMAT[self.level].format(self.block.number)


def clean_line(raw: str) -> str:
    line = raw.replace("\u3000", " ").replace("**", "").strip()
    line = BULLET.sub("", line).strip()
    return line


def heading_of(text: str) -> tuple[int, str, str] | None:
    for level, pattern in HEADINGS:
        match = pattern.match(text)
        if match:
            return level, match.group(1), match.group(2)
    return None


def read_blocks(text: str) -> list[Block]:
    """Join the lines of each paragraph and heading, however the extraction broke them."""
    blocks: list[Block] = []
    current: Block | None = None
    blank_since_current = False
    for number, raw in enumerate(text.splitlines(), start=1):
        had_bullet = bool(BULLET.match(raw.strip()))
        line = clean_line(raw)
        if not line:
            blank_since_current = True
            continue
        if TOC_ENTRY.search(line) and heading_of(line):
            current = None
            continue
        is_row = "\t" in raw
        heading = None if is_row else heading_of(line)
        continues = (
            current is not None
            and heading is None
            and not is_row
            and not current.is_row
            and not FIGURE_CAPTION.match(line)
            and (
                not blank_since_current
                or current.text.count("【") > current.text.count("】")
                or (had_bullet and not current.text.endswith(TERMINAL) and current.level == 0)
            )
        )
        if continues:
            current.text += line if _joins_without_space(current.text, line) else " " + line
        else:
            current = Block(line=number, text=line, is_row=is_row)
            if heading:
                current.level, current.number, current.text = heading
            blocks.append(current)
        blank_since_current = False
    return blocks


def _joins_without_space(left: str, right: str) -> bool:
    # Chinese text has no spaces between words; keep one only between Latin letters or digits.
    return not (left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum())


def split_title(text: str) -> tuple[str, str | None]:
    """(title, tag content) when the text ends with a 【…】 tag, else (text, None).

    A closing 「截至 2024 年 12 月推動成果如下：」 announces the results below; it is not part of the title.
    """
    tag = None
    matches = list(TAG.finditer(text))
    if matches and not text[matches[-1].end() :].strip(" ：:，,。.*"):
        tag = matches[-1].group(1).strip()
        text = text[: matches[-1].start()]
    title = RESULTS_FOLLOW.sub("", text.strip()).rstrip("：:，, ")
    return title, tag


def reads_as_title(title: str) -> bool:
    """A title, not a result sentence: short, one sentence at most, not ``label：what was done``."""
    _, colon, after = title.partition("：")
    if colon and len(after) > LABEL_MAX_CHARS:
        return False
    return 0 < len(title) <= TITLE_MAX_CHARS and "。" not in title.rstrip("。")


def parse(text: str, *, progress: Callable[[str], None] | None = None) -> OutlineDocument:
    blocks = read_blocks(text)
    document = _read_plan_header(blocks)
    document.indicators = _read_overall_indicators(blocks)
    roots = _build_entries(blocks)
    for entry in roots:
        if entry.kind != "group":
            continue
        group = _group_node(entry)
        document.groups.append(group)
        document.group_targets.extend(_group_targets(entry, group, document.report_year))
        if progress:
            progress(f"{group.number}、{group.title}: {sum(1 for _ in group.walk())} nodes")
    if not document.groups:
        raise OutlineError("no group headings (壹、…分組…【召集部會：…】) were found")
    return document


def _read_plan_header(blocks: list[Block]) -> OutlineDocument:
    for block in blocks[:10]:
        match = PLAN_TITLE.match(block.text)
        if match:
            document = OutlineDocument(
                plan_name=match.group("name").strip(),
                start_year=parse_year(match.group("start")),
                end_year=parse_year(match.group("end")),
            )
            if document.end_year < document.start_year:
                raise OutlineError("the plan's last year comes before its first", block.line)
            break
    else:
        raise OutlineError("the report must open with the plan's name and years, such as 智慧國家方案(2021-2025 年)", 1)
    for block in blocks[:10]:
        if year := REPORT_YEAR.search(block.text):
            document.report_year = parse_year(year.group(1))
        if compiler := COMPILER.match(block.text):
            document.secretariat = compiler.group(1)
    return document


def _build_entries(blocks: list[Block]) -> list[Entry]:
    roots: list[Entry] = []
    stack: list[Entry] = []
    last_heading: Entry | None = None
    for block in blocks:
        if block.level:
            while stack and stack[-1].level >= block.level:
                stack.pop()
            entry = Entry(block=block)
            entry.title, entry.tag = split_title(block.text)
            (stack[-1].children if stack else roots).append(entry)
            stack.append(entry)
            last_heading = entry
            continue
        tag_only = TAG_ONLY.match(block.text)
        if tag_only and last_heading is not None and last_heading.tag is None and not last_heading.paragraphs:
            # The tag of the heading above, set on a line of its own.
            last_heading.tag = tag_only.group(1).strip()
            last_heading.title = last_heading.title.rstrip("：:，,")
            continue
        if block.is_row or FIGURE_CAPTION.match(block.text):
            continue
        if stack:
            stack[-1].paragraphs.append(block.text)
    for entry in roots:
        if entry.level == 1 and GROUP_TITLE.match(entry.title):
            entry.kind = "group"
            for child in entry.children:
                _classify(child, parent_kind="group")
    return roots


def _classify(entry: Entry, parent_kind: str) -> None:
    """Decide bottom-up what an entry is; see the module docstring."""
    if entry.level == 2 and parent_kind == "group":
        own_kind = "summary" if SUMMARY_SECTION.search(entry.title) else "strategy"
    else:
        own_kind = ""
    for child in entry.children:
        _classify(child, parent_kind=own_kind or "entry")
    titled_below = any(child.kind in ("measure", "subproject") for child in entry.children)
    at_measure_level = entry.level == 3 and parent_kind == "strategy"
    tagged = entry.tag is not None and not _is_convening_tag(entry.tag)
    if own_kind:
        entry.kind = own_kind
        if own_kind == "strategy":
            _settle_measure_level(entry)
    elif entry.level >= 6:
        entry.kind = "narrative"
    elif tagged and (at_measure_level or reads_as_title(entry.title)):
        entry.kind = "measure" if titled_below and entry.level == 3 else "subproject"
    elif titled_below:
        entry.kind = "measure"
    elif entry.level == 3 and reads_as_title(entry.title) and not entry.title.endswith("。"):
        entry.kind = "measure"
    elif at_measure_level and entry.tag is None and _take_label_as_title(entry):
        entry.kind = "measure"
    else:
        entry.kind = "narrative"
    if entry.kind in ("measure", "subproject") and parent_kind == "group":
        raise OutlineError(
            f"{entry.number} {entry.title[:30]} stands in a group before any 一、 section", entry.block.line
        )


def _settle_measure_level(section: Entry) -> None:
    """A strategy section's (一) entries stand at one rank. When one of them is a measure, the section's (一)
    level is the measure level: each tagged (一) entry without titled entries below it is then a measure whose
    one sub-project is the tagged agencies' work. Otherwise they are the section's sub-projects."""
    entries = [child for child in section.children if child.level == 3]
    if not any(child.kind == "measure" for child in entries):
        return
    for child in entries:
        if child.kind == "subproject":
            child.kind = "measure"
            child.carries_own_work = True


def _take_label_as_title(entry: Entry) -> bool:
    """For an entry written ``label：results``, make the label its title and the results the first of its
    paragraphs; False (and the entry unchanged) when it is not written so."""
    label, colon, results = entry.title.partition("：")
    label = label.strip()
    if not colon or not results.strip() or not label or len(label) > LABEL_MAX_CHARS or not reads_as_title(label):
        return False
    entry.title = label
    entry.paragraphs.insert(0, results.strip())
    return True


def _is_convening_tag(tag: str) -> bool:
    return tag.startswith("召集")


def _tag_agencies(entry: Entry) -> tuple[list[str], list[str], str]:
    """(lead agencies, co-agencies, convening agency) named by an entry's tag."""
    if entry.tag is None:
        return [], [], ""
    lead: list[str] = []
    co: list[str] = []
    convening = ""
    for part in re.split(r"[；;]", entry.tag):
        label, sep, names = part.partition("：") if "：" in part else part.partition(":")
        if not sep:
            label, names = "", part
        resolved = agencies.split_tag(names)
        if resolved is None:
            raise OutlineError(f"cannot read the agencies in 【{entry.tag}】", entry.block.line)
        names_list = [agency.name for agency in resolved]
        if label.startswith("召集"):
            convening = names_list[0]
        elif label.startswith("協辦"):
            co.extend(names_list)
        else:
            lead.extend(names_list)
    return lead, co, convening


def _narrative(entry: Entry) -> str:
    parts = [f"{entry.number} {entry.block.text}".strip()]
    parts.extend(entry.paragraphs)
    parts.extend(_narrative(child) for child in entry.children)
    return "\n".join(parts)


def _description(entry: Entry) -> str:
    parts = list(entry.paragraphs)
    parts.extend(_narrative(child) for child in entry.children if child.kind in ("narrative", "summary"))
    return "\n\n".join(part for part in parts if part)


def _group_node(entry: Entry) -> OutlineNode:
    _, _, convening = _tag_agencies(entry)
    title = GROUP_TITLE.match(entry.title).group("name")
    group = OutlineNode(
        kind="group",
        number=entry.number,
        title=title,
        key=entry.block.number,
        line=entry.block.line,
        convening_agency=convening,
        description=_description(entry),
    )
    group.children = _child_nodes(entry, group.key)
    return group


def _group_targets(entry: Entry, group: OutlineNode, year: int | None) -> list[OutlineGroupTarget]:
    """The 主要績效目標 N：… statements of the group's summary section, with the figure they state."""
    targets = []
    for section in entry.children:
        if section.kind != "summary":
            continue
        for item in section.children:
            match = GROUP_TARGET.match(item.block.text)
            if not match:
                continue
            number, statement = int(match.group(1)), match.group(2).strip()
            name = re.split(rf"。|，\s*(?:截至\s*)?{YEAR}\s*年", statement, maxsplit=1)[0].strip()
            name = re.sub(r"^為", "", name)
            target = OutlineGroupTarget(
                key=f"{group.key}/target/{number}",
                group_key=group.key,
                number=number,
                name=name[:300],
                year=year or 0,
                statement=statement,
                line=item.block.line,
            )
            stated = STATED_TARGET.search(statement)
            if stated:
                target.unit = stated.group("unit")
                target.target_value = Decimal(stated.group("number").replace(",", ""))
                if "已達目標值" in statement:
                    target.result_value = target.target_value
            targets.append(target)
    return targets


def _child_nodes(entry: Entry, parent_key: str) -> list[OutlineNode]:
    nodes = []
    seen: dict[str, int] = {}
    for child in entry.children:
        if child.kind not in ("strategy", "measure", "subproject"):
            continue
        base = f"{parent_key}/{child.number}"
        seen[base] = seen.get(base, 0) + 1
        key = base if seen[base] == 1 else f"{base}~{seen[base]}"
        lead, co, _ = _tag_agencies(child)
        node = OutlineNode(
            kind=child.kind,
            number=child.number,
            title=child.title,
            key=key,
            line=child.block.line,
            lead_agencies=lead,
            co_agencies=co,
            description=_description(child),
        )
        if not node.title:
            raise OutlineError(f"heading {child.number} has no title", child.block.line)
        if child.carries_own_work:
            node.children = [_own_work(node)]
            node.description = ""
        else:
            node.children = _child_nodes(child, key)
        nodes.append(node)
    return nodes


def _own_work(measure: OutlineNode) -> OutlineNode:
    """The one sub-project of a measure its tagged agencies carry out, with the results the report gives."""
    return OutlineNode(
        kind="subproject",
        number="",
        title=measure.title,
        key=f"{measure.key}/1",
        line=measure.line,
        lead_agencies=list(measure.lead_agencies),
        co_agencies=list(measure.co_agencies),
        description=measure.description,
    )


def _read_overall_indicators(blocks: list[Block]) -> list[OutlineIndicator]:
    """The 總體指標 table: header 項目 | 2025 年 (總體指標) | 2024 年 (達成情形), then dimension and indicator rows."""
    indicators: list[OutlineIndicator] = []
    index = next(
        (i for i, block in enumerate(blocks) if block.is_row and block.text.split("\t")[0].strip() == "項目"), None
    )
    if index is None:
        return indicators
    header = [cell.strip() for cell in blocks[index].text.split("\t")]
    years = [re.search(rf"({YEAR})\s*年", cell) for cell in header[1:3]]
    if len(header) < 3 or not all(years):
        raise OutlineError(
            "the indicator table's header must name the target year and the result year", blocks[index].line
        )
    target_year, result_year = (parse_year(year.group(1)) for year in years)
    dimension = ""
    footnotes: dict[str, list[OutlineIndicator]] = {}
    position = index + 1
    while position < len(blocks) and blocks[position].is_row:
        block = blocks[position]
        cells = [cell.strip() for cell in block.text.split("\t")]
        position += 1
        if len(cells) < 3 or not any(cells[1:3]):
            dimension = cells[0]
            continue
        name = cells[0]
        mark = FOOTNOTE_MARK.search(name)
        if mark:
            name = name[: mark.start()].strip()
        target = _value(cells[1], block.line)
        result = _value(cells[2], block.line)
        if target[1] != result[1]:
            raise OutlineError(
                f"{name}: the target is in {target[1] or 'no unit'} but the result in {result[1] or 'no unit'}",
                block.line,
            )
        indicator = OutlineIndicator(
            key=f"overall/{len(indicators) + 1}",
            dimension=dimension,
            name=name,
            unit=target[1],
            target_year=target_year,
            target_value=target[0],
            result_year=result_year,
            result_value=result[0],
            result_is_estimate=result[2],
            line=block.line,
        )
        indicators.append(indicator)
        if mark:
            footnotes.setdefault(mark.group(1), []).append(indicator)
    _attach_footnotes(blocks[position:], footnotes)
    return indicators


def _value(cell: str, line: int) -> tuple[Decimal, str, bool]:
    match = VALUE.match(cell.replace(" ", ""))
    if not match:
        raise OutlineError(f"cannot read the value {cell!r}", line)
    try:
        number = Decimal(match.group("number").replace(",", ""))
    except InvalidOperation as exc:
        raise OutlineError(f"cannot read the value {cell!r}", line) from exc
    return number, match.group("unit"), bool(match.group("estimate"))


def _attach_footnotes(blocks: list[Block], footnotes: dict[str, list[OutlineIndicator]]) -> None:
    if not footnotes:
        return
    started = False
    for block in blocks:
        if block.text.startswith("備註"):
            started = True
            continue
        if not started:
            continue
        if block.level == 4 and block.number in footnotes:
            for indicator in footnotes.pop(block.number):
                indicator.note = block.text
        elif block.level and block.level <= 3:
            break
