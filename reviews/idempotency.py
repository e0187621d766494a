"""``Idempotency-Key`` on POST: a retry with the same key and body gets the first answer again.

A multipart body (a file upload) is fingerprinted by its fields and each file's name, size and SHA-256.

The key is claimed in its own committed row before the work starts, so a second
request with the key while the first is still running gets 409; the same key
with another body (or another path) gets 422. A request that ends in an error
raised before any answer was stored (a 4xx from validation, a 5xx) releases the
key, so the corrected request can be sent with it again.
"""

import datetime
import hashlib
import json
from functools import wraps

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from gstp.exceptions import ApplicationError

from .models import IdempotencyRecord, IdempotencyState

HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("ETag", "Location", "Content-Language", "Report-ETag", "Assessment-ETag")
# A claim whose request never finished (its process died) is taken over after this long.
ABANDONED_AFTER = datetime.timedelta(seconds=60)


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


def _claim(user, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(user=user, key=key, request_hash=fingerprint), True
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is not None:
            break
        # The holder failed and released the key between our insert and our read: claim it again.
    else:
        raise IdempotencyKeyInFlight()
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    if record.state == IdempotencyState.IN_FLIGHT:
        cutoff = timezone.now() - ABANDONED_AFTER
        taken = IdempotencyRecord.objects.filter(
            pk=record.pk, state=IdempotencyState.IN_FLIGHT, created_at__lt=cutoff
        ).update(created_at=timezone.now())
        if not taken:
            raise IdempotencyKeyInFlight()
        return record, True
    return record, False


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
        record, claimed = _claim(request.user, key, request_fingerprint(request))
        if not claimed:
            return _replay(record)
        try:
            # The work, its answer and the stored answer commit together: a request cut off before the end (its
            # database connection lost) has written nothing, and one that committed can always be replayed.
            with transaction.atomic():
                response = handler(self, request, *args, **kwargs)
                if response.status_code < 500:
                    IdempotencyRecord.objects.filter(pk=record.pk).update(
                        state=IdempotencyState.DONE,
                        response_status=response.status_code,
                        response_body=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
                        response_headers={
                            name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)
                        },
                    )
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
        return response

    return wrapper
