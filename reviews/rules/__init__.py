"""Lag rules: each module finds, for a batch of sub-projects, which of them lag by its rule.

A rule is a module with ``RULE`` (a :class:`LagRule`) and
``evaluate(batch: Batch) -> list[Finding]``, issuing a fixed number of
set-based queries for the whole batch, never one per sub-project.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.db.models import Q, QuerySet

from projects.models import ControlLevel, Plan

from ..models import ACTIVE_STATUSES, LagFlag, LagSettings
from ..periods import Quarter


@dataclass(frozen=True)
class SubProject:
    id: int
    plan_id: int
    start_date: datetime.date | None
    end_date: datetime.date | None
    control_level: str = ControlLevel.AGENCY


# What the scan needs of an existing flag to decide what to do with it.
FLAG_STATE_FIELDS = (
    "id",
    "node_id",
    "rule",
    "year",
    "quarter",
    "status",
    "severity",
    "score",
    "evidence",
    "resolution",
    "overridden_severity",
)


@dataclass(frozen=True)
class FlagState:
    """An existing flag, as far as the scan needs to know it (a row, not a model: there may be many)."""

    id: int
    node_id: int
    rule: str
    year: int
    quarter: int
    status: str
    severity: str
    score: object
    evidence: dict
    resolution: str
    overridden_severity: str


@dataclass
class Batch:
    """The sub-projects one scan step looks at, with their plans' settings."""

    as_of: datetime.date
    subprojects: list[SubProject]
    settings: dict[int, LagSettings]  # by plan id
    plans: dict[int, Plan]
    scope: QuerySet | None = None  # the same sub-projects as SQL, so queries need no list of ids

    @property
    def ids(self) -> list[int]:
        return [sub.id for sub in self.subprojects]

    @property
    def nodes(self):
        """What to filter ``node_id__in`` by: a subquery when the scan gave one, else the ids."""
        return self.scope if self.scope is not None else self.ids

    @cached_property
    def id_range(self) -> tuple[int, int]:
        """The lowest and highest id: with ``nodes``, lets the database read a batch's rows by index range."""
        ids = self.ids
        return (min(ids), max(ids)) if ids else (0, -1)

    def within(self, field: str = "node_id") -> Q:
        """Rows whose ``field`` is one of the batch's sub-projects: in ``nodes``, and in ``id_range`` so that
        the database reads them by index range."""
        low, high = self.id_range
        return Q(**{f"{field}__in": self.nodes, f"{field}__gte": low, f"{field}__lte": high})

    @cached_property
    def active_flags(self) -> list[FlagState]:
        """The batch's open and acknowledged flags, read once for all the rules and the scan."""
        rows = (
            LagFlag.objects.filter(self.within(), status__in=ACTIVE_STATUSES).order_by().values_list(*FLAG_STATE_FIELDS)
        )
        return [FlagState(*row) for row in rows]

    def settings_for(self, sub: SubProject) -> LagSettings:
        """The thresholds the sub-project is judged by: its plan's, as its control level tightens them."""
        return self.settings[sub.plan_id].for_level(sub.control_level)

    def settings_for_id(self, node_id: int) -> LagSettings:
        return self.settings_for(self._subs[node_id])

    def __post_init__(self):
        self._subs = {sub.id: sub for sub in self.subprojects}

    def quarters(self, sub: SubProject) -> tuple[Quarter, Quarter]:
        plan = self.plans[sub.plan_id]
        first = Quarter.containing(sub.start_date) if sub.start_date else Quarter(plan.start_year, 1)
        last = Quarter.containing(sub.end_date) if sub.end_date else Quarter(plan.end_year, 4)
        return first, last


@dataclass
class Finding:
    """A sub-project lagging by a rule in a quarter: how badly, and the numbers that say so."""

    node_id: int
    rule: str
    period: Quarter
    severity: str
    score: Decimal
    evidence: dict = field(default_factory=dict)


def decimal_text(value) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")
