"""Emails and webhooks. The ``*_enqueue`` functions write outbox rows in the caller's transaction; the
others run in Celery jobs, each safe to run twice (an email is sent once per key, a webhook delivered
once per subscription and event)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Case, F, When
from django.utils import timezone, translation

from gstp.branding import SYSTEM_NAME

from .. import access
from ..models import (
    ACTIVE_STATUSES,
    EmailLog,
    EmailStatus,
    LagFlag,
    LagSettings,
    PlanRevision,
    QuarterlyReport,
    ReportAction,
    ReportEvent,
    ReportKind,
    ReportStatus,
    RevisionEvent,
    RevisionStatus,
    Severity,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from ..selectors import reports_owed, review_queue
from .outbox import outbox_enqueue

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5
DEFAULT_REMINDER_DAYS = LagSettings._meta.get_field("reminder_days_before_due").default


def red_flags_notify_enqueue(flag_ids: list[int]) -> None:
    if flag_ids:
        outbox_enqueue("reviews.notify_red_flags", flag_ids=sorted(set(flag_ids)))


def webhook_event_enqueue(
    *,
    flag_raised=(),
    flag_resolved=(),
    report_endorsed=(),
    report_returned=(),
    report_accepted=(),
    report_reopened=(),
    revision_requested=(),
    revision_decided=(),
) -> None:
    """Ask for the webhooks of these events, for the subscriptions that want them: flags by id, reports as
    the report (or plan revision) objects that took the step, so that each delivery tells of the report at that step's
    version (two returns of one report are two events, however late they are sent)."""
    flags = {WebhookEvent.FLAG_RAISED: flag_raised, WebhookEvent.FLAG_RESOLVED: flag_resolved}
    reports = {
        WebhookEvent.REPORT_ENDORSED: report_endorsed,
        WebhookEvent.REPORT_RETURNED: report_returned,
        WebhookEvent.REPORT_ACCEPTED: report_accepted,
        WebhookEvent.REPORT_REOPENED: report_reopened,
        WebhookEvent.REVISION_REQUESTED: revision_requested,
        WebhookEvent.REVISION_DECIDED: revision_decided,
    }
    flags = {event: sorted(set(ids)) for event, ids in flags.items() if ids}
    reports = {event: sorted({(r.pk, r.version) for r in objects}) for event, objects in reports.items() if objects}
    if not (flags or reports):
        return
    subscribed = set()
    for events in WebhookSubscription.objects.filter(is_active=True).values_list("events", flat=True):
        subscribed.update(events)
    for event, ids in flags.items():
        if event in subscribed:
            outbox_enqueue("reviews.fan_out_webhook", event=event, ids=ids)
    for event, steps in reports.items():
        if event in subscribed:
            ids, versions = [pk for pk, _ in steps], [version for _, version in steps]
            outbox_enqueue("reviews.fan_out_webhook", event=event, ids=ids, versions=versions)


def webhook_enqueue(event: str, steps: list[tuple[int, int | None]]) -> None:
    """Ask for the webhooks of ``event`` (one whose payload an app registered, ``register_payload``) about
    these ``(id, version)`` steps, if a subscription wants them."""
    if not steps:
        return
    if not any(event in s for s in WebhookSubscription.objects.filter(is_active=True).values_list("events", flat=True)):
        return
    ids, versions = [pk for pk, _ in steps], [version for _, version in steps]
    outbox_enqueue("reviews.fan_out_webhook", event=event, ids=ids, versions=versions)


# Payload builders of events about the objects of apps above this one (which this app does not import): each
# app registers its own when it is ready. ``builder(obj_id, version)`` returns the payload or None when the
# object is gone.
PayloadBuilder = Callable[[int, int | None], dict | None]
_payload_builders: dict[str, PayloadBuilder] = {}


def register_payload(event: str, builder: PayloadBuilder) -> None:
    if event not in WebhookEvent.values:
        raise ValueError(f"Unknown webhook event: {event}")
    _payload_builders[event] = builder


def report_step_notify_enqueue(report, *, step: str) -> None:
    """Tell who acts next (or the lead, of the outcome) that a report took a step of the review chain."""
    outbox_enqueue("reviews.notify_report_step", report_id=report.pk, step=step, version=report.version)


def revision_step_notify_enqueue(revision, *, step: str) -> None:
    """Tell who acts next on a plan revision (``endorse``, ``decide``), or its leads of the decision (``decided``)."""
    outbox_enqueue("reviews.notify_revision_step", revision_id=revision.pk, step=step, version=revision.version)


def sender() -> str:
    """``DEFAULT_FROM_EMAIL``, under the system's name unless the setting gives a name of its own."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return settings.DEFAULT_FROM_EMAIL if name else f"{SYSTEM_NAME} <{address}>"


class EmailFailed(Exception):
    """The SMTP server refused an email or could not be reached; its EmailLog row says so, and the job retries."""


def send_once(*, key: str, subject: str, body: str, recipients: list[str]) -> bool:
    """Send an email unless one with this key was sent already; True when sent now. The row is ``sent`` only
    once the server accepted the email; the row's lock keeps a second worker from sending it meanwhile. A
    refusal or a connection that fails is recorded on the row (``failed``, the server's answer) and raised as
    EmailFailed, for the job to retry."""
    recipients = sorted({address for address in recipients if address})
    if not recipients:
        return False
    subject_logged = subject[:300]
    try:
        with transaction.atomic():
            log, _ = EmailLog.objects.select_for_update().get_or_create(
                key=key, defaults={"recipients": recipients, "subject": subject_logged}
            )
            if log.status == EmailStatus.SENT:
                return False
            send_mail(subject, body, sender(), recipients)
            log.status, log.sent_at, log.attempts = EmailStatus.SENT, timezone.now(), log.attempts + 1
            log.save(update_fields=["status", "sent_at", "attempts"])
    except OSError as error:  # smtplib.SMTPException is one
        message = f"{type(error).__name__}: {error}"[:2000]
        EmailLog.objects.get_or_create(
            key=key, defaults={"recipients": recipients, "subject": subject_logged, "status": EmailStatus.FAILED}
        )
        EmailLog.objects.filter(key=key).exclude(status=EmailStatus.SENT).update(
            status=EmailStatus.FAILED, attempts=F("attempts") + 1, last_error=message
        )
        logger.warning("Email %s not sent: %s", key, message)
        raise EmailFailed(f"{key}: {message}") from error
    return True


def _emails(*users) -> list[str]:
    """The addresses of these accounts, each once, in the order given."""
    emails = (email for accounts in users for email in accounts.exclude(email="").values_list("email", flat=True))
    return list(dict.fromkeys(emails))


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def notify_red_flags(*, flag_ids: list[int]) -> int:
    sent = 0
    for flag in LagFlag.objects.filter(
        pk__in=flag_ids, severity=Severity.RED, status__in=ACTIVE_STATUSES
    ).select_related("node"):
        moment = flag.severity_raised_at or flag.opened_at
        subject = f"[GSTP] 紅燈 {flag.node.title} — {flag.get_rule_display()} {flag.period}"
        body = "\n".join(
            [
                f"子計畫：{flag.node.title}",
                f"規則：{flag.get_rule_display()}（{flag.period}）",
                "依據：",
                json.dumps(flag.evidence, ensure_ascii=False, indent=2),
            ]
        )
        key = f"red-flag:{flag.pk}:{moment.isoformat()}"
        sent += send_once(
            key=key, subject=subject, body=body, recipients=_emails(*access.red_flag_recipients(flag.node, flag.rule))
        )
    return sent


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def weekly_digest(*, week_of: datetime.date) -> bool:
    monday = week_of - datetime.timedelta(days=week_of.weekday())
    active = LagFlag.objects.filter(status__in=ACTIVE_STATUSES)
    new = LagFlag.objects.filter(opened_at__date__gte=monday - datetime.timedelta(days=7), opened_at__date__lt=monday)
    lines = [
        f"截至 {week_of.isoformat()}：紅燈 {active.filter(severity=Severity.RED).count()} 件，"
        f"黃燈 {active.filter(severity=Severity.YELLOW).count()} 件；上週新增 {new.count()} 件。",
        "",
    ]
    red_first = Case(When(severity=Severity.RED, then=0), default=1)
    for flag in active.select_related("node").order_by(red_first, "opened_at")[:50]:
        lines.append(f"- [{flag.get_severity_display()}] {flag.node.title}：{flag.get_rule_display()} {flag.period}")
    iso = monday.isocalendar()
    return send_once(
        key=f"digest:{iso.year}-W{iso.week:02d}",
        subject=f"[GSTP] 每週落後警示摘要 {iso.year}-W{iso.week:02d}",
        body="\n".join(lines),
        recipients=_emails(access.digest_recipients()),
    )


def _owed_name(item) -> str:
    """A report owed as a reminder names it: the sub-project and period, and 月報 for a monthly update."""
    kind = " 月報" if item.kind == ReportKind.MONTHLY else ""
    return f"{item.project.title} {item.period}{kind}"


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def report_reminders(*, on: datetime.date) -> int:
    """Remind each lead of the reports its agency owes that fall due within the plan's reminder window
    or are overdue; once a day per lead."""
    sent = 0
    leads = access.reminder_recipients().exclude(email="")
    window = dict(LagSettings.objects.values_list("plan_id", "reminder_days_before_due"))
    for lead in leads.select_related("agency"):
        owed = reports_owed(agency=lead.agency, on=on)
        soon = [
            item
            for item in owed
            if item.due_on >= on and (item.due_on - on).days <= window.get(item.project.plan_id, DEFAULT_REMINDER_DAYS)
        ]
        overdue = [item for item in owed if item.due_on < on]
        if not (soon or overdue):
            continue
        lines = [f"{_owed_name(item)}：{item.due_on.isoformat()} 到期" for item in soon]
        lines += [f"{_owed_name(item)}：已逾期（{item.due_on.isoformat()} 到期）" for item in overdue[:50]]
        sent += send_once(
            key=f"reminder:{lead.pk}:{on.isoformat()}",
            subject=f"[GSTP] 季報提醒：{len(soon)} 件即將到期，{len(overdue)} 件逾期",
            body="\n".join(lines),
            recipients=[lead.email],
        )
    return sent


# For each step of the review chain: who is told, the action that took it (the report's event at the
# version the step made), and what the subject says (the secretariat's language).
REPORT_STEPS = {
    "awaiting_endorsement": (access.review_recipients, ReportAction.SUBMIT, "待初核"),
    "endorsed": (lambda node: access.secretariat_recipients(), ReportAction.ENDORSE, "部會初核通過，待複核"),
    "returned": (access.lead_recipients, ReportAction.RETURN, "退回修正"),
    "reopened": (access.lead_recipients, ReportAction.REOPEN, "重新開啟更正"),
    "accepted": (access.lead_recipients, ReportAction.ACCEPT, "複核通過"),
}


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def notify_report_step(*, report_id: int, step: str, version: int) -> bool:
    """Email who must act on a report next, or its leads of the outcome; once per report version and step.

    The email tells of the step as it was taken (its status and reason are those of the report's event at
    ``version``), however late the job runs and whatever happened to the report since. A report the
    secretariat returns after its ministry endorsed it is told to that ministry's reviewers too."""
    report = QuarterlyReport.objects.filter(pk=report_id).select_related("node").first()
    if report is None or step not in REPORT_STEPS:
        return False
    recipients, action, what = REPORT_STEPS[step]
    event = ReportEvent.objects.filter(report=report, version=version, action=action).first()
    status = event.to_status if event else report.status
    reason = event.reason if event else report.return_reason
    kind = "月報" if report.is_monthly else "季報"
    lines = [f"子計畫：{report.node.title}", f"{kind}：{report.period}（{ReportStatus(status).label}）"]
    if step in ("returned", "reopened") and reason:
        lines.append(f"原因：{reason}")
    addresses = _emails(recipients(report.node))
    if step == "returned" and event is not None and event.from_status == ReportStatus.ENDORSED:
        addresses += _emails(access.review_recipients(report.node))
    return send_once(
        key=f"report-step:{report.pk}:{version}:{step}",
        subject=f"[GSTP] {kind}{what}：{report.node.title} {report.period}",
        body="\n".join(lines),
        recipients=addresses,
    )


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def endorsement_reminders(*, on: datetime.date) -> int:
    """Remind each ministry reviewer, once a day, of the reports waiting for its endorsement longer than
    the plan's ``endorsement_days``."""
    sent = 0
    days = dict(LagSettings.objects.filter(endorsement_required=True).values_list("plan_id", "endorsement_days"))
    if not days:
        return 0
    for reviewer in access.reviewers().exclude(email="").select_related("agency"):
        waiting = [
            report
            for report in review_queue(user=reviewer)
            if (on - timezone.localdate(report.submitted_at)).days > days.get(report.node.plan_id, 10**6)
        ]
        if not waiting:
            continue
        lines = [
            f"{report.node.title} {report.period}：{timezone.localdate(report.submitted_at).isoformat()} 提報，"
            f"已等待 {(on - timezone.localdate(report.submitted_at)).days} 日"
            for report in waiting[:50]
        ]
        sent += send_once(
            key=f"endorsement-reminder:{reviewer.pk}:{on.isoformat()}",
            subject=f"[GSTP] 初核提醒：{len(waiting)} 件季報待初核逾期",
            body="\n".join(lines),
            recipients=[reviewer.email],
        )
    return sent


REVISION_STEPS = {"endorse": "待初核", "decide": "待核定", "decided": ""}


@translation.override(settings.LANGUAGE_CODE)  # emails speak the secretariat's language
def notify_revision_step(*, revision_id: int, step: str, version: int) -> bool:
    """Email who must act on a plan revision next (its ministry's reviewers, or the secretariat), or, once it
    is decided, its leads (and the reviewers who endorsed it); once per revision version and step. The email
    tells of the step as it was taken: the status and reason of the revision's event at ``version``."""
    revision = PlanRevision.objects.filter(pk=revision_id).select_related("node").first()
    if revision is None or step not in REVISION_STEPS:
        return False
    event = RevisionEvent.objects.filter(revision=revision, version=version).first()
    status = RevisionStatus(event.to_status if event else revision.status)
    node = revision.node
    lines = [f"子計畫：{node.title}", f"計畫修正：#{revision.pk}（{status.label}）", f"理由：{revision.reason}"]
    if step == "decided":
        recipients = access.revision_decision_recipients(revision)
        what = "核定" if status == RevisionStatus.APPROVED else "駁回"
        if event is not None and event.reason:
            lines.append(f"說明：{event.reason}")
        if status == RevisionStatus.APPROVED:
            lines.append(f"基準版本：第 {revision.baseline_version} 版")
    else:
        level = access.ReviewLevel.MINISTRY if step == "endorse" else access.ReviewLevel.SECRETARIAT
        recipients = (access.revision_request_recipients(revision, level),)
        what = REVISION_STEPS[step]
    return send_once(
        key=f"revision-step:{revision.pk}:{version}:{step}",
        subject=f"[GSTP] 計畫修正{what}：{node.title}",
        body="\n".join(lines),
        recipients=_emails(*recipients),
    )


REPORT_EVENTS = (
    WebhookEvent.REPORT_ENDORSED,
    WebhookEvent.REPORT_RETURNED,
    WebhookEvent.REPORT_ACCEPTED,
    WebhookEvent.REPORT_REOPENED,
)


def _payload(event: str, obj_id: int, version: int | None = None) -> dict | None:
    if event in _payload_builders:
        return _payload_builders[event](obj_id, version)
    if event in (WebhookEvent.REVISION_REQUESTED, WebhookEvent.REVISION_DECIDED):
        return _revision_payload(obj_id, version)
    if event in (WebhookEvent.FLAG_RAISED, WebhookEvent.FLAG_RESOLVED):
        flag = LagFlag.objects.filter(pk=obj_id).select_related("node").first()
        if flag is None:
            return None
        return {
            "flag": {
                "id": flag.pk,
                "project": flag.node_id,
                "project_title": flag.node.title,
                "rule": flag.rule,
                "period": flag.period,
                "severity": flag.severity,
                "status": flag.status,
                "resolution": flag.resolution,
            }
        }
    if event not in REPORT_EVENTS:
        return None  # an event whose app did not register its payload
    report = QuarterlyReport.objects.filter(pk=obj_id).first()
    if report is None:
        return None
    status = report.status
    if version is not None and version != report.version:
        # The report as the step left it, whatever happened since: its event at that version.
        status = ReportEvent.objects.filter(report=report, version=version).values_list("to_status", flat=True).first()
        if status is None:
            return None
    return {
        "report": {
            "id": report.pk,
            "project": report.node_id,
            "period": report.period,
            "kind": report.kind,
            "status": status,
            "version": report.version if version is None else version,
        }
    }


def _revision_payload(obj_id: int, version: int | None) -> dict | None:
    revision = PlanRevision.objects.filter(pk=obj_id).first()
    if revision is None:
        return None
    status = revision.status
    if version is not None and version != revision.version:
        status = (
            RevisionEvent.objects.filter(revision=revision, version=version).values_list("to_status", flat=True).first()
        )
        if status is None:
            return None
    return {
        "revision": {
            "id": revision.pk,
            "project": revision.node_id,
            "status": status,
            "version": revision.version if version is None else version,
            "baseline_version": revision.baseline_version if status == RevisionStatus.APPROVED else None,
        }
    }


@transaction.atomic
def webhook_fan_out(*, event: str, ids: list[int], versions: list[int | None] | None = None) -> list[int]:
    """Create one delivery per active subscription and object, and with it, in the same transaction, the outbox
    job that sends it; returns the new deliveries' ids. A second run creates nothing, so no delivery may be left
    without its job, as one would be if the job went to a broker that is down, or if the worker died first.

    ``versions`` (one per id) names the version of a report the event is about; without it, the report as it
    is now. The event id (the ``X-GSTP-Delivery`` header) is the same for the same event and version, so a
    receiver can tell a retry from a new event."""
    subscriptions = [s for s in WebhookSubscription.objects.filter(is_active=True) if event in s.events]
    created = []
    for obj_id, version in zip(ids, versions or [None] * len(ids), strict=True):
        payload = _payload(event, obj_id, version)
        if payload is None:
            continue
        event_id = f"{event}:{obj_id}:{_version_of(payload)}"
        for subscription in subscriptions:
            delivery, was_created = WebhookDelivery.objects.get_or_create(
                subscription=subscription,
                event_id=event_id,
                defaults={"event": event, "payload": {"event": event, "id": event_id, **payload}},
            )
            if was_created:
                outbox_enqueue("reviews.deliver_webhook", delivery_id=delivery.pk)
                created.append(delivery.pk)
    return created


def _version_of(payload: dict) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()
    return digest[:12]


def sign(secret: str, body: bytes, timestamp: str) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookFailed(Exception):
    """An attempt failed: ``retry_at`` is when the next one is due, None when the delivery is abandoned."""

    def __init__(self, message: str, *, attempts: int = 0, retry_at: datetime.datetime | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.retry_at = retry_at


class NotAbandoned(Exception):
    """Only an abandoned delivery is sent again: a delivered one never is, a pending one is on its way."""


def webhook_retry_delay(attempts: int) -> datetime.timedelta:
    """The wait after ``attempts`` failed attempts: the first wait, doubling, up to the longest."""
    first = settings.GSTP_WEBHOOK_RETRY_FIRST_SECONDS
    longest = settings.GSTP_WEBHOOK_RETRY_LONGEST_SECONDS
    return datetime.timedelta(seconds=min(longest, first * 2 ** max(0, attempts - 1)))


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without its body: count it as a failed attempt."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def webhook_deliver(*, delivery_id: int, after_attempts: int | None = None) -> bool:
    """POST one delivery; True when delivered (now or before), False when there is nothing to send: abandoned,
    or (``after_attempts`` given) the attempt that follows that many was made already, by another job. A retry
    job and the sweep may both ask for the same attempt: the row lock and ``after_attempts`` let one make it.

    A failed attempt sets ``next_attempt_at`` from the backoff and raises WebhookFailed with it; the last one
    (``GSTP_WEBHOOK_ATTEMPTS``) abandons the delivery and raises WebhookFailed without a retry time."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("subscription").get(pk=delivery_id)
        if delivery.delivered_at:
            return True
        if delivery.abandoned_at or (after_attempts is not None and delivery.attempts != after_attempts):
            return False
        body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder).encode()
        timestamp = str(int(timezone.now().timestamp()))
        request = urllib.request.Request(
            delivery.subscription.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "GSTP-Webhooks/1",
                "X-GSTP-Event": delivery.event,
                "X-GSTP-Delivery": delivery.event_id,
                "X-GSTP-Timestamp": timestamp,
                "X-GSTP-Signature": f"sha256={sign(delivery.subscription.secret, body, timestamp)}",
            },
        )
        status, error = None, ""
        try:
            with _NO_REDIRECTS.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status = status
        delivery.last_error = error
        delivery.log = [*delivery.log, {"at": now.isoformat(), "status": status, "error": error}]
        delivered = status is not None and 200 <= status < 300
        delivery.next_attempt_at = None
        if delivered:
            delivery.delivered_at = now
        elif delivery.attempts >= settings.GSTP_WEBHOOK_ATTEMPTS:
            delivery.abandoned_at = now
        else:
            delivery.next_attempt_at = now + webhook_retry_delay(delivery.attempts)
        delivery.save(
            update_fields=[
                "attempts",
                "last_status",
                "last_error",
                "log",
                "delivered_at",
                "abandoned_at",
                "next_attempt_at",
            ]
        )
    if not delivered:
        raise WebhookFailed(error or f"HTTP {status}", attempts=delivery.attempts, retry_at=delivery.next_attempt_at)
    return True


WEBHOOK_SWEEP_CLAIM = datetime.timedelta(minutes=5)


def webhook_sweep(*, now: datetime.datetime | None = None, limit: int = 500) -> list[int]:
    """Ask for the next attempt of every delivery that is due, whatever became of its retry job (a worker
    restarted, the broker lost it); returns their ids. Safe in several processes at once: each due row is
    claimed under a skipping lock and moved ``WEBHOOK_SWEEP_CLAIM`` ahead, so one sweep asks for it, and asks
    again only if that attempt was lost too."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "attempts")[:limit]
        )
        if not due:
            return []
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in due]).update(next_attempt_at=now + WEBHOOK_SWEEP_CLAIM)
        for pk, attempts in due:
            outbox_enqueue("reviews.deliver_webhook", delivery_id=pk, after_attempts=attempts)
    return [pk for pk, _ in due]


def webhook_delivery_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send an abandoned delivery again, with its attempts counted afresh; its log keeps every attempt and
    records who asked. The sweep sends it if its job is lost."""
    access.ensure(access.can_resend_webhook(actor), access.NOT_ALLOWED_TO_RESEND_WEBHOOK)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.abandoned_at is None:
            raise NotAbandoned(delivery.pk)
        now = timezone.now()
        delivery.attempts = 0
        delivery.abandoned_at = None
        delivery.next_attempt_at = now + WEBHOOK_SWEEP_CLAIM
        delivery.log = [*delivery.log, {"at": now.isoformat(), "status": None, "error": "", "resent_by": actor.pk}]
        delivery.save(update_fields=["attempts", "abandoned_at", "next_attempt_at", "log"])
        outbox_enqueue("reviews.deliver_webhook", delivery_id=delivery.pk, after_attempts=0)
    return delivery
