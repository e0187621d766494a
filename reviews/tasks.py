"""Celery jobs. Thin: they take ids and ISO dates, and call a service."""

import datetime
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import services
from .periods import today
from .services import notifications

logger = logging.getLogger(__name__)
LONG = {"acks_late": True, "soft_time_limit": 25 * 60, "time_limit": 30 * 60}
SHORT = {"acks_late": True, "soft_time_limit": 60, "time_limit": 120}
# Mail jobs: a refused or failed send (recorded on its EmailLog row) runs the job again after 10 s, 20 s, 40 s...
# up to GSTP_LONGEST_COUNTDOWN_SECONDS apart (100 s by default: a retry waiting in a worker longer than the
# broker's visibility timeout would be handed to a second worker), 24 times at most (some 35 minutes by default);
# what was sent already is not sent again (``send_once``), whichever copy of a job runs.
MAIL = {
    "autoretry_for": (notifications.EmailFailed,),
    "retry_backoff": 10,
    "retry_backoff_max": settings.GSTP_LONGEST_COUNTDOWN_SECONDS,
    "retry_jitter": False,
    "max_retries": 24,
}


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


@shared_task(name="reviews.scan_lagging", bind=True, **SHORT)
def scan_lagging(self, as_of: str | None = None, node_ids: list[int] | None = None) -> dict:
    """The daily scan: its batches as a group of ``reviews.scan_batch`` jobs, over the workers. A scan of a few
    sub-projects (``node_ids``, after a report's acceptance) runs here, in one batch."""
    if node_ids is not None:
        return services.lag_scan(as_of=_date(as_of), node_ids=node_ids).__dict__
    run = services.dispatch_scan(as_of=_date(as_of), key=self.request.id)
    return {"run": run.pk, "batches": run.batches_total}


# A batch takes seconds: its time limits stay below the broker's visibility timeout (GSTP_BROKER_VISIBILITY_TIMEOUT,
# 150 s by default), past which Redis would hand a batch still running to a second worker (which would wait for
# the first one's row lock, then find the batch done). A batch that failed on the database (restarted, say) or ran
# out of time committed nothing: it runs again, after 5 s, 10 s, 20 s..., or the run would never end.
BATCH = {
    "acks_late": True,
    "soft_time_limit": 100,
    "time_limit": 120,
    "autoretry_for": (OperationalError, InterfaceError, SoftTimeLimitExceeded),
    "retry_backoff": 5,
    "retry_backoff_max": settings.GSTP_LONGEST_COUNTDOWN_SECONDS,
    "retry_jitter": False,
    "max_retries": 8,
}


@shared_task(name="reviews.scan_batch", bind=True, **BATCH)
def scan_batch(self, batch_id: int) -> dict | None:
    result = services.scan_batch_run(batch_id=batch_id, worker=self.request.hostname or "")
    return None if result is None else result.__dict__


@shared_task(name="reviews.relay_outbox", **SHORT)
def relay_outbox() -> int:
    published, _ = services.outbox_relay()
    return published


@shared_task(name="reviews.notify_red_flags", **SHORT, **MAIL)
def notify_red_flags(flag_ids: list[int]) -> int:
    return notifications.notify_red_flags(flag_ids=flag_ids)


@shared_task(name="reviews.weekly_digest", **SHORT, **MAIL)
def weekly_digest(week_of: str | None = None) -> bool:
    return notifications.weekly_digest(week_of=_date(week_of) or today())


@shared_task(name="reviews.report_reminders", **LONG, **MAIL)
def report_reminders(on: str | None = None) -> int:
    return notifications.report_reminders(on=_date(on) or today())


@shared_task(name="reviews.notify_report_step", **SHORT, **MAIL)
def notify_report_step(report_id: int, step: str, version: int) -> bool:
    return notifications.notify_report_step(report_id=report_id, step=step, version=version)


@shared_task(name="reviews.notify_revision_step", **SHORT, **MAIL)
def notify_revision_step(revision_id: int, step: str, version: int) -> bool:
    return notifications.notify_revision_step(revision_id=revision_id, step=step, version=version)


@shared_task(name="reviews.endorsement_reminders", **LONG, **MAIL)
def endorsement_reminders(on: str | None = None) -> int:
    return notifications.endorsement_reminders(on=_date(on) or today())


@shared_task(name="reviews.fan_out_webhook", **SHORT)
def fan_out_webhook(event: str, ids: list[int], versions: list[int | None] | None = None) -> int:
    return len(notifications.webhook_fan_out(event=event, ids=ids, versions=versions))


# max_retries: none here; the delivery counts its attempts (GSTP_WEBHOOK_ATTEMPTS)
@shared_task(name="reviews.deliver_webhook", bind=True, max_retries=None, **SHORT)
def deliver_webhook(self, delivery_id: int, after_attempts: int | None = None) -> bool:
    """One attempt, then a retry at the delivery's ``next_attempt_at``. The retry job is only the quick way, for
    the waits of up to GSTP_LONGEST_COUNTDOWN_SECONDS; were it lost, and for the longer waits, the sweep asks for
    the same attempt (``after_attempts`` lets one of the two make it)."""
    try:
        return notifications.webhook_deliver(delivery_id=delivery_id, after_attempts=after_attempts)
    except notifications.WebhookFailed as failure:
        if failure.retry_at is None:
            raise  # abandoned: listed in the admin, to be sent again from there
        wait = (failure.retry_at - timezone.now()).total_seconds()
        if wait > settings.GSTP_LONGEST_COUNTDOWN_SECONDS:
            # Held that long by a worker, the job would outlast the broker's visibility timeout and be handed to
            # other workers meanwhile: the sweep asks for this attempt once it is due (``next_attempt_at``).
            logger.info(
                "webhook delivery %s: attempt %s in %.0f s, by the sweep", delivery_id, failure.attempts + 1, wait
            )
            return False
        raise self.retry(
            exc=failure,
            eta=failure.retry_at,
            args=(),
            kwargs={"delivery_id": delivery_id, "after_attempts": failure.attempts},
        ) from failure


# A run of the scan that nothing moved for this long is published again (its group lost, its batches failed).
SCAN_RUN_IDLE = datetime.timedelta(minutes=15)


@shared_task(name="reviews.resume_scans", **SHORT)
def resume_scans() -> list[int]:
    return services.scan_runs_resume(idle=SCAN_RUN_IDLE)


@shared_task(name="reviews.sweep_webhooks", **SHORT)
def sweep_webhooks() -> int:
    return len(notifications.webhook_sweep())
