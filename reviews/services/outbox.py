"""The transactional outbox: jobs are rows written with the change that asks for them, then published.

Requests never wait on the broker: ``outbox_enqueue`` only inserts a row in the
caller's transaction. ``outbox_relay`` (run by beat every few seconds and by
``manage.py relay_outbox``) publishes pending rows with short broker timeouts;
when the broker is down or hung it records the error, backs off and leaves the
rows for the next run. Each row is published with a stable task id, and the
jobs themselves are idempotent, so a row published twice does no harm.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from ..models import OutboxMessage

logger = logging.getLogger(__name__)
MAX_BACKOFF = datetime.timedelta(minutes=5)


def outbox_enqueue(task: str, **kwargs) -> OutboxMessage:
    """Ask for ``task`` to run with ``kwargs`` (ids and ISO strings) once the current transaction commits."""
    return OutboxMessage.objects.create(task=task, kwargs=kwargs, available_at=timezone.now())


def _publish(message: OutboxMessage, producer=None) -> None:
    from gstp.celery import app

    app.send_task(
        message.task,
        kwargs=message.kwargs,
        task_id=f"outbox-{message.pk}",
        producer=producer,
        retry=False,  # a dead broker fails fast; the row stays for the next relay
    )


def outbox_relay(*, limit: int = 500) -> tuple[int, int]:
    """Publish what is waiting; returns (published, still pending). Safe to run in several processes."""
    from gstp.celery import app

    published = 0
    now = timezone.now()
    with transaction.atomic(), app.producer_or_acquire() as producer:
        pending = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, available_at__lte=now)
            .order_by("id")[:limit]
        )
        for index, message in enumerate(pending):
            try:
                if index == 0:
                    # One attempt to reach the broker, bounded by its socket timeouts, not kombu's retries.
                    producer.connection.ensure_connection(max_retries=0)
                _publish(message, producer)
            except Exception as exc:  # the broker's errors are many kinds; all mean "not now"
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                backoff = min(MAX_BACKOFF, datetime.timedelta(seconds=2**message.attempts))
                message.available_at = now + backoff
                message.save(update_fields=["attempts", "last_error", "available_at"])
                logger.warning("outbox: broker unavailable, %s waiting (%s)", len(pending) - published, exc)
                break
            message.sent_at = timezone.now()
            message.attempts += 1
            message.save(update_fields=["sent_at", "attempts"])
            published += 1
    remaining = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    return published, remaining
