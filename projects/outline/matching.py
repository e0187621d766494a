"""Which node already in the plan tree each node of a revised outline continues.

A revised report renames measures, moves sub-projects between measures and renumbers what follows a
removed entry, so a node's outline key (貳/二/(一)/1) alone would hand one sub-project's row, and the
reports and flags on it, to another. A node continues the row of its own kind that has, in this order:

1. its key and its title (nothing changed, or only what stands below it);
2. its title, the same parent's key first (renumbered or moved); a title written several times in the
   plan pairs those rows in outline order, when as many are written as there were;
3. its key (renamed where it stands).

What continues nothing is new; the rows nothing continues are no longer in the outline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .document import OutlineDocument


@dataclass(frozen=True)
class Row:
    """A node of the plan tree as the importer compares it: its id, outline key, kind and title."""

    id: int
    key: str
    kind: str
    title: str


@dataclass(frozen=True)
class Written:
    """A node of the outline, with its parent's key ("" for a group)."""

    key: str
    kind: str
    title: str
    parent_key: str


def written_nodes(document: OutlineDocument) -> list[Written]:
    """The outline's nodes in outline order."""
    nodes: list[Written] = []

    def walk(node, parent_key: str) -> None:
        nodes.append(Written(key=node.key, kind=node.kind, title=node.title[:500], parent_key=parent_key))
        for child in node.children:
            walk(child, node.key)

    for group in document.groups:
        walk(group, "")
    return nodes


def match_rows(written: list[Written], rows: Iterable[Row]) -> dict[str, int]:
    """Outline key → id of the row that node continues (see the module docstring); ``rows`` in tree order."""
    rows = list(rows)
    matched: dict[str, int] = {}
    taken: set[int] = set()

    def pair(node: Written, row: Row) -> None:
        matched[node.key] = row.id
        taken.add(row.id)

    by_key = {row.key: row for row in rows}
    for node in written:
        row = by_key.get(node.key)
        if row is not None and (row.kind, row.title) == (node.kind, node.title):
            pair(node, row)

    rows_by_title: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        if row.id not in taken:
            rows_by_title[(row.kind, row.title)].append(row)
    nodes_by_title: dict[tuple[str, str], list[Written]] = defaultdict(list)
    for node in written:
        if node.key not in matched:
            nodes_by_title[(node.kind, node.title)].append(node)
    for title, nodes in nodes_by_title.items():
        candidates = rows_by_title.get(title, [])
        for node in nodes:
            same_parent = [row for row in candidates if _parent_key(row.key) == node.parent_key]
            if same_parent:
                pair(node, same_parent[0])
                candidates.remove(same_parent[0])
        left = [node for node in nodes if node.key not in matched]
        if left and len(left) == len(candidates):
            for node, row in zip(left, candidates, strict=True):
                pair(node, row)

    for node in written:
        row = by_key.get(node.key)
        if node.key not in matched and row is not None and row.id not in taken and row.kind == node.kind:
            pair(node, row)
    return matched


def _parent_key(key: str) -> str:
    return key.rpartition("/")[0]
