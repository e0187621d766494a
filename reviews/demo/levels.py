"""The demo plan's control levels (列管等級): in each group the sub-projects with the largest budgets are
watched by the Executive Yuan (院列管, about one in ten), the next by their ministries (部會列管, about one in
four), the rest by their own agencies (自行列管); and the plan's lag settings hold 院列管 to tighter
thresholds, reporting monthly, as the secretariat set them before the sub-projects began."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from projects.models import ControlLevel, PlanNode

from ..models import LagSettings, LagSettingsChange, Rhythm
from ..services import lag_settings_update
from .calendar import at
from .figures import budget_of

# Each level's share of a group's sub-projects, the largest budgets first; the rest are 自行列管.
SHARES = [(ControlLevel.EXECUTIVE_YUAN, Decimal("0.10")), (ControlLevel.MINISTRY, Decimal("0.25"))]
EXECUTIVE_YUAN_SETTINGS = {
    "rhythm": Rhythm.MONTHLY,
    "progress_gap_yellow": Decimal(-3),
    "progress_gap_red": Decimal(-7),
    "budget_yellow_below": Decimal(95),
    "late_red_days_after_quarter_end": 20,
}


def demo_levels_set(subprojects: list[PlanNode], secretariat, calendars) -> dict[str, int]:
    """Give the sub-projects (in outline order, as the demo's figures count them) their levels, and each plan
    (``calendars``: its demo calendar by plan id) its 院列管 settings; how many sub-projects each level has."""
    by_group = defaultdict(list)
    for index, node in enumerate(subprojects):
        by_group[node.path_ids[0]].append((-budget_of(index), node.path, node))
    levels = {}
    for group in by_group.values():
        ranked = [node for _budget, _path, node in sorted(group, key=lambda item: item[:2])]
        start = 0
        for level, share in SHARES:
            count = int((len(ranked) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            if level == ControlLevel.EXECUTIVE_YUAN:
                count = max(count, 1)
            for node in ranked[start : start + count]:
                levels[node.pk] = level
            start += count
    for node in subprojects:
        node.control_level = levels.get(node.pk, ControlLevel.AGENCY)
    for level in ControlLevel.values:
        PlanNode.objects.filter(pk__in=[node.pk for node in subprojects if node.control_level == level]).update(
            control_level=level
        )
    for plan_id, calendar in calendars.items():
        settings, _created = LagSettings.objects.get_or_create(plan_id=plan_id)
        lag_settings_update(
            lag_settings=settings,
            actor=secretariat,
            values={},
            levels={ControlLevel.EXECUTIVE_YUAN: EXECUTIVE_YUAN_SETTINGS},
        )
        LagSettingsChange.objects.filter(lag_settings=settings, changes__has_key="levels").update(
            at=at(calendar.start - datetime.timedelta(days=7))
        )
    return {level: sum(node.control_level == level for node in subprojects) for level in ControlLevel.values}
