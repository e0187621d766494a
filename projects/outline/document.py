"""The outline of a plan as the importer understands it, independent of where it came from.

The text parser (``parser.py``) and the JSON data file (``export``/``load``) both
produce an :class:`OutlineDocument`; ``indicators.services.outline_import`` writes
one into the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal


class OutlineError(ValueError):
    """Input the importer cannot make sense of; ``line`` is 1-based (0 when not tied to a line)."""

    def __init__(self, message: str, line: int = 0):
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class OutlineNode:
    kind: str  # NodeKind value
    number: str  # 貳, 二, (一), 1, (1)
    title: str
    key: str  # stable position in the outline, e.g. 貳/二/(一)/1
    line: int = 0
    lead_agencies: list[str] = field(default_factory=list)
    co_agencies: list[str] = field(default_factory=list)
    convening_agency: str = ""
    description: str | None = ""  # None: not given (a data file without prose), leave as it is
    children: list[OutlineNode] = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class OutlineIndicator:
    """A row of the overall-indicator table (總體指標): its target and the year's result."""

    key: str
    dimension: str  # 面向, e.g. 創新數位經濟
    name: str
    unit: str
    target_year: int
    target_value: Decimal
    result_year: int
    result_value: Decimal
    result_is_estimate: bool = False
    note: str = ""
    line: int = 0


@dataclass
class OutlineGroupTarget:
    """A group's main performance target (主要績效目標), with the figure the report states, if any."""

    key: str  # 肆/target/3
    group_key: str
    number: int
    name: str
    year: int
    unit: str = ""
    target_value: Decimal | None = None
    result_value: Decimal | None = None
    statement: str = ""  # the report's sentence on it (prose)
    line: int = 0


@dataclass
class OutlineDocument:
    plan_name: str
    start_year: int
    end_year: int
    report_year: int | None = None
    secretariat: str = ""
    groups: list[OutlineNode] = field(default_factory=list)
    indicators: list[OutlineIndicator] = field(default_factory=list)
    group_targets: list[OutlineGroupTarget] = field(default_factory=list)

    def walk(self):
        for group in self.groups:
            yield from group.walk()


FORMAT_VERSION = 1


def document_to_data(document: OutlineDocument, *, with_prose: bool = False) -> dict:
    """A JSON-ready dict: names, agencies and figures; descriptions and notes only ``with_prose``."""

    def node_data(node: OutlineNode) -> dict:
        data = {
            "kind": node.kind,
            "number": node.number,
            "key": node.key,
            "title": node.title,
            "lead_agencies": node.lead_agencies,
        }
        if node.co_agencies:
            data["co_agencies"] = node.co_agencies
        if node.convening_agency:
            data["convening_agency"] = node.convening_agency
        if with_prose and node.description:
            data["description"] = node.description
        if node.children:
            data["children"] = [node_data(child) for child in node.children]
        return data

    indicators = []
    for indicator in document.indicators:
        row = asdict(indicator)
        row.pop("line")
        if not with_prose:
            row.pop("note")
        row["target_value"] = str(indicator.target_value)
        row["result_value"] = str(indicator.result_value)
        indicators.append(row)
    group_targets = []
    for target in document.group_targets:
        row = asdict(target)
        row.pop("line")
        if not with_prose:
            row.pop("statement")
        for name in ("target_value", "result_value"):
            row[name] = None if row[name] is None else str(row[name])
        group_targets.append(row)
    return {
        "format": "gstp-outline",
        "version": FORMAT_VERSION,
        "plan": {
            "name": document.plan_name,
            "start_year": document.start_year,
            "end_year": document.end_year,
            "report_year": document.report_year,
            "secretariat": document.secretariat,
        },
        "groups": [node_data(group) for group in document.groups],
        "indicators": indicators,
        "group_targets": group_targets,
    }


def document_from_data(data: dict) -> OutlineDocument:
    if not isinstance(data, dict) or data.get("format") != "gstp-outline":
        raise OutlineError('not a GSTP outline data file (expected "format": "gstp-outline")')
    if data.get("version") != FORMAT_VERSION:
        raise OutlineError(f"unsupported outline data version {data.get('version')!r}")

    def node_from(item: dict) -> OutlineNode:
        try:
            return OutlineNode(
                kind=item["kind"],
                number=item.get("number", ""),
                title=item["title"],
                key=item["key"],
                lead_agencies=list(item.get("lead_agencies", [])),
                co_agencies=list(item.get("co_agencies", [])),
                convening_agency=item.get("convening_agency", ""),
                description=item.get("description"),
                children=[node_from(child) for child in item.get("children", [])],
            )
        except (KeyError, TypeError) as exc:
            raise OutlineError(f"node {item.get('key', '?')!r} lacks {exc}") from exc

    try:
        plan = data["plan"]
        return OutlineDocument(
            plan_name=plan["name"],
            start_year=int(plan["start_year"]),
            end_year=int(plan["end_year"]),
            report_year=plan.get("report_year"),
            secretariat=plan.get("secretariat", ""),
            groups=[node_from(group) for group in data.get("groups", [])],
            indicators=[
                OutlineIndicator(
                    **{
                        **row,
                        "target_value": Decimal(row["target_value"]),
                        "result_value": Decimal(row["result_value"]),
                    }
                )
                for row in data.get("indicators", [])
            ],
            group_targets=[
                OutlineGroupTarget(
                    **{
                        **row,
                        "target_value": None if row.get("target_value") is None else Decimal(row["target_value"]),
                        "result_value": None if row.get("result_value") is None else Decimal(row["result_value"]),
                    }
                )
                for row in data.get("group_targets", [])
            ],
        )
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise OutlineError(f"malformed outline data: {exc!r}") from exc
