"""Demo plan revisions (計畫修正), on the calendar the reports were laid on: one sub-project whose end date two
approved revisions moved (seven months from the original plan: the rebaselined rule's red), one whose year's
budget an approved revision cut, one request waiting for its ministry's endorsement, and one the secretariat
rejected after the ministry endorsed it. Each went through the chain as the services would have taken it
(requested by the sub-project's lead, endorsed by its ministry's reviewer, decided by the secretariat), with
its baseline versions: the original plan recorded at the first request, the next version at each approval."""

from __future__ import annotations

import datetime
from decimal import Decimal

from projects.models import BudgetYear, Milestone

from ..models import Baseline, PlanRevision, RevisionAction, RevisionEvent, RevisionStatus
from ..services.revisions import baseline_apply, baseline_content
from .calendar import at

# Sub-projects by their place in the outline.
MOVED_TWICE, CUT_BUDGET, PENDING, REJECTED = 5, 7, 9, 12
FIRST_MOVE, SECOND_MOVE = 120, 90  # days each approved revision moved the end date
BUDGET_CUT = Decimal("0.8")  # the year's appropriation and schedule after the cut, as a share of before


def demo_revisions_load(subprojects, casts, *, on: datetime.date) -> int:
    """The demo's revisions (see the module); how many."""
    made = 0
    if len(subprojects) <= REJECTED:
        return made
    for index in (MOVED_TWICE, CUT_BUDGET, PENDING, REJECTED):  # their dates and budget as the demo set them
        subprojects[index].refresh_from_db(fields=["start_date", "end_date", "budget"])
    node = subprojects[MOVED_TWICE]
    final = Milestone.objects.filter(node=node).order_by("-planned_date").first()
    for days, (ago, reason) in zip(
        (FIRST_MOVE, FIRST_MOVE + SECOND_MOVE),
        ((260, "關鍵設備採購兩次流標，展延四個月。"), (100, "場域業主變更，系統整合測試順延三個月。")),
        strict=True,
    ):
        changes = {"end_date": node.end_date + datetime.timedelta(days=days - _moved(node))}
        if final is not None and final.completed_on is None:
            changes["milestones"] = [{"milestone": final, "planned_date": changes["end_date"]}]
        _revision(node, casts[node.pk], changes, reason, on=on, ago=ago, outcome=RevisionStatus.APPROVED)
        made += 1

    node = subprojects[CUT_BUDGET]
    year = on.year
    budget = BudgetYear.objects.filter(node=node, year=year).first()
    before = (
        {"appropriation": budget.appropriation, **{f"allocation_q{q}": budget.allocation(q) for q in (1, 2, 3, 4)}}
        if budget
        else _budget_from_total(node)
    )
    cut = {name: (value * BUDGET_CUT).quantize(Decimal(1)) for name, value in before.items()}
    changes = {"budgets": [{"year": year, **cut}]}
    _revision(
        node,
        casts[node.pk],
        changes,
        "年度預算遭立法院刪減兩成，依核定數調整分配。",
        on=on,
        ago=70,
        outcome=RevisionStatus.APPROVED,
    )
    node = subprojects[PENDING]
    changes = {"end_date": node.end_date + datetime.timedelta(days=61)}
    _revision(
        node,
        casts[node.pk],
        changes,
        "配合跨機關資料介接時程，展延兩個月。",
        on=on,
        ago=5,
        outcome=RevisionStatus.REQUESTED,
    )
    node = subprojects[REJECTED]
    changes = {"end_date": node.end_date + datetime.timedelta(days=365)}
    _revision(node, casts[node.pk], changes, "人力不足，展延一年。", on=on, ago=40, outcome=RevisionStatus.REJECTED)
    return made + 3


def _moved(node) -> int:
    """Days the approved revisions so far moved the end date from the original plan."""
    original = Baseline.objects.filter(node=node, version=1).values_list("content__end_date", flat=True).first()
    return (node.end_date - datetime.date.fromisoformat(original)).days if original else 0


def _budget_from_total(node) -> dict:
    """A year's appropriation as an even share of the sub-project's budget over its years, allocated evenly."""
    years = node.end_date.year - node.start_date.year + 1
    appropriation = (node.budget / years).quantize(Decimal(1))
    quarter = (appropriation / 4).quantize(Decimal(1), rounding="ROUND_DOWN")
    return {"appropriation": appropriation, **{f"allocation_q{q}": quarter for q in (1, 2, 3, 4)}}


def _stored(changes: dict) -> dict:
    stored = {}
    if "end_date" in changes:
        stored["end_date"] = changes["end_date"].isoformat()
    if "milestones" in changes:
        stored["milestones"] = [
            {"milestone": item["milestone"].pk, "planned_date": item["planned_date"].isoformat()}
            for item in changes["milestones"]
        ]
    if "budgets" in changes:
        stored["budgets"] = [
            {key: value if key == "year" else str(value) for key, value in item.items()} for item in changes["budgets"]
        ]
    return stored


def _revision(node, cast, changes: dict, reason: str, *, on: datetime.date, ago: int, outcome: str) -> PlanRevision:
    requested = at(on - datetime.timedelta(days=ago))
    if not Baseline.objects.filter(node=node).exists():
        Baseline.objects.create(node=node, version=1, content=baseline_content(node), created_at=requested)
    revision = PlanRevision.objects.create(
        node=node, reason=reason, changes=_stored(changes), requested_by=cast.lead, requested_at=requested
    )
    steps = [(RevisionAction.REQUEST, cast.lead, "", RevisionStatus.REQUESTED, requested, "")]
    if outcome != RevisionStatus.REQUESTED:
        revision.endorsed_by, revision.endorsed_at = cast.reviewer, requested + datetime.timedelta(days=3)
        steps.append(
            (
                RevisionAction.ENDORSE,
                cast.reviewer,
                RevisionStatus.REQUESTED,
                RevisionStatus.ENDORSED,
                revision.endorsed_at,
                "",
            )
        )
        revision.decided_by, revision.decided_at = cast.secretariat, requested + datetime.timedelta(days=8)
        if outcome == RevisionStatus.APPROVED:
            version = Baseline.objects.filter(node=node).count() + 1
            baseline_apply(node, changes, at=revision.decided_at)
            Baseline.objects.create(
                node=node,
                version=version,
                content=baseline_content(node),
                revision=revision,
                created_at=revision.decided_at,
            )
            revision.baseline_version = version
            revision.decision_reason = "經審議同意修正。"
            steps.append(
                (RevisionAction.APPROVE, cast.secretariat, RevisionStatus.ENDORSED, outcome, revision.decided_at, "")
            )
        else:
            revision.decision_reason = "展延期間過長，請檢討執行策略後重提。"
            steps.append(
                (
                    RevisionAction.REJECT,
                    cast.secretariat,
                    RevisionStatus.ENDORSED,
                    outcome,
                    revision.decided_at,
                    revision.decision_reason,
                )
            )
        revision.status = outcome
    revision.version = len(steps)
    revision.save()
    for version, (action, actor, from_status, to_status, when, why) in enumerate(steps, start=1):
        RevisionEvent.objects.create(
            revision=revision,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            at=when,
            version=version,
            reason=why,
        )
    return revision
