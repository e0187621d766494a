"""Building blocks for the lag-rule tests: sub-projects with their plan's thresholds, and a ``Batch`` over them.

Everything here runs before a test counts queries, so the counts are the rule's own.
"""

import datetime
import zoneinfo

from indicators.models import Indicator
from projects.models import Plan
from reviews.models import LagFlag, LagSettings
from reviews.periods import Quarter
from reviews.rules import Batch, SubProject
from reviews.selectors import plan_settings
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import LagFlagFactory

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")


def subprojects(count: int = 1, *, plan=None, **thresholds):
    """``count`` sub-projects (2021-01-01 to 2025-12-31) of ``plan`` (a new one by default), led by a new agency;
    the plan's ``LagSettings`` are the defaults changed by ``thresholds``."""
    plan = plan or PlanFactory()
    LagSettings.objects.update_or_create(plan=plan, defaults=thresholds)
    _group, _strategy, _measure, subs = make_tree(plan, lead_agency=AgencyFactory(), subprojects=count)
    return subs


def batch_of(subs, *, as_of: datetime.date) -> Batch:
    """The ``Batch`` the scan would build for these sub-projects, read fresh from the database."""
    plan_ids = {sub.plan_id for sub in subs}
    return Batch(
        as_of=as_of,
        subprojects=[SubProject(sub.pk, sub.plan_id, sub.start_date, sub.end_date, sub.control_level) for sub in subs],
        settings=plan_settings(plan_ids),
        plans={plan.pk: plan for plan in Plan.objects.filter(pk__in=plan_ids)},
    )


def only(findings, node_id=None):
    """The single finding (of ``node_id``, when given); fails with the list when there is not exactly one."""
    matching = [f for f in findings if node_id is None or f.node_id == node_id]
    assert len(matching) == 1, matching
    return matching[0]


def taipei(year, month, day, hour=12, minute=0) -> datetime.datetime:
    """An aware datetime at this wall-clock time in Asia/Taipei (the project's TIME_ZONE)."""
    return datetime.datetime(year, month, day, hour, minute, tzinfo=TAIPEI)


def flag(node, rule, period: Quarter, severity="yellow", **fields) -> LagFlag:
    """A flag row as an earlier scan would have left it."""
    fields.setdefault("evidence", {})
    return LagFlagFactory(node=node, rule=rule, period=period, severity=severity, **fields)


def indicator(node, *, targets=(), actuals=(), **fields) -> Indicator:
    """A sub-project indicator with (year, quarter, value) targets and actuals (quarter 0: the whole year)."""
    return IndicatorFactory(node=node, targets=targets, actuals=actuals, **fields)
