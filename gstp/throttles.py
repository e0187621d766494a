"""How many requests each caller may send (OWASP API4): reads, writes and exports counted apart.

A caller is an API key (each key its own count: keys are issued by the secretariat, one to each program, so
one program's runaway loop never takes another's share), a user signed in with a session (all of that user's
sessions together), or, where an endpoint lets anybody in, an address. Each kind of request has its rate in
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``"1200/minute"``; ``None`` counts nothing):

- ``export``: the files of ``/api/v1/exports/`` and the annual report, each a whole collection;
- ``write``: POST, PUT, PATCH and DELETE;
- ``read``: every other request of a signed-in caller;
- ``anon``: every request of somebody not signed in.

The counts are kept in the ``throttle`` cache, Redis when ``REDIS_URL`` is set, so every web host counts in the
same place. Each is a counter per caller and window of time (the minute, the hour...), raised with one atomic
``INCR``: DRF's own ``SimpleRateThrottle`` reads a list of every request's time and writes it back whole, so two
hosts answering the same caller at once each lose the other's request, and a list of thousands is rewritten on
every request. A window's count starts again at zero when the window ends, which is when ``Retry-After`` says.

A count that cannot be kept (Redis away) lets the request through: the limits guard against abuse, and must
not take the API down with the cache. The next few seconds then skip the cache rather than wait on it again.
"""

from __future__ import annotations

import logging
import math

import redis
from django.core.cache import caches
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

CACHE_ALIAS = "throttle"
KEY_PREFIX = "throttle"
CODE = "throttled"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# After the cache failed, this process lets requests through without asking it for this long.
SKIP_CACHE_SECONDS = 5.0

SCOPES = {
    "read": _("Too many reads"),
    "write": _("Too many writes"),
    "export": _("Too many exports"),
    "anon": _("Too many requests without signing in"),
}
PERIODS = {
    1: pgettext_lazy("a limit's period", "second"),
    60: pgettext_lazy("a limit's period", "minute"),
    3600: pgettext_lazy("a limit's period", "hour"),
    86400: pgettext_lazy("a limit's period", "day"),
}


class TooManyRequests(exceptions.Throttled):
    """429 naming the limit that was reached, with ``Retry-After`` in whole seconds (DRF's handler sends it)."""

    def __init__(self, *, scope: str, limit: int, duration: int, wait: int):
        detail = ngettext(
            "%(what)s: the limit is %(limit)d per %(period)s. Try again in %(wait)d second.",
            "%(what)s: the limit is %(limit)d per %(period)s. Try again in %(wait)d seconds.",
            wait,
        ) % {"what": SCOPES[scope], "limit": limit, "period": PERIODS[duration], "wait": wait}
        exceptions.APIException.__init__(self, detail=detail, code=CODE)
        self.wait = wait


class CallerRateThrottle(SimpleRateThrottle):
    """The one throttle of every API view: the caller's count for the request's kind, in fixed windows."""

    cache_alias = CACHE_ALIAS
    _skip_cache_until = 0.0  # per process: while the cache is away

    def __init__(self):
        # DRF's reads one scope's rate here; this throttle knows the scope only once it sees the request.
        pass

    @staticmethod
    def scope_for(request, view) -> str:
        if not (request.user and request.user.is_authenticated):
            return "anon"
        scope = getattr(view, "throttle_scope", None)
        if scope:
            return scope
        return "write" if request.method in WRITE_METHODS else "read"

    def caller(self, request) -> str:
        if request.auth is not None and getattr(request.auth, "pk", None) is not None:
            return f"key:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"address:{self.get_ident(request)}"  # REMOTE_ADDR, or behind NUM_PROXIES the client's

    def allow_request(self, request, view):
        scope = self.scope_for(request, view)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)  # read now: a changed setting is followed
        if rate is None:
            return True
        limit, duration = self.parse_rate(rate)
        now = self.timer()
        if now < CallerRateThrottle._skip_cache_until:
            return True
        window = int(now // duration)
        key = f"{KEY_PREFIX}:{scope}:{self.caller(request)}:{duration}:{window}"
        try:
            count = self._count(key, timeout=duration + 1)
        except (redis.RedisError, OSError) as exc:
            CallerRateThrottle._skip_cache_until = now + SKIP_CACHE_SECONDS
            logger.warning("request limits not counted for %ss, the cache failed: %s", SKIP_CACHE_SECONDS, exc)
            return True
        if count <= limit:
            return True
        wait = max(1, math.ceil((window + 1) * duration - now))
        raise TooManyRequests(scope=scope, limit=limit, duration=duration, wait=wait)

    def _count(self, key: str, *, timeout: int) -> int:
        """This request added to the window's count, atomically on every host; the new count."""
        cache = caches[self.cache_alias]
        try:
            return cache.incr(key)
        except ValueError:  # the window's first request
            cache.add(key, 0, timeout=timeout)  # one host's add wins; the others' incr count on it
            try:
                return cache.incr(key)
            except ValueError:  # gone at once (the cache full): count this one alone
                return 1
