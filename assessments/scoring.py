"""Suggested scores of the year's assessment, from GSTP's own figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Suggestion:
    score: Decimal | None
    evidence: dict


def suggestions(nodes, year: int) -> dict[int, dict[str, Suggestion]]:
    return {}
