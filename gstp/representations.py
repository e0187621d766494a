"""Serialized representations kept between requests, and conditional answers decided before any is built.

A hot detail read asks for one row: whether the caller sees it, its version and ``updated_at``. From those alone,

- a GET whose ``If-None-Match`` or ``If-Modified-Since`` still holds gets its 304 (``not_modified``) without the
  row's children being read or anything serialized;
- otherwise its representation is looked up in the ``representations`` cache (Redis, shared by every web worker
  and host; this process's memory on the embedded default). Its key names the object, its version and
  ``updated_at``, the language and time zone, whatever else the representation depends on, which fields the
  caller may see (from the app's access module, so one role's fields never reach another) and a digest of the
  code that wrote it (``RELEASE``: a release never reads what the one before wrote). A version never changes
  back, so an entry is never stale: entries are not deleted, they expire.

A cache that does not answer (Redis away) costs the request its time-out at most: the representation is built as
if it were not cached.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

import django
import orjson
import rest_framework
from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

ALIAS = "representations"

OWN_APPS = ("gstp", "accounts", "projects", "indicators", "reviews", "assessments")


class NotModified(HttpResponse):
    """An empty 200 carrying the validators the full answer would carry, returned by a view only when they
    already match the request's: ``gstp.middleware.ConditionalGetMiddleware`` turns it into the very 304 it
    makes of a full answer (same headers), and refuses to send it as it is."""


def not_modified(request, *, etag: str, last_modified) -> NotModified | None:
    """For a GET whose conditions ``etag`` and ``last_modified`` already decide (``If-None-Match`` or else
    ``If-Modified-Since`` matching: 304; ``If-Match`` or ``If-Unmodified-Since`` failing: 412), the probe Django's
    conditional GET makes that answer of, exactly as it would of the full one; None when the full answer is due."""
    if request.method != "GET":  # a HEAD is answered whole, as ConditionalGetMiddleware answers it
        return None
    stamp = int(last_modified.timestamp()) if last_modified is not None else None
    probe = NotModified()
    probe["ETag"] = etag
    if stamp is not None:
        probe["Last-Modified"] = http_date(stamp)
    if get_conditional_response(request, etag=etag, last_modified=stamp, response=probe) is probe:
        return None
    return probe


def representation(serializer_class, instance, *, key: Iterable) -> dict:
    """``serializer_class(instance).data``, through the cache under ``key``, the language, time zone and code."""
    parts = [
        serializer_class.__name__,
        RELEASE,
        get_language() or "",
        timezone.get_current_timezone_name(),
        *key,
    ]
    # A digest of the parts: a short key, whatever characters they hold.
    cache_key = f"{serializer_class.__name__}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"
    cache = caches[ALIAS]
    try:
        data = cache.get(cache_key)
    except Exception:  # noqa: BLE001 - a cache away costs nothing but the time-out
        logger.warning("representation cache unavailable", exc_info=True)
        cache = None
        data = None
    if data is None:
        data = dict(serializer_class(instance).data)
        if cache is not None:
            try:
                cache.set(cache_key, data, settings.GSTP_REPRESENTATION_SECONDS)
            except Exception:  # noqa: BLE001
                logger.warning("representation cache unavailable", exc_info=True)
    return data


def _release() -> str:
    """A digest of the code that writes representations: GSTP's own (its apps' modules, migrations aside: the
    serializers and the properties they read are somewhere in them) and the versions of Django, DRF and orjson.
    Read when this module is imported, as the process starts: the code it runs, not what a deploy put on disk
    since."""
    sources = hashlib.sha256(f"{django.__version__} {rest_framework.VERSION} {orjson.__version__}".encode())
    for app in OWN_APPS:
        for path in sorted((settings.BASE_DIR / app).rglob("*.py")):
            if "migrations" not in path.parts:
                sources.update(path.read_bytes())
    return sources.hexdigest()[:12]


RELEASE = _release()
