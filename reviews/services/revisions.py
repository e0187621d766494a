"""Writes to plan revisions (計畫修正) and baselines (基準版本).

A lead requests a revision of a sub-project's baseline; where the plan asks for it the ministry's reviewer
endorses (or rejects) it; the secretariat approves (核定) or rejects (駁回) it; the lead may withdraw it
until it is decided. Approval writes the changes to the live fields (``PlanNode.end_date``,
``Milestone.planned_date`` and ``weight``, ``BudgetYear``, ``IndicatorTarget``) and records the next baseline
version, in one transaction: the live fields are always the latest approved baseline, which the lag rules
measure against.

Version 1 (the original plan, 原計畫) is recorded at the sub-project's first revision request, before any
change could be applied. Until then nothing has moved the baseline: in-place edits stop at the first
accepted report (``access.baseline_frozen``), and a request's snapshot of the live fields is therefore the
plan as it was first accepted against.

Every write checks the actor and the transition on the server, saves through a conditional update on
``version`` (a stale ETag loses, whatever the timing) and appends a ``RevisionEvent``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp.exceptions import InvalidTransition, StaleVersion
from indicators import services as indicator_services
from indicators.models import Indicator, IndicatorTarget
from projects.models import ALLOCATION_FIELDS, BudgetYear, Milestone, NodeKind, PlanNode

from .. import access
from ..models import (
    CHANGE_KEYS,
    OPEN_REVISION_STATUSES,
    Baseline,
    PlanRevision,
    RevisionAction,
    RevisionEvent,
    RevisionStatus,
)
from .budgets import most_executed
from .notifications import revision_step_notify_enqueue, webhook_event_enqueue
from .outbox import outbox_enqueue

HUNDRED = Decimal(100)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --- baselines -----------------------------------------------------------------------------------------


def baseline_content(node: PlanNode) -> dict:
    """The sub-project's baseline as the live fields hold it now, whole."""
    milestones = Milestone.objects.filter(node=node).order_by("planned_date", "id")
    budgets = BudgetYear.objects.filter(node=node).order_by("year")
    targets = IndicatorTarget.objects.filter(indicator__node=node).order_by("indicator_id", "year", "quarter")
    return {
        "start_date": _text(node.start_date),
        "end_date": _text(node.end_date),
        "milestones": [
            {"id": m.pk, "title": m.title, "planned_date": _text(m.planned_date), "weight": _text(m.weight)}
            for m in milestones
        ],
        "budgets": [
            {
                "year": budget.year,
                "appropriation": _text(budget.appropriation),
                "allocations": [_text(amount) for amount in budget.schedule],
            }
            for budget in budgets
        ],
        "indicator_targets": [
            {"indicator": t.indicator_id, "year": t.year, "quarter": t.quarter, "value": _text(t.value)}
            for t in targets
        ],
    }


def baseline_ensure_original(*, node: PlanNode) -> Baseline:
    """Version 1 of the sub-project's baseline, recorded from the live fields if it is not yet."""
    original = Baseline.objects.filter(node=node, version=1).first()
    if original is not None:
        return original
    try:
        with transaction.atomic():
            return Baseline.objects.create(node=node, version=1, content=baseline_content(node))
    except IntegrityError:  # another request recorded it first
        return Baseline.objects.get(node=node, version=1)


# --- validation ------------------------------------------------------------------------------------------


def _validate_changes(node: PlanNode, changes: dict) -> None:
    """Rules on the proposed changes against the sub-project as it stands; raises ValidationError naming each
    field. ``changes`` holds objects (dates, Decimals, milestones, indicators) as the input parsed them."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if not any(changes.get(key) not in (None, []) for key in CHANGE_KEYS):
        add("non_field_errors", _("Propose at least one change: an end date, milestones, budgets or targets."))
    end_date = changes.get("end_date") or node.end_date
    if changes.get("end_date") and node.start_date and changes["end_date"] < node.start_date:
        add(
            "end_date",
            _("The end date must not be before the sub-project's start date (%(start)s).")
            % {"start": node.start_date.isoformat()},
        )

    milestone_changes = changes.get("milestones") or []
    if milestone_changes:
        own = {m.pk: m for m in Milestone.objects.filter(node=node)}
        seen = set()
        weights = {pk: m.weight for pk, m in own.items()}
        for index, item in enumerate(milestone_changes, start=1):
            milestone = item["milestone"]
            if milestone.pk not in own:
                add("milestones", _("Item %(index)s: the milestone belongs to another sub-project.") % {"index": index})
                continue
            if milestone.pk in seen:
                add("milestones", _("A milestone is listed more than once."))
            seen.add(milestone.pk)
            if "planned_date" not in item and "weight" not in item:
                add("milestones", _("Item %(index)s: give a new planned date or weight.") % {"index": index})
            planned = item.get("planned_date")
            if planned and node.start_date and planned < node.start_date:
                add(
                    "milestones",
                    _("Item %(index)s: the planned date is before the sub-project's start.") % {"index": index},
                )
            if planned and end_date and planned > end_date:
                add(
                    "milestones",
                    _("Item %(index)s: the planned date is after the sub-project's end (%(end)s).")
                    % {"index": index, "end": end_date.isoformat()},
                )
            if "weight" in item:
                weights[milestone.pk] = item["weight"]
        if any("weight" in item for item in milestone_changes):
            total = sum(weights.values(), Decimal(0))
            if total != HUNDRED:
                add(
                    "milestones",
                    _("The milestones' weights would add up to %(total)s%%; they must add up to 100%%.")
                    % {"total": format(total.normalize(), "f")},
                )

    years = set()
    for index, item in enumerate(changes.get("budgets") or [], start=1):
        year = item["year"]
        if year in years:
            add("budgets", _("The year %(year)s is listed more than once.") % {"year": year})
        years.add(year)
        plan = node.plan
        if not plan.start_year <= year <= plan.end_year:
            add(
                "budgets",
                _("Item %(index)s: %(year)s is outside the plan's years (%(first)s-%(last)s).")
                % {"index": index, "year": year, "first": plan.start_year, "last": plan.end_year},
            )
        allocated = sum((item.get(name) or Decimal(0) for name in ALLOCATION_FIELDS), Decimal(0))
        if allocated > item["appropriation"]:
            add(
                "budgets",
                _(
                    "Item %(index)s: the allocations add up to %(allocated)s, "
                    "more than the appropriation %(appropriation)s."
                )
                % {"index": index, "allocated": _text(allocated), "appropriation": _text(item["appropriation"])},
            )
        executed = most_executed(node, year)
        if executed is not None and executed > item["appropriation"]:
            add(
                "budgets",
                _(
                    "Item %(index)s: a report of %(year)s gives %(executed)s spent, payables and savings, "
                    "more than the appropriation %(appropriation)s."
                )
                % {
                    "index": index,
                    "year": year,
                    "executed": _text(executed),
                    "appropriation": _text(item["appropriation"]),
                },
            )

    seen_targets = set()
    for index, item in enumerate(changes.get("indicator_targets") or [], start=1):
        indicator = item["indicator"]
        if indicator.node_id != node.pk:
            add(
                "indicator_targets",
                _("Item %(index)s: the indicator belongs to another sub-project or to the plan.") % {"index": index},
            )
        key = (indicator.pk, item["year"], item.get("quarter", 0))
        if key in seen_targets:
            add("indicator_targets", _("A target is listed more than once."))
        seen_targets.add(key)
    if errors:
        raise ValidationError(errors)


def _as_json(changes: dict) -> dict:
    """The proposed changes as stored: ids, ISO dates and decimal strings."""
    stored = {}
    if changes.get("end_date"):
        stored["end_date"] = _text(changes["end_date"])
    if changes.get("milestones"):
        stored["milestones"] = [
            {
                "milestone": item["milestone"].pk,
                **({"planned_date": _text(item["planned_date"])} if item.get("planned_date") else {}),
                **({"weight": _text(item["weight"])} if "weight" in item else {}),
            }
            for item in changes["milestones"]
        ]
    if changes.get("budgets"):
        stored["budgets"] = [
            {
                "year": item["year"],
                "appropriation": _text(item["appropriation"]),
                **{name: _text(item.get(name) or Decimal(0)) for name in ALLOCATION_FIELDS},
            }
            for item in sorted(changes["budgets"], key=lambda item: item["year"])
        ]
    if changes.get("indicator_targets"):
        stored["indicator_targets"] = [
            {
                "indicator": item["indicator"].pk,
                "year": item["year"],
                "quarter": item.get("quarter", 0),
                "value": _text(item["value"]),
            }
            for item in changes["indicator_targets"]
        ]
    return stored


def _as_objects(node: PlanNode, stored: dict) -> dict:
    """Stored changes read back as objects, for validating them again when the revision is edited or
    approved. A milestone or indicator deleted since is named as such."""
    changes: dict = {}
    if stored.get("end_date"):
        changes["end_date"] = datetime.date.fromisoformat(stored["end_date"])
    if stored.get("milestones"):
        found = Milestone.objects.in_bulk([item["milestone"] for item in stored["milestones"]])
        items = []
        for item in stored["milestones"]:
            milestone = found.get(item["milestone"])
            if milestone is None:
                raise ValidationError({"milestones": [_("A milestone of this revision no longer exists.")]})
            parsed = {"milestone": milestone}
            if item.get("planned_date"):
                parsed["planned_date"] = datetime.date.fromisoformat(item["planned_date"])
            if "weight" in item:
                parsed["weight"] = Decimal(item["weight"])
            items.append(parsed)
        changes["milestones"] = items
    if stored.get("budgets"):
        changes["budgets"] = [
            {"year": item["year"], "appropriation": Decimal(item["appropriation"])}
            | {name: Decimal(item[name]) for name in ALLOCATION_FIELDS}
            for item in stored["budgets"]
        ]
    if stored.get("indicator_targets"):
        found = Indicator.objects.in_bulk([item["indicator"] for item in stored["indicator_targets"]])
        items = []
        for item in stored["indicator_targets"]:
            indicator = found.get(item["indicator"])
            if indicator is None:
                raise ValidationError({"indicator_targets": [_("An indicator of this revision no longer exists.")]})
            items.append(
                {
                    "indicator": indicator,
                    "year": item["year"],
                    "quarter": item["quarter"],
                    "value": Decimal(item["value"]),
                }
            )
        changes["indicator_targets"] = items
    return changes


def _required_reason(reason: str, field: str, message) -> str:
    if not reason or not reason.strip():
        raise ValidationError({field: [message]})
    return reason.strip()


# --- the chain -------------------------------------------------------------------------------------------


def _ensure_version(revision: PlanRevision, expected_version: int) -> None:
    if expected_version != revision.version:
        raise StaleVersion(_("The revision has changed since it was read; fetch it again and retry with the new ETag."))


def _conditional_save(revision: PlanRevision, *, expected_version: int, fields) -> None:
    """Write ``fields`` only if the revision is still at ``expected_version``; the loser of a race gets 412."""
    now = timezone.now()
    values = {field: getattr(revision, field) for field in fields}
    updated = PlanRevision.objects.filter(pk=revision.pk, version=expected_version).update(
        **values, version=expected_version + 1, updated_at=now
    )
    if not updated:
        raise StaleVersion(_("The revision has changed since it was read; fetch it again and retry with the new ETag."))
    revision.version = expected_version + 1
    revision.updated_at = now


def _record(revision, *, actor, action, from_status, changes=None, reason="") -> None:
    RevisionEvent.objects.create(
        revision=revision,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=revision.status,
        version=revision.version,
        changes=changes or {},
        reason=reason,
    )


def _ensure_open(revision: PlanRevision, message) -> None:
    if revision.status not in OPEN_REVISION_STATUSES:
        raise InvalidTransition(message)


@transaction.atomic
def revision_request(*, actor, node: PlanNode, reason: str, changes: dict) -> PlanRevision:
    """A lead of the sub-project asks to revise its baseline; the original plan is recorded first if it is not yet."""
    if node.kind != NodeKind.SUBPROJECT:
        raise ValidationError({"project": [_("Plans are revised for sub-projects.")]})
    access.ensure(access.can_request_revision(actor, node), access.NOT_LEAD_TO_REQUEST_REVISION)
    reason = _required_reason(reason, "reason", _("Say why the plan should be revised."))
    _validate_changes(node, changes)
    if PlanRevision.objects.filter(node=node, status__in=OPEN_REVISION_STATUSES).exists():
        raise InvalidTransition(_("This sub-project already has a revision waiting for a decision."))
    baseline_ensure_original(node=node)
    revision = PlanRevision(node=node, reason=reason, changes=_as_json(changes), requested_by=actor)
    try:
        with transaction.atomic():
            revision.save()
    except IntegrityError as exc:  # a second request raced this one
        raise InvalidTransition(_("This sub-project already has a revision waiting for a decision.")) from exc
    _record(revision, actor=actor, action=RevisionAction.REQUEST, from_status="", changes=revision.changes)
    _announce_request(revision)
    return revision


def _announce_request(revision: PlanRevision) -> None:
    level = access.revision_review_level(revision)
    revision_step_notify_enqueue(revision, step="endorse" if level == access.ReviewLevel.MINISTRY else "decide")
    webhook_event_enqueue(revision_requested=[revision])


@transaction.atomic
def revision_update(*, actor, revision: PlanRevision, expected_version: int, data: dict) -> PlanRevision:
    """A lead changes its request while nobody has acted on it; keys not in ``data`` keep their values."""
    access.ensure(access.can_edit_revision(actor, revision), access.NOT_LEAD_TO_EDIT_REVISION)
    _ensure_version(revision, expected_version)
    if revision.status != RevisionStatus.REQUESTED:
        raise InvalidTransition(_("Only a revision nobody has acted on yet can be changed."))
    fields = []
    if "reason" in data:
        revision.reason = _required_reason(data["reason"], "reason", _("Say why the plan should be revised."))
        fields.append("reason")
    proposed = {key: data[key] for key in CHANGE_KEYS if key in data}
    before = revision.changes
    if proposed:
        changes = _as_objects(revision.node, revision.changes) | proposed
        _validate_changes(revision.node, changes)
        revision.changes = _as_json(changes)
        fields.append("changes")
    _conditional_save(revision, expected_version=expected_version, fields=fields)
    diff = {"before": before, "after": revision.changes} if revision.changes != before else {}
    _record(revision, actor=actor, action=RevisionAction.UPDATE, from_status=revision.status, changes=diff)
    return revision


@transaction.atomic
def revision_withdraw(*, actor, revision: PlanRevision, expected_version: int, reason: str = "") -> PlanRevision:
    """The lead takes back its request before it is decided."""
    access.ensure(access.can_withdraw_revision(actor, revision), access.NOT_LEAD_TO_EDIT_REVISION)
    _ensure_version(revision, expected_version)
    _ensure_open(revision, _("Only a revision waiting for a decision can be withdrawn."))
    from_status = revision.status
    revision.status = RevisionStatus.WITHDRAWN
    _conditional_save(revision, expected_version=expected_version, fields=["status"])
    _record(revision, actor=actor, action=RevisionAction.WITHDRAW, from_status=from_status, reason=reason.strip())
    return revision


@transaction.atomic
def revision_endorse(*, actor, revision: PlanRevision, expected_version: int) -> PlanRevision:
    """The ministry's reviewer vouches for a requested revision (初核): it goes on to the secretariat."""
    access.ensure_revision_decider(
        access.may_endorse_revision, actor, revision, access.NOT_REVIEWER_TO_ENDORSE_REVISION
    )
    _ensure_version(revision, expected_version)
    if access.revision_review_level(revision) != access.ReviewLevel.MINISTRY:
        if revision.status == RevisionStatus.REQUESTED:
            raise InvalidTransition(_("This plan's revisions go straight to the Executive Secretariat."))
        raise InvalidTransition(_("Only a requested revision can be endorsed."))
    revision.status = RevisionStatus.ENDORSED
    revision.endorsed_at = timezone.now()
    revision.endorsed_by = actor
    _conditional_save(revision, expected_version=expected_version, fields=["status", "endorsed_at", "endorsed_by"])
    _record(revision, actor=actor, action=RevisionAction.ENDORSE, from_status=RevisionStatus.REQUESTED)
    revision_step_notify_enqueue(revision, step="decide")
    return revision


@transaction.atomic
def revision_reject(*, actor, revision: PlanRevision, expected_version: int, reason: str) -> PlanRevision:
    """駁回: the reviewer rejects a request waiting for its endorsement, or the secretariat one waiting for its
    decision, saying why. The baseline stays as it is."""
    access.ensure_revision_decider(access.may_reject_revision, actor, revision, access.NOT_ALLOWED_TO_REJECT_REVISION)
    _ensure_version(revision, expected_version)
    level = access.revision_review_level(revision)
    if level is None:
        raise InvalidTransition(_("Only a revision waiting for a decision can be rejected."))
    if access.oversees(actor):
        if level != access.ReviewLevel.SECRETARIAT:
            raise InvalidTransition(_("The revision waits for its ministry's endorsement first."))
    elif level != access.ReviewLevel.MINISTRY:
        raise InvalidTransition(_("Only a revision waiting for the ministry's endorsement can be rejected by it."))
    reason = _required_reason(reason, "reason", _("Say why the revision is rejected."))
    from_status = revision.status
    revision.status = RevisionStatus.REJECTED
    revision.decision_reason = reason
    revision.decided_at = timezone.now()
    revision.decided_by = actor
    _conditional_save(
        revision, expected_version=expected_version, fields=["status", "decision_reason", "decided_at", "decided_by"]
    )
    _record(revision, actor=actor, action=RevisionAction.REJECT, from_status=from_status, reason=reason)
    _announce_decision(revision)
    return revision


@transaction.atomic
def revision_approve(*, actor, revision: PlanRevision, expected_version: int, reason: str = "") -> PlanRevision:
    """核定: the secretariat approves a revision waiting for it. Its changes are written to the live fields and
    the next baseline version is recorded, in this transaction; the sub-project is scanned once this commits."""
    access.ensure_revision_decider(
        access.may_approve_revision, actor, revision, access.NOT_SECRETARIAT_TO_APPROVE_REVISION
    )
    _ensure_version(revision, expected_version)
    if access.revision_review_level(revision) != access.ReviewLevel.SECRETARIAT:
        if revision.status == RevisionStatus.REQUESTED:
            raise InvalidTransition(_("The revision waits for its ministry's endorsement first."))
        raise InvalidTransition(_("Only a revision waiting for the Executive Secretariat can be approved."))
    node = PlanNode.objects.select_for_update().get(pk=revision.node_id)
    changes = _as_objects(node, revision.changes)
    _validate_changes(node, changes)
    latest = Baseline.objects.filter(node=node).aggregate(latest=Max("version"))["latest"]
    if latest is None:  # a revision requested before baselines were kept
        latest = baseline_ensure_original(node=node).version
    from_status = revision.status
    revision.status = RevisionStatus.APPROVED
    revision.decision_reason = reason.strip()
    revision.decided_at = timezone.now()
    revision.decided_by = actor
    revision.baseline_version = latest + 1
    _conditional_save(
        revision,
        expected_version=expected_version,
        fields=["status", "decision_reason", "decided_at", "decided_by", "baseline_version"],
    )
    baseline_apply(node, changes)
    Baseline.objects.create(node=node, version=latest + 1, content=baseline_content(node), revision=revision)
    _record(
        revision, actor=actor, action=RevisionAction.APPROVE, from_status=from_status, reason=revision.decision_reason
    )
    # The new baseline may clear or raise this sub-project's flags (and rebaselined ones): scan it after commit.
    outbox_enqueue("reviews.scan_lagging", node_ids=[node.pk])
    _announce_decision(revision)
    return revision


def baseline_apply(node: PlanNode, changes: dict, *, at=None) -> None:
    """Write approved changes to the live fields, through the models (their history records each change, dated
    ``at`` when given: a change loaded as having happened then)."""

    def saved(instance, **kwargs):
        if at is not None:
            instance._history_date = at
        instance.save(**kwargs)

    if changes.get("end_date"):
        node.end_date = changes["end_date"]
        saved(node, update_fields=["end_date", "updated_at"])
    for item in changes.get("milestones") or []:
        milestone = item["milestone"]
        fields = [name for name in ("planned_date", "weight") if name in item]
        for name in fields:
            setattr(milestone, name, item[name])
        saved(milestone, update_fields=[*fields, "updated_at"])
    for item in changes.get("budgets") or []:
        values = {"appropriation": item["appropriation"], **{name: item[name] for name in ALLOCATION_FIELDS}}
        budget = BudgetYear.objects.filter(node=node, year=item["year"]).first()
        if budget is None:
            saved(BudgetYear(node=node, year=item["year"], **values))
            continue
        for name, value in values.items():
            setattr(budget, name, value)
        saved(budget, update_fields=[*values, "updated_at"])
    for item in changes.get("indicator_targets") or []:
        target = IndicatorTarget.objects.filter(
            indicator=item["indicator"], year=item["year"], quarter=item["quarter"]
        ).first()
        if target is None:
            target = IndicatorTarget(indicator=item["indicator"], year=item["year"], quarter=item["quarter"])
        target.value = item["value"]
        saved(target)
    # A revised target changes its indicator's evaluation: mirrors see the indicator again.
    indicator_services.indicators_touch(
        indicator_ids={item["indicator"].pk for item in changes.get("indicator_targets") or []}
    )


def _announce_decision(revision: PlanRevision) -> None:
    revision_step_notify_enqueue(revision, step="decided")
    webhook_event_enqueue(revision_decided=[revision])
