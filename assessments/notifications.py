"""Who is told of the assessment's steps: emails to whoever acts next, the webhooks ``assessment.submitted``
and ``assessment.published``, and reminders before each due date. The ``*_enqueue`` functions write outbox
rows in the caller's transaction (``reviews.services.outbox``); the rest run in Celery jobs."""

from __future__ import annotations

from reviews.services.outbox import outbox_enqueue


def assessment_step_enqueue(assessment, *, step: str) -> None:
    """Tell who acts next that an assessment took a step (``submitted``, ``endorsed``, ``returned``)."""
    outbox_enqueue("assessments.notify_step", assessment_id=assessment.pk, step=step, version=assessment.version)


def scheme_published_enqueue(scheme) -> None:
    outbox_enqueue("assessments.notify_published", scheme_id=scheme.pk)
