"""Quarter locks (DHIS2's data-set locks): the secretariat closes a quarter of a plan to filing and edits,
and lets single sub-projects in again until a date. Review actions are never locked."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .. import access
from ..models import LockException, QuarterLock
from ..periods import Quarter, today


@transaction.atomic
def quarter_lock_create(*, actor, plan, period: Quarter, reason: str = "") -> QuarterLock:
    access.ensure(access.can_lock_quarters(actor), access.NOT_SECRETARIAT_TO_LOCK)
    if not plan.start_year <= period.year <= plan.end_year:
        raise ValidationError({"period": [_("%(period)s is outside the plan's years.") % {"period": period}]})
    try:
        with transaction.atomic():
            return QuarterLock.objects.create(
                plan=plan, year=period.year, quarter=period.quarter, reason=reason.strip(), locked_by=actor
            )
    except IntegrityError as exc:
        raise ValidationError({"period": [_("%(period)s is locked already.") % {"period": period}]}) from exc


@transaction.atomic
def quarter_lock_delete(*, actor, lock: QuarterLock) -> None:
    access.ensure(access.can_lock_quarters(actor), access.NOT_SECRETARIAT_TO_LOCK)
    lock.delete()


@transaction.atomic
def lock_exception_grant(
    *, actor, lock: QuarterLock, node, expires_on: datetime.date, reason: str = ""
) -> LockException:
    """Let one sub-project file and edit the locked quarter until ``expires_on``; a second grant moves the date."""
    access.ensure(access.can_lock_quarters(actor), access.NOT_SECRETARIAT_TO_LOCK)
    if node.plan_id != lock.plan_id:
        raise ValidationError({"project": [_("The sub-project belongs to another plan.")]})
    if expires_on < today():
        raise ValidationError({"expires_on": [_("The date has passed already.")]})
    exception, _created = LockException.objects.update_or_create(
        lock=lock, node=node, defaults={"expires_on": expires_on, "reason": reason.strip(), "granted_by": actor}
    )
    return exception


@transaction.atomic
def lock_exception_revoke(*, actor, exception: LockException) -> None:
    access.ensure(access.can_lock_quarters(actor), access.NOT_SECRETARIAT_TO_LOCK)
    exception.delete()
