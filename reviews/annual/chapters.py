"""Chapters the apps above ``reviews`` add to the annual report, after its own.

An app registers a builder once, from its ``AppConfig.ready``::

    from reviews.annual import chapters

    def assessment_chapter(*, plan, year, user, number):
        return [Heading(1, numbered(number, "年度考評結果")), Table(...), Chart(...)]

    chapters.register(assessment_chapter)

The report calls each builder in the order registered, with the plan, the year, the user it is built for (the
builder shows only what that user may see) and ``number``, the chapter's number (伍, 陸, …) following the
report's own; it runs in the report's calendar (``gstp.calendar.format_year`` writes the year as the report
does). A builder returns the chapter's blocks, its level-1 heading first, or none to leave the chapter out (the
next chapter then takes the number). Its queries are its own: the report reads nothing more for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .wording import capital_numeral

if TYPE_CHECKING:
    from projects.models import Plan

    from .document import Block


class ChapterBuilder(Protocol):
    def __call__(self, *, plan: Plan, year: int, user, number: str) -> Sequence[Block]: ...


_builders: list[ChapterBuilder] = []


def register(builder: ChapterBuilder) -> ChapterBuilder:
    """Add ``builder``'s chapter after those registered before it; registering it again changes nothing.
    Returns the builder, so it may be used as a decorator."""
    if builder not in _builders:
        _builders.append(builder)
    return builder


def unregister(builder: ChapterBuilder) -> None:
    if builder in _builders:
        _builders.remove(builder)


def registered() -> tuple[ChapterBuilder, ...]:
    return tuple(_builders)


def chapters_build(*, plan: Plan, year: int, user, first_number: int) -> list[Block]:
    """The registered chapters' blocks, numbered from ``first_number`` on; a builder with nothing to say
    takes no number."""
    blocks: list[Block] = []
    number = first_number
    for builder in registered():
        chapter = list(builder(plan=plan, year=year, user=user, number=capital_numeral(number)))
        if chapter:
            blocks.extend(chapter)
            number += 1
    return blocks
