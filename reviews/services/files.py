"""Evidence files (佐證資料): a lead's documents behind a report's figures, and files in a flag's thread.

A report's files are added and removed by its sub-project's leads while the report is editable and its quarter
open; each change bumps the report's version (so its ETag changes with its file list) and appears in its
history. Endorsing or accepting the report freezes the files it has then: they stay, whatever happens to the
report next. A comment's files come from the comment's author and are never removed: the thread is a record.

A file is recognised by its content (``reviews.file_kinds``), is at most ``GSTP_EVIDENCE_MAX_FILE_BYTES`` and
a report's files together at most ``GSTP_EVIDENCE_MAX_REPORT_BYTES``; past either it is refused with 413 and
nothing is stored. The content is written through Django's storage API under a random name; the name the
client gave is kept as the file's ``name``.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp.exceptions import ContentTooLarge, InvalidTransition

from .. import access
from ..file_kinds import ACCEPTED_DESCRIPTION, Inspection, inspect_upload
from ..models import EDITABLE_STATUSES, EvidenceFile, FlagComment, LagFlag, QuarterlyReport, ReportAction
from .reports import _conditional_save, _record, ensure_quarter_open

NAME_MAX_LENGTH = EvidenceFile._meta.get_field("name").max_length
# Characters no file name needs: control characters (a line break would end a header) and the bidirectional
# overrides that make "exe.pdf" read as "fdp.exe".
_UNWANTED = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def file_name(raw: str) -> str:
    """The client's file name as given (Chinese and all), without any folder or control character, and cut to
    fit ``EvidenceFile.name`` keeping its extension."""
    name = unicodedata.normalize("NFC", _UNWANTED.sub("", str(raw or "")))
    name = posixpath.basename(name.replace("\\", "/")).strip().lstrip(".") or "file"
    if len(name) > NAME_MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: NAME_MAX_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:NAME_MAX_LENGTH]
    return name


def _too_large(detail) -> ContentTooLarge:
    return ContentTooLarge(detail, code="file_too_large", field="file")


def inspect_upload_or_refuse(upload) -> Inspection:
    """Size first (413, from what the upload says, before reading it), then kind (400)."""
    limit = settings.GSTP_EVIDENCE_MAX_FILE_BYTES
    if upload.size is not None and upload.size > limit:
        raise _too_large(_("The file is larger than %(limit)s bytes, the most one file may be.") % {"limit": limit})
    inspection = inspect_upload(upload)
    if inspection.size > limit:  # the upload said less than it held
        raise _too_large(_("The file is larger than %(limit)s bytes, the most one file may be.") % {"limit": limit})
    if inspection.size == 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    if inspection.content_type is None:
        raise ValidationError(
            {
                "file": [
                    _("This kind of file is not accepted (judged by its content, not its name). Accepted: %(kinds)s.")
                    % {"kinds": ACCEPTED_DESCRIPTION}
                ]
            }
        )
    return inspection


@contextlib.contextmanager
def stored_content(evidence: EvidenceFile, upload):
    """Write the content through the storage, then whatever the block writes; if the block fails, the content
    goes too (a storage takes no part in the database's transaction)."""
    evidence.content.save(evidence.name, upload, save=False)
    try:
        yield
    except BaseException:
        evidence.content.storage.delete(evidence.content.name)
        raise


def _file_change(evidence: EvidenceFile) -> dict:
    return {"id": evidence.pk, "name": evidence.name, "size": evidence.size, "sha256": evidence.sha256}


def _ensure_report_open(report: QuarterlyReport) -> None:
    if report.status not in EDITABLE_STATUSES:
        raise InvalidTransition(_("Files are added to and removed from a draft or a returned report only."))
    ensure_quarter_open(node=report.node, period=report.quarter_obj)


def _lock_report(report: QuarterlyReport) -> QuarterlyReport:
    """The report's row as it is now, locked until the transaction ends: two uploads to one report take turns,
    so the sum of its files is checked against the limit with the other's file counted."""
    return QuarterlyReport.objects.select_for_update().select_related("node").get(pk=report.pk)


def ensure_room(files, size: int, message=None) -> None:
    """Refuse (413) a file of ``size`` bytes that would take ``files`` (one owner's, locked by the caller) past
    ``GSTP_EVIDENCE_MAX_REPORT_BYTES``; ``message`` (with ``%(limit)s`` and ``%(stored)s``) says so for the
    owner, a report's by default."""
    limit = settings.GSTP_EVIDENCE_MAX_REPORT_BYTES
    stored = files.aggregate(total=Sum("size"))["total"] or 0
    if stored + size > limit:
        message = message or _(
            "The report's files would add up to more than %(limit)s bytes, the most one report may hold "
            "(%(stored)s bytes so far)."
        )
        raise _too_large(message % {"limit": limit, "stored": stored})


def report_file_add(*, actor, report: QuarterlyReport, upload, expected_version: int | None = None) -> EvidenceFile:
    """A lead adds a file to a draft or returned report (``upload``: a Django ``UploadedFile``). The report's
    version goes up by one; ``expected_version`` (from If-Match) makes a stale one a 412, and None takes the
    current version, as ``If-Match: *`` does."""
    access.ensure(access.can_add_report_files(actor, report), access.NOT_LEAD_TO_ADD_FILES)
    _ensure_report_open(report)
    inspection = inspect_upload_or_refuse(upload)
    with transaction.atomic():
        current = _lock_report(report)
        _ensure_report_open(current)
        ensure_room(current.files, inspection.size)
        _conditional_save(
            report, expected_version=current.version if expected_version is None else expected_version, fields=[]
        )
        report.status = current.status
        evidence = EvidenceFile(
            report=report,
            name=file_name(upload.name),
            size=inspection.size,
            content_type=inspection.content_type,
            sha256=inspection.sha256,
            uploaded_by=actor,
        )
        with stored_content(evidence, upload):
            evidence.save()
            _record(
                report,
                actor=actor,
                action=ReportAction.ADD_FILE,
                from_status=report.status,
                changes={"file": [None, _file_change(evidence)]},
            )
    return evidence


@transaction.atomic
def report_file_remove(*, actor, evidence: EvidenceFile, expected_version: int | None = None) -> None:
    """A lead removes a file from a draft or returned report, unless an endorsement or acceptance froze it.
    The row goes now, the stored content once this commits."""
    report = evidence.report
    if report is None:
        raise InvalidTransition(_("A comment's files stay with the thread: they are never removed."))
    access.ensure(access.can_add_report_files(actor, report), access.NOT_LEAD_TO_ADD_FILES)
    if evidence.frozen_at is not None:
        raise InvalidTransition(
            _("This file is part of a report that was endorsed or accepted: it stays with the report.")
        )
    _ensure_report_open(report)
    current = _lock_report(report)
    _ensure_report_open(current)
    _conditional_save(
        report, expected_version=current.version if expected_version is None else expected_version, fields=[]
    )
    report.status = current.status
    change = _file_change(evidence)
    storage, stored_name = evidence.content.storage, evidence.content.name
    evidence.delete()
    transaction.on_commit(lambda: storage.delete(stored_name))
    _record(
        report,
        actor=actor,
        action=ReportAction.REMOVE_FILE,
        from_status=report.status,
        changes={"file": [change, None]},
    )


def comment_file_add(*, actor, comment: FlagComment, upload) -> EvidenceFile:
    """The author of a flag comment attaches a file to it (an improvement plan is often a document)."""
    access.ensure(access.can_add_comment_files(actor, comment), access.NOT_AUTHOR_TO_ADD_FILES)
    inspection = inspect_upload_or_refuse(upload)
    evidence = EvidenceFile(
        comment=comment,
        name=file_name(upload.name),
        size=inspection.size,
        content_type=inspection.content_type,
        sha256=inspection.sha256,
        uploaded_by=actor,
    )
    with transaction.atomic(), stored_content(evidence, upload):
        evidence.save()
        LagFlag.objects.filter(pk=comment.flag_id).update(updated_at=timezone.now())
    return evidence
