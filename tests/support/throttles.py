"""The request counts of ``gstp.throttles``, emptied between tests: a test's requests never count against the
next test's (on SQLite a rolled-back test's ids, and so its callers, come again)."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from gstp.throttles import CACHE_ALIAS, KEY_PREFIX


def throttle_counts_clear() -> None:
    cache = caches[CACHE_ALIAS]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    # Only the counts: the same Redis database holds the Celery broker's queues, which FLUSHDB would empty.
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key(f"{KEY_PREFIX}:*"), count=1000))
    if keys:
        client.delete(*keys)
