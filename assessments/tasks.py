"""Celery jobs of the year's assessment. Thin: they take ids and ISO dates, and call ``notifications``."""

import datetime

from celery import shared_task

from reviews.periods import today
from reviews.tasks import MAIL

from . import notifications

LONG = {"acks_late": True, "soft_time_limit": 25 * 60, "time_limit": 30 * 60}
SHORT = {"acks_late": True, "soft_time_limit": 60, "time_limit": 120}


@shared_task(name="assessments.notify_step", **SHORT, **MAIL)
def notify_step(assessment_id: int, step: str, version: int) -> bool:
    return notifications.notify_step(assessment_id=assessment_id, step=step, version=version)


@shared_task(name="assessments.notify_published", **LONG, **MAIL)
def notify_published(scheme_id: int) -> int:
    return notifications.notify_published(scheme_id=scheme_id)


@shared_task(name="assessments.due_reminders", **LONG, **MAIL)
def due_reminders(on: str | None = None) -> int:
    return notifications.due_reminders(on=datetime.date.fromisoformat(on) if on else today())
