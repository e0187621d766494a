"""What GSTP keeps in its caches between requests, emptied between tests: a test's requests never count against
the next test's limits, and no test reads a representation another one cached (on SQLite a rolled-back test's
ids come again, and a test that fixes the clock gives its rows the same ``updated_at`` as the last one)."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from gstp import representations, throttles


def throttle_counts_clear() -> None:
    _clear(throttles.CACHE_ALIAS, f"{throttles.KEY_PREFIX}:*")


def representations_clear() -> None:
    _clear(representations.ALIAS, "*")


def _clear(alias: str, pattern: str) -> None:
    cache = caches[alias]
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    # Only this alias's keys: the same Redis database holds the Celery broker's queues, which FLUSHDB would empty.
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key(pattern), count=1000))
    if keys:
        client.delete(*keys)
