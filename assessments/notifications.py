"""Who is told of the assessment's steps: emails to whoever acts next, the webhooks ``assessment.submitted``
and ``assessment.published``, and reminders before each due date. The ``*_enqueue`` functions write outbox
rows in the caller's transaction (``reviews.services.outbox``); the rest run in Celery jobs (``tasks``), each
safe to run twice: an email goes out once per key (``send_once``), a webhook once per subscription and event.

Emails speak the secretariat's language (zh-Hant) and tell of a step as it was taken (the assessment at the
version the step made), however late the job runs. Webhook payloads carry ids, statuses and versions, and
once a year is published its grades and final totals: never a score before publication.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.utils import timezone, translation

from reviews.models import WebhookEvent
from reviews.services.notifications import register_payload, send_once, webhook_enqueue
from reviews.services.outbox import outbox_enqueue

from . import access
from .models import (
    EDITABLE_STATUSES,
    Assessment,
    AssessmentAction,
    AssessmentEvent,
    AssessmentScheme,
    AssessmentStatus,
    Level,
)

# Reminders go out this many days before each due date (and, for a job that missed its day, at any day
# after, down to the next of them; the last one until the day itself).
REMINDER_DAYS = (7, 1)
STATUS_NAMES = {
    AssessmentStatus.DRAFT: "自評中",
    AssessmentStatus.SUBMITTED: "自評已送出，待部會初核",
    AssessmentStatus.ENDORSED: "部會初核完成，待執行秘書室複核",
    AssessmentStatus.RETURNED: "退回機關修正",
    AssessmentStatus.FINALIZED: "複核完成",
}


def assessment_step_enqueue(assessment, *, step: str) -> None:
    """Tell who acts next that an assessment took a step (``submitted``, ``endorsed``, ``returned``); a
    submitted self-assessment is also the webhook ``assessment.submitted``."""
    outbox_enqueue("assessments.notify_step", assessment_id=assessment.pk, step=step, version=assessment.version)
    if step == "submitted":
        webhook_enqueue(WebhookEvent.ASSESSMENT_SUBMITTED, [(assessment.pk, assessment.version)])


def scheme_published_enqueue(scheme) -> None:
    outbox_enqueue("assessments.notify_published", scheme_id=scheme.pk)
    webhook_enqueue(WebhookEvent.ASSESSMENT_PUBLISHED, [(scheme.pk, scheme.version)])


def _emails(users) -> list[str]:
    return list(dict.fromkeys(users.exclude(email="").values_list("email", flat=True)))


def _as_of(assessment: Assessment, version: int):
    """The assessment's row as the step at ``version`` left it (its history), or as it is now."""
    return assessment.history.filter(version=version).order_by("-history_id").first() or assessment


# step: (the action that takes it, what the subject says)
STEPS = {
    "submitted": (AssessmentAction.SUBMIT, "自評送出，待初核"),
    "endorsed": (AssessmentAction.ENDORSE, "部會初核完成，待複核"),
    "returned": (AssessmentAction.RETURN, "退回"),
}


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def notify_step(*, assessment_id: int, step: str, version: int) -> bool:
    """Email who acts next on an assessment: its ministry's reviewers (submitted, or returned by the
    secretariat to the ministry), the secretariat (endorsed), its leads (returned by the ministry); once per
    assessment, version and step."""
    assessment = Assessment.objects.filter(pk=assessment_id).select_related("scheme__plan", "node").first()
    if assessment is None or step not in STEPS:
        return False
    action, what = STEPS[step]
    event = AssessmentEvent.objects.filter(assessment=assessment, version=version, action=action).first()
    then = _as_of(assessment, version)
    status = event.to_status if event else then.status
    scheme, node = assessment.scheme, assessment.node
    lines = [
        f"年度考評：{scheme.plan.name} {scheme.year} 年度",
        f"子計畫：{node.title}",
        f"狀態：{STATUS_NAMES.get(status, status)}（第 {version} 版）",
    ]
    if step == "submitted":
        recipients = access.submitted_recipients(assessment)
        lines.append(f"自評總分：{then.self_total}；初核期限：{scheme.review_due.isoformat()}")
    elif step == "endorsed":
        recipients = access.endorsed_recipients()
        lines.append(f"初核總分：{then.review_total}；複核期限：{scheme.final_due.isoformat()}")
    else:
        recipients = access.returned_recipients(assessment, to_status=status)
        what = "退回自評" if status == AssessmentStatus.RETURNED else "複核退回初核"
        if event is not None and event.reason:
            lines.append(f"原因：{event.reason}")
    return send_once(
        key=f"assessment-step:{assessment.pk}:{version}:{step}",
        subject=f"[GSTP] 年度考評{what}：{node.title}",
        body="\n".join(lines),
        recipients=_emails(recipients),
    )


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def notify_published(*, scheme_id: int) -> int:
    """Tell every account with an email that a year's results are published, each once; returns how many
    emails went out now."""
    scheme = AssessmentScheme.objects.filter(pk=scheme_id).select_related("plan").first()
    if scheme is None or not scheme.is_published:
        return 0
    counts = defaultdict(int)
    for grade in scheme.assessments.values_list("grade", flat=True):
        counts[grade] += 1
    bands = [band.name for band in scheme.bands.all()]
    published_on = timezone.localdate(scheme.published_at)
    lines = [
        f"{scheme.plan.name} {scheme.year} 年度考評結果已於 {published_on.isoformat()} 公布。",
        "等第分布：" + "、".join(f"{name} {counts.get(name, 0)} 件" for name in bands),
        "各子計畫之等第與總分請登入系統查閱。",
    ]
    subject = f"[GSTP] {scheme.plan.name} {scheme.year} 年度考評結果公布"
    sent = 0
    for user_id, email in access.published_recipients().values_list("pk", "email"):
        sent += send_once(
            key=f"assessment-published:{scheme.pk}:{user_id}",
            subject=subject,
            body="\n".join(lines),
            recipients=[email],
        )
    return sent


# --- reminders ------------------------------------------------------------------------------------------------

# Each due date: the level whose step is due, and the statuses of the assessments still waiting for it.
DUE_DATES = {
    "self_due": (Level.SELF, EDITABLE_STATUSES, "自評"),
    "review_due": (Level.REVIEW, (AssessmentStatus.SUBMITTED,), "部會初核"),
    "final_due": (Level.FINAL, (AssessmentStatus.ENDORSED,), "執行秘書室複核"),
}


def reminder_day(days_left: int) -> int | None:
    """Which of ``REMINDER_DAYS`` a day ``days_left`` before a due date falls to: the smallest not below it."""
    if days_left < 0:
        return None
    return min((days for days in REMINDER_DAYS if days >= days_left), default=None)


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def due_reminders(*, on: datetime.date) -> int:
    """Remind, ``REMINDER_DAYS`` before each due date of every unpublished scheme, whoever's step is still
    pending: the leads of self-assessments in progress or returned, the ministry's reviewers of submitted ones,
    the secretariat of reviewed ones. One email per person, scheme, due date and reminder day."""
    sent = 0
    schemes = AssessmentScheme.objects.filter(published_at__isnull=True).select_related("plan")
    for scheme in schemes:
        for field, (level, statuses, what) in DUE_DATES.items():
            due = getattr(scheme, field)
            day = reminder_day((due - on).days)
            if day is None:
                continue
            pending = scheme.assessments.filter(status__in=statuses).select_related("node").order_by("node__path")
            waiting: dict[int, tuple[str, list[str]]] = {}
            for assessment in pending:
                for user_id, email in (
                    access.reminder_recipients(level, assessment.node).exclude(email="").values_list("pk", "email")
                ):
                    waiting.setdefault(user_id, (email, []))[1].append(assessment.node.title)
            for user_id, (email, titles) in waiting.items():
                title = f"{scheme.plan.name} {scheme.year} 年度考評{what}期限"
                lines = [f"{title}：{due.isoformat()}（尚餘 {(due - on).days} 日）"]
                lines += [f"- {title}" for title in titles[:50]]
                if len(titles) > 50:
                    lines.append(f"…等共 {len(titles)} 件")
                sent += send_once(
                    key=f"assessment-reminder:{user_id}:{scheme.pk}:{field}:{due.isoformat()}:{day}",
                    subject=f"[GSTP] 年度考評{what}提醒：{len(titles)} 件待辦，{due.isoformat()} 到期",
                    body="\n".join(lines),
                    recipients=[email],
                )
    return sent


# --- webhooks -------------------------------------------------------------------------------------------------


def submitted_payload(assessment_id: int, version: int | None) -> dict | None:
    """``assessment.submitted``: which assessment, at which version and status; no score (only the chain
    sees scores before publication)."""
    assessment = Assessment.objects.filter(pk=assessment_id).select_related("scheme").first()
    if assessment is None:
        return None
    status = assessment.status
    if version is not None and version != assessment.version:
        events = AssessmentEvent.objects.filter(assessment=assessment, version=version)
        status = events.values_list("to_status", flat=True).first()
        if status is None:
            return None
    return {
        "assessment": {
            "id": assessment.pk,
            "project": assessment.node_id,
            "scheme": assessment.scheme_id,
            "plan": assessment.scheme.plan_id,
            "year": assessment.scheme.year,
            "status": status,
            "version": assessment.version if version is None else version,
        }
    }


def published_payload(scheme_id: int, version: int | None) -> dict | None:
    """``assessment.published``: the year's results as published, each sub-project's grade and final total."""
    scheme = AssessmentScheme.objects.filter(pk=scheme_id, published_at__isnull=False).first()
    if scheme is None:
        return None
    results = scheme.assessments.order_by("node__path").values_list("pk", "node_id", "grade", "final_total")
    return {
        "scheme": {
            "id": scheme.pk,
            "plan": scheme.plan_id,
            "year": scheme.year,
            "published_at": scheme.published_at.isoformat(),
            "results": [
                {"assessment": pk, "project": node_id, "grade": grade, "final_total": str(total)}
                for pk, node_id, grade, total in results
            ],
        }
    }


def webhooks_register() -> None:
    """Give the webhook machinery (``reviews``) the payloads of the assessment's events."""
    register_payload(WebhookEvent.ASSESSMENT_SUBMITTED, submitted_payload)
    register_payload(WebhookEvent.ASSESSMENT_PUBLISHED, published_payload)
