"""The secretariat's work on lag flags: acknowledge, resolve or override, comment; and the thresholds."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp.exceptions import InvalidTransition

from .. import access
from ..models import (
    ACTIVE_STATUSES,
    CommentKind,
    FlagComment,
    FlagResolution,
    FlagStatus,
    LagFlag,
    LagSettings,
    LagSettingsChange,
    LevelSettings,
)
from .notifications import webhook_event_enqueue


def _locked(flag: LagFlag) -> LagFlag:
    return LagFlag.objects.select_for_update().get(pk=flag.pk)


@transaction.atomic
def lag_flag_acknowledge(*, flag: LagFlag, actor) -> LagFlag:
    access.ensure(access.can_acknowledge_flag(actor, flag), access.NOT_SECRETARIAT_TO_ACKNOWLEDGE)
    flag = _locked(flag)
    if flag.status != FlagStatus.OPEN:
        raise InvalidTransition(_("Only an open flag can be acknowledged."))
    flag.status = FlagStatus.ACKNOWLEDGED
    flag.acknowledged_at = timezone.now()
    flag.acknowledged_by = actor
    flag.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    return flag


@transaction.atomic
def lag_flag_resolve(*, flag: LagFlag, actor, reason: str, override: bool = False) -> LagFlag:
    """Resolve a flag by hand, saying why. An override also keeps the next scans from reopening it
    unless its severity gets worse (yellow overridden, red reopens it; more days late, still yellow, do
    not); a plain resolution reopens if the condition still holds."""
    access.ensure(access.can_resolve_flag(actor, flag), access.NOT_SECRETARIAT_TO_RESOLVE)
    if not reason or not reason.strip():
        raise ValidationError({"reason": [_("Say why the flag is resolved.")]})
    flag = _locked(flag)
    if flag.status not in ACTIVE_STATUSES:
        raise InvalidTransition(_("The flag is already resolved."))
    flag.status = FlagStatus.RESOLVED
    flag.resolved_at = timezone.now()
    flag.resolved_by = actor
    flag.resolution = FlagResolution.OVERRIDDEN if override else FlagResolution.RESOLVED
    flag.resolution_reason = reason.strip()
    flag.overridden_severity = flag.severity if override else ""
    flag.overridden_score = flag.score if override else None
    flag.save()
    FlagComment.objects.create(flag=flag, author=actor, kind=CommentKind.COMMENT, body=reason.strip())
    webhook_event_enqueue(flag_resolved=[flag.pk])
    return flag


@transaction.atomic
def lag_flag_comment(*, flag: LagFlag, actor, body: str, kind: str = CommentKind.COMMENT) -> FlagComment:
    """Add to a flag's thread; a lead of the sub-project answers with its improvement plan (改善措施)."""
    access.ensure(access.can_comment_on_flag(actor, flag), access.NOT_ALLOWED_TO_COMMENT)
    if kind == CommentKind.IMPROVEMENT_PLAN:
        access.ensure(access.can_plan_improvement(actor, flag), access.NOT_LEAD_TO_PLAN_IMPROVEMENT)
    if not body or not body.strip():
        raise ValidationError({"body": [_("Write something.")]})
    comment = FlagComment(flag=flag, author=actor, kind=kind, body=body.strip())
    comment.full_clean()
    comment.save()
    LagFlag.objects.filter(pk=flag.pk).update(updated_at=timezone.now())
    return comment


@transaction.atomic
def lag_settings_update(
    *, lag_settings: LagSettings, actor, values: dict, levels: dict[str, dict] | None = None
) -> LagSettings:
    """Change a plan's thresholds and its control levels' settings (``levels``: the values of each level's
    row, made from the level's defaults when it has none), recording who changed what from what in one row:
    ``{field: [before, after], "levels": {level: {field: [before, after]}}}``. Every level's row is checked
    against the plan's thresholds as they now are: a level tightens them, never loosens them."""
    access.ensure(access.can_change_lag_settings(actor, lag_settings), access.NOT_ALLOWED_TO_CHANGE_LAG_SETTINGS)
    before = LagSettings.objects.select_for_update().get(pk=lag_settings.pk) if lag_settings.pk else None
    changes = {}
    for field, value in values.items():
        old = getattr(before, field) if before else None
        if old != value:
            changes[field] = [_plain(old), _plain(value)]
        setattr(lag_settings, field, value)
    lag_settings.full_clean()
    lag_settings.save()
    level_changes = _levels_update(lag_settings, levels or {})
    if level_changes:
        changes["levels"] = level_changes
    if changes:
        LagSettingsChange.objects.create(lag_settings=lag_settings, actor=actor, changes=changes)
    return lag_settings


def _levels_update(lag_settings: LagSettings, levels: dict[str, dict]) -> dict:
    rows = {row.level: row for row in LevelSettings.objects.select_for_update().filter(lag_settings=lag_settings)}
    changes = {}
    for level, level_values in levels.items():
        row = rows.get(level) or LevelSettings.default(lag_settings, level)
        changed = {}
        for field, value in level_values.items():
            if getattr(row, field) != value:
                changed[field] = [_plain(getattr(row, field)), _plain(value)]
            setattr(row, field, value)
        if changed:
            rows[level] = row
            changes[level] = changed
    errors = {}
    for level, row in rows.items():
        row.lag_settings = lag_settings  # judged by the plan's thresholds as just saved
        try:
            row.full_clean()
        except ValidationError as exc:
            errors.update({f"{level}.{field}": messages for field, messages in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    for level in changes:
        rows[level].save()
    return changes


def _plain(value):
    return None if value is None else str(value) if not isinstance(value, bool | int) else value
