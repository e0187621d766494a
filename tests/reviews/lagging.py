"""Sub-projects of each kind the lag scan tells apart, and what a scan as of ``AS_OF`` leaves: shared by the
scan's tests (tests/reviews/test_scan.py pins what each kind is flagged for) and the worker fault tests."""

import datetime
from decimal import Decimal

from reviews.models import LagFlag, QuarterlyReport
from reviews.periods import Quarter
from tests.projects.factories import MilestoneFactory
from tests.reviews.factories import QuarterlyReportFactory
from tests.reviews.rules.builders import taipei

D = Decimal
AS_OF = datetime.date(2024, 11, 15)
Q2, Q3 = Quarter(2024, 2), Quarter(2024, 3)

ON_PLAN = {
    "planned_progress": D(60),
    "actual_progress": D(60),
    "budget_allocated": D(1_000_000),
    "budget_spent": D(950_000),
}


def accepted(sub, period=Q3, **figures) -> QuarterlyReport:
    """An accepted report, on plan unless ``figures`` say otherwise."""
    return QuarterlyReportFactory(node=sub, period=period, accepted=True, **{**ON_PLAN, **figures})


def _green(sub):
    accepted(sub)


def _behind(sub):  # progress gap -8: yellow, 2024Q3
    accepted(sub, actual_progress=D(52))


def _underspent(sub):  # 70 % spent: red, 2024Q3
    accepted(sub, budget_spent=D(700_000))


def _late(sub):  # 2024Q3 missing 46 days after quarter end: red, 2024Q3
    accepted(sub, period=Q2)


def _milestone(sub):  # a milestone 45 days late: yellow, 2024Q4 (the quarter of the scan)
    accepted(sub)
    MilestoneFactory(node=sub, planned_date=datetime.date(2024, 10, 1))


def _slipping(sub):  # 7 then 6 points behind, flagged for 2024Q2 already: 2024Q3 red, 2024Q2 cleared
    accepted(sub, period=Q2, actual_progress=D(53))
    accepted(sub, actual_progress=D(54))


def _returned(sub):  # 2024Q3 returned on 2024-10-20, not resubmitted: red, 2024Q3
    QuarterlyReportFactory(node=sub, period=Q3, returned=True, returned_at=taipei(2024, 10, 20))


KINDS = {
    "green": _green,
    "behind": _behind,
    "underspent": _underspent,
    "late": _late,
    "milestone": _milestone,
    "slipping": _slipping,
    "returned": _returned,
}


def state() -> dict:
    """Every flag by (sub-project, rule, period), with what a scan decides about it (not ids or times)."""
    return {
        (f.node_id, f.rule, f.period): (f.severity, f.status, f.resolution, f.score, f.evidence)
        for f in LagFlag.objects.all()
    }
