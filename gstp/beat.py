"""Celery beat that sends only while it holds the cluster's beat lock.

The schedule lives in the database (django-celery-beat's ``PeriodicTask`` rows, changed in the admin). Any
number of beat processes may run; each tick, a beat first takes or renews the lock, and only its holder sends
anything. The others wait and try again, so a second beat started by mistake sends nothing, and when the
holder dies, another takes over once the lock expires.

- With a Redis broker (production), the lock is a Redis key with a time to live
  (``GSTP_BEAT_LOCK_SECONDS``), set only if absent and renewed by its holder every tick, which comes at
  least three times a lock's life. A dead holder stops renewing it; the key expires and a waiting beat
  takes it.
- With the filesystem broker (one machine, nothing installed), the lock is an exclusive ``flock`` on a file
  in ``GSTP_VAR_DIR``, which the kernel releases when its holder exits, however it exits.

A beat that takes the lock reads the schedule again from the database, with the last run times the
previous holder wrote after each task it sent, so nothing the previous holder sent is sent again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import uuid
from pathlib import Path

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "gstp:beat:lock"

# Renew the lock only if it is still this beat's (compare and extend, one step on the server).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLock:
    """A lock held while its holder renews it within ``seconds``."""

    def __init__(self, url: str, seconds: float):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.milliseconds = int(seconds * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self.renew_script = self.client.register_script(_RENEW)
        self.release_script = self.client.register_script(_RELEASE)

    def hold(self, *, held: bool) -> bool:
        """Take the lock, or renew it if this beat ``held`` it; whether this beat holds it now."""
        if held and self.renew_script(keys=[LOCK_KEY], args=[self.token, self.milliseconds]):
            return True
        return bool(self.client.set(LOCK_KEY, self.token, nx=True, px=self.milliseconds))

    def release(self) -> None:
        self.release_script(keys=[LOCK_KEY], args=[self.token])


class FileLock:
    """An exclusive lock on a file, held until released or until its process exits."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "a")  # noqa: SIM115  # held open for the process's life
        self.token = f"{socket.gethostname()}:{os.getpid()}"

    def hold(self, *, held: bool) -> bool:
        if held:
            return True
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)


def beat_lock():
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return RedisLock(url, settings.GSTP_BEAT_LOCK_SECONDS)
    return FileLock(Path(settings.VAR_DIR) / "celerybeat.lock")


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, sending only while it holds the beat lock."""

    def __init__(self, *args, **kwargs):
        self.lock = beat_lock()
        self.holding = False
        super().__init__(*args, **kwargs)
        # The last run time is written after every task sent, so a beat taking over knows what was sent.
        self.sync_every_tasks = 1
        # Wake up often enough to renew the lock three times within its life.
        self.max_interval = min(self.max_interval, settings.GSTP_BEAT_LOCK_SECONDS / 3)

    def tick(self, *args, **kwargs):
        try:
            holding = self.lock.hold(held=self.holding)
        except Exception:  # the lock's server is away: send nothing until it answers again
            logger.warning("beat lock unavailable; sending nothing until it is back", exc_info=True)
            holding = False
        if holding and not self.holding:
            logger.info("beat lock taken (%s): sending the schedule", self.lock.token)
            self._reload()
        elif self.holding and not holding:
            logger.warning("beat lock lost (%s): standing by", self.lock.token)
            self._dirty.clear()  # the run times not yet written are the new holder's to write now
        self.holding = holding
        if not holding:
            return self.max_interval
        return min(super().tick(*args, **kwargs), self.max_interval)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        """Send only if the lock is still this beat's now: a tick slowed past the lock's life (the database slow
        to answer, say) must not send what the beat that took the lock over meanwhile sends too."""
        try:
            still = self.lock.hold(held=True)
        except Exception:
            still = False
        if not still:
            if self.holding:
                logger.warning("beat lock lost (%s) before sending %s: standing by", self.lock.token, entry.name)
            self.holding = False
            self._dirty.clear()
            return None
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)

    def _reload(self) -> None:
        """Read the schedule and its last run times from the database again (the previous holder's)."""
        self._dirty.clear()
        self._initial_read = True
        self._heap = None

    def close(self):
        if not self.holding:
            self._dirty.clear()  # a beat standing by writes no run times over the holder's
        super().close()
        if self.holding:
            try:
                self.lock.release()
            except Exception:
                logger.warning("beat lock not released; it expires by itself", exc_info=True)
            self.holding = False
