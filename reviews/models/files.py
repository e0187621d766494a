"""佐證資料: evidence files attached to a report or to a flag comment."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def evidence_path(evidence: "EvidenceFile", _name: str) -> str:
    """Where the content is stored: a random name, never the uploader's (kept in ``name``)."""
    owner = f"reports/{evidence.report_id}" if evidence.report_id else f"comments/{evidence.comment_id}"
    return f"evidence/{owner}/{uuid.uuid4().hex}"


class StoredEvidence(models.Model):
    """A stored file: the name the client gave, its size, kind (judged by content), SHA-256 and uploader, and
    when it was frozen (from then on it stays). Each kind adds its ``content`` (where it is stored) and owner."""

    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # Set when its report or assessment goes up the chain: from then on the file stays, whatever happens next.
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name


class EvidenceFile(StoredEvidence):
    report = models.ForeignKey(
        "reviews.QuarterlyReport", on_delete=models.PROTECT, null=True, blank=True, related_name="files"
    )
    comment = models.ForeignKey(
        "reviews.FlagComment", on_delete=models.PROTECT, null=True, blank=True, related_name="files"
    )
    content = models.FileField(_("content"), upload_to=evidence_path, max_length=255)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(report__isnull=False, comment__isnull=True) | Q(report__isnull=True, comment__isnull=False),
                name="evidence_on_report_or_comment",
            ),
        ]
