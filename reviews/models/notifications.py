from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A job written in the same transaction as the change that asks for it, published to the broker later.

    The API never talks to the broker: with Redis down or hung, requests still answer at once, and
    the relay (``manage.py relay_outbox``, also a beat task) publishes what is waiting once the broker is back.
    """

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    available_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["available_at"], condition=Q(sent_at__isnull=True), name="outbox_pending")]

    def __str__(self):
        return f"{self.task} #{self.pk}"


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class EmailLog(models.Model):
    """One email, sent once: the key makes a retried job send nothing twice. ``sent`` only once the SMTP server
    accepted it; a refused or failed attempt leaves it ``failed`` with the server's answer, for the job's retry."""

    key = models.CharField(max_length=200, unique=True)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.subject


class WebhookEvent(models.TextChoices):
    """What a subscription may ask to be told of. The payloads of events about a higher app's objects (the
    year's assessment) are built by that app, registered with ``services.notifications.register_payload``."""

    FLAG_RAISED = "flag.raised", _("Flag raised")
    FLAG_RESOLVED = "flag.resolved", _("Flag resolved")
    REPORT_ENDORSED = "report.endorsed", _("Report endorsed")
    REPORT_RETURNED = "report.returned", _("Report returned")
    REPORT_ACCEPTED = "report.accepted", _("Report accepted")
    REPORT_REOPENED = "report.reopened", _("Report reopened")
    REVISION_REQUESTED = "revision.requested", _("Plan revision requested")
    REVISION_DECIDED = "revision.decided", _("Plan revision approved or rejected")
    ASSESSMENT_SUBMITTED = "assessment.submitted", _("Self-assessment submitted")
    ASSESSMENT_PUBLISHED = "assessment.published", _("Assessment results published")


class WebhookSubscription(models.Model):
    """Another system to be told of events, signed with HMAC-SHA256 of the body under ``secret``."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    events = models.JSONField(
        _("events"),
        default=list,
        help_text=_(
            "flag.raised, flag.resolved, report.endorsed, report.returned, report.accepted, report.reopened, "
            "revision.requested, revision.decided, assessment.submitted, assessment.published"
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name"]

    def __str__(self):
        return self.name


class WebhookDeliveryQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(delivered_at__isnull=True, abandoned_at__isnull=True)

    def due(self, now):
        """Pending deliveries whose next attempt is due: the sweep sends them, whatever became of their retry job."""
        return self.pending().filter(next_attempt_at__lte=now)

    def abandoned(self):
        return self.filter(abandoned_at__isnull=False)


class WebhookDelivery(models.Model):
    """One event for one subscription, with every attempt's outcome.

    Pending until delivered, or abandoned after its last attempt (``GSTP_WEBHOOK_ATTEMPTS``); while pending and
    failing, ``next_attempt_at`` says when the next attempt is due. An abandoned one is sent again from the admin.
    """

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    event_id = models.CharField(max_length=100)
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    log = models.JSONField(default=list, help_text=_("Every attempt: time, status, error."))

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, abandoned_at__isnull=True),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["abandoned_at"], condition=Q(abandoned_at__isnull=False), name="webhook_abandoned"),
        ]

    def __str__(self):
        return f"{self.subscription} {self.event} {self.event_id}"
