"""Agency names as the report writes them in 【…】 tags.

A tag holds one or more agencies separated by 、 (or 及 between two agencies),
each either a top-level agency (數位發展部), its short name (數位部), or a
sub-unit written as parent + unit (數位發展部數位產業署). A bare unit right after
a qualified one belongs to the same parent: 【國史館采集處、審編處】.
"""

import re
from dataclasses import dataclass

# Top-level agencies of the programme with the short names in use.
KNOWN_AGENCIES: dict[str, tuple[str, ...]] = {
    "數位發展部": ("數位部", "數發部"),
    "國家科學及技術委員會": ("國科會",),
    "中央研究院": ("中研院",),
    "教育部": (),
    "經濟部": (),
    "內政部": (),
    "財政部": (),
    "法務部": (),
    "交通部": (),
    "勞動部": (),
    "農業部": (),
    "衛生福利部": ("衛福部",),
    "環境部": (),
    "文化部": (),
    "國防部": (),
    "外交部": (),
    "國家發展委員會": ("國發會",),
    "僑務委員會": ("僑委會",),
    "原住民族委員會": ("原民會",),
    "客家委員會": ("客委會",),
    "海洋委員會": ("海委會",),
    "金融監督管理委員會": ("金管會", "金融管理委員會"),
    "國家通訊傳播委員會": ("通傳會", "NCC"),
    "國軍退除役官兵輔導委員會": ("退輔會",),
    "核能安全委員會": ("核安會",),
    "行政院公共工程委員會": ("工程會", "公共工程委員會"),
    "行政院人事行政總處": ("人事總處", "人事行政總處"),
    "行政院主計總處": ("主計總處",),
    "國立故宮博物院": ("故宮", "故宮博物院"),
    "國史館": (),
    "國家災害防救科技中心": ("災防科技中心",),
    "財團法人國家實驗研究院": ("國研院", "國家實驗研究院"),
    "財團法人資訊工業策進會": ("資策會",),
    "財團法人工業技術研究院": ("工研院",),
}

UNIT_SUFFIXES = ("署", "司", "處", "局", "中心", "館", "院", "所", "室", "組", "隊", "會", "部", "總處", "小組")
_SHORT_UNIT = re.compile(r"^[\u4e00-\u9fff]{1,6}(署|司|處|局|室|組|隊)$")


@dataclass(frozen=True)
class AgencyName:
    """A resolved agency name: ``name`` is canonical; ``parent`` the top-level agency for a sub-unit."""

    name: str
    parent: str = ""
    unit: str = ""


def _prefixes() -> list[tuple[str, str]]:
    pairs = []
    for canonical, aliases in KNOWN_AGENCIES.items():
        pairs.append((canonical, canonical))
        pairs.extend((alias, canonical) for alias in aliases)
    # Longest first, so 國家科學及技術委員會 wins over a shorter alias inside it.
    return sorted(pairs, key=lambda pair: -len(pair[0]))


_PREFIXES = _prefixes()


def canonical_top_level(text: str) -> tuple[str, str] | None:
    """(canonical name, rest of the text) when ``text`` starts with a known top-level agency."""
    for prefix, canonical in _PREFIXES:
        if text.startswith(prefix):
            return canonical, text[len(prefix) :]
    return None


def looks_like_agency(text: str) -> bool:
    return bool(text) and text.endswith(UNIT_SUFFIXES) and len(text) <= 40


def resolve(text: str, previous_parent: str = "") -> AgencyName | None:
    """Resolve one agency as written; None when it does not read as an agency."""
    text = re.sub(r"\s+", "", text).strip("：:，,。")
    if not text:
        return None
    found = canonical_top_level(text)
    if found:
        parent, unit = found
        unit = unit.lstrip("（(").rstrip("）)")
        if not unit:
            return AgencyName(name=parent)
        if len(unit) > 20:
            return None
        return AgencyName(name=parent + unit, parent=parent, unit=unit)
    if previous_parent and _SHORT_UNIT.match(text):
        return AgencyName(name=previous_parent + text, parent=previous_parent, unit=text)
    if looks_like_agency(text):
        return AgencyName(name=text)
    return None


def split_tag(content: str) -> list[AgencyName] | None:
    """The agencies of one tag's content, in order; None when any part is not an agency."""
    parts = [part for part in re.split(r"[、，,；;]", content) if part.strip()]
    names: list[AgencyName] = []
    for part in parts:
        for piece in _split_on_ji(part):
            previous_parent = ""
            if names:
                previous = names[-1]
                previous_parent = previous.parent or (previous.name if previous.name in KNOWN_AGENCIES else "")
            resolved = resolve(piece, previous_parent)
            if resolved is None:
                return None
            if resolved not in names:
                names.append(resolved)
    return names or None


def _split_on_ji(part: str) -> list[str]:
    """及 joins two agencies (…數位發展部及中研院) but also stands inside names (護理及健康照護司)."""
    pieces = part.split("及")
    if len(pieces) == 1:
        return [part]
    result = [pieces[0]]
    for piece in pieces[1:]:
        if canonical_top_level(piece.strip()) and looks_like_agency(result[-1].strip()):
            result.append(piece)
        else:
            result[-1] = result[-1] + "及" + piece
    return result
