"""``Idempotency-Key`` on POST: a retry with the same key and body gets the first answer again.

A multipart body (a file upload) is fingerprinted by its fields and each file's name, size and SHA-256.

The key is claimed by inserting its row in the same transaction as the work and the stored answer, so a
request cut off anywhere (its process killed, its host cut off, the database restarted) has claimed nothing:
its transaction rolls back with the claim, and the retry runs it again. A second request with the key while
the first is still running waits for it on the row's unique index (at most ``IDEMPOTENCY_WAIT`` seconds, then
409) and gets its answer; the same key with another body (or another path) gets 422. A request that ends in
an error raised before any answer was stored (a 4xx from validation, a 5xx) stores nothing under the key, so
the corrected request can be sent with it again.

A host cut off mid-request leaves its transaction open in PostgreSQL until the server's TCP keepalives find
the connection dead (``DATABASE_KEEPALIVE_*``, about 10 seconds), which is well within the wait.
"""

import datetime
import hashlib
import json
from functools import wraps

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from gstp.exceptions import ApplicationError

from .models import IdempotencyRecord, IdempotencyState

HEADER = "Idempotency-Key"
# A claim committed in flight (by a host running an earlier version) is taken over after this long.
LEGACY_CLAIM_ABANDONED_AFTER = datetime.timedelta(seconds=60)
REPLAYED_HEADERS = ("ETag", "Location", "Content-Language", "Report-ETag", "Assessment-ETag")


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was used for a different request.")


class IdempotencyKeyInFlight(ApplicationError):
    status_code = 409
    default_code = "idempotency_key_in_flight"
    default_detail = _("A request with this Idempotency-Key is still being processed; retry later.")


class InvalidIdempotencyKey(ApplicationError):
    status_code = 400
    default_code = "invalid_idempotency_key"
    default_detail = _("The Idempotency-Key header must be 1 to 255 visible ASCII characters.")


def _file_fingerprint(upload: UploadedFile) -> dict:
    """An uploaded file stands in the fingerprint by its name, size and SHA-256, read in chunks."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"name": upload.name, "size": upload.size, "sha256": digest.hexdigest()}


def request_fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a form or multipart/form-data: every value of every field, files by content
        data = {
            key: [_file_fingerprint(value) if isinstance(value, UploadedFile) else value for value in values]
            for key, values in data.lists()
        }
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _wait_at_most(seconds: float) -> None:
    """Bound the wait on another transaction's claim of the same key (PostgreSQL; SQLite has one writer)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(seconds * 1000)}ms"])


def _insert_claim(user, key: str, fingerprint: str) -> tuple[IdempotencyRecord | None, bool]:
    """The new claim; or None and whether the key's holder is still running after the wait."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=user, key=key, request_hash=fingerprint), False
    except IntegrityError:
        return None, False
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        # Answered by the caller outside this handler, where it would read as the database away.
        return None, True


def _claim(user, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Claim the key inside the caller's transaction: the new row, or None when an answer is stored under it.

    Waits while another transaction holds a claim of the key, and raises 409 when it holds it too long.
    """
    for _attempt in range(3):
        record, still_running = _insert_claim(user, key, fingerprint)
        if record is not None:
            return record
        if still_running:
            raise IdempotencyKeyInFlight()
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # the holder rolled back between our insert and our read: claim it again
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        if record.state == IdempotencyState.DONE:
            return None
        # A claim committed in flight, as a host running an earlier version claims a key before the work: taken
        # over once its request must be over, not while that host may still be working on it.
        cutoff = timezone.now() - LEGACY_CLAIM_ABANDONED_AFTER
        if not IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyState.IN_FLIGHT, created_at__lt=cutoff
        ).delete()[0]:
            raise IdempotencyKeyInFlight()
    raise IdempotencyKeyInFlight()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(handler):
    """Decorate a POST handler of a DRF view."""

    @wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(self, request, *args, **kwargs)
        if not (0 < len(key) <= 255 and key.isascii() and key.isprintable()):
            raise InvalidIdempotencyKey()
        fingerprint = request_fingerprint(request)
        # The claim, the work and the stored answer commit together, or not at all.
        with transaction.atomic():
            _wait_at_most(settings.IDEMPOTENCY_WAIT)
            record = _claim(request.user, key, fingerprint)
            if record is None:
                return _replay(IdempotencyRecord.objects.get(user=request.user, key=key))
            response = handler(self, request, *args, **kwargs)
            if response.status_code < 500:
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    state=IdempotencyState.DONE,
                    response_status=response.status_code,
                    response_body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
                    response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
                )
            else:
                record.delete()
        return response

    return wrapper
