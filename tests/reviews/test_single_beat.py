"""Exactly one beat sends: two real ``celery -A gstp beat`` processes on the same PostgreSQL database and Redis,
one of them started by mistake, send each scheduled run once; when the one sending is killed, the other takes
over within the beat lock's life (gstp/beat.py).

The schedule is one job every second, sent to a queue of its own that no worker reads, so the test counts
the messages on the broker. Each message carries its expiry, the moment it was sent plus the job's
``expire_seconds``, which gives the moment it was sent.
"""

import datetime
import json
import os
import uuid

import pytest
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from gstp.beat import LOCK_KEY
from tests.support.processes import CELERY, ManagedProcess, wait_until
from tests.support.workers import database_url

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

LOCK_SECONDS = 3
EXPIRE_SECONDS = 600


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(LOCK_KEY)
    yield client
    client.delete(LOCK_KEY)
    client.close()


@pytest.fixture
def every_second(transactional_db, redis_client):
    """Only one job in the schedule, every second, to a queue of its own."""
    PeriodicTask.objects.update(enabled=False)
    queue = f"beat-test-{uuid.uuid4().hex[:8]}"
    PeriodicTask.objects.create(
        name="every-second",
        task="reviews.relay_outbox",
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS),
        queue=queue,
        expire_seconds=EXPIRE_SECONDS,
    )
    yield queue
    redis_client.delete(queue)


@pytest.fixture
def start_beat(tmp_path, request):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gstp.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": os.environ["REDIS_URL"],
        "GSTP_BEAT_LOCK_SECONDS": str(LOCK_SECONDS),
        "GSTP_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
        env.pop(name, None)

    def start(name: str) -> ManagedProcess:
        beat = ManagedProcess(
            [str(CELERY), "-A", "gstp", "beat", "--loglevel=INFO"], env=env, log_path=tmp_path / f"{name}.log"
        )
        request.addfinalizer(beat.stop)  # before the database is flushed: it reads and writes it
        wait_until(lambda: "beat: Starting..." in beat.log() or not beat.running(), timeout=60, what=f"{name}")
        assert beat.running(), beat.log_tail()
        return beat

    return start


def holder(redis_client) -> int | None:
    """The process id of the beat holding the lock (its token is host:pid:random)."""
    token = redis_client.get(LOCK_KEY)
    return int(token.decode().split(":")[1]) if token else None


def sent_at(redis_client, queue: str) -> list[datetime.datetime]:
    """When each message on the queue was sent, in order."""
    moments = []
    for raw in redis_client.lrange(queue, 0, -1):
        expires = datetime.datetime.fromisoformat(json.loads(raw)["headers"]["expires"])
        moments.append(expires - datetime.timedelta(seconds=EXPIRE_SECONDS))
    return sorted(moments)


def sends(beat: ManagedProcess) -> int:
    return beat.log().count("Sending due task every-second")


def test_a_second_beat_sends_nothing_twice_and_takes_over_when_the_first_dies(redis_client, every_second, start_beat):
    # given one beat sending, and a second one started by mistake
    first = start_beat("first")
    wait_until(lambda: holder(redis_client) == first.pid, timeout=20, what="the first beat holding the lock")
    second = start_beat("second")
    wait_until(lambda: sends(first) >= 5, timeout=30, what="five runs sent")

    # the second sent nothing, and each run went out once, a second apart
    assert sends(second) == 0, second.log_tail()
    assert holder(redis_client) == first.pid
    moments = sent_at(redis_client, every_second)
    assert len(moments) == sends(first)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(moments, moments[1:], strict=False)]
    assert min(gaps) > 0.5, gaps

    # when the first beat dies
    first.kill()
    sent_by_first = len(sent_at(redis_client, every_second))
    died = datetime.datetime.now(datetime.UTC)

    # then the second takes the lock once it expires, and sends the runs from then on, each once
    wait_until(lambda: holder(redis_client) == second.pid, timeout=LOCK_SECONDS + 5, interval=0.1, what="takeover")
    wait_until(lambda: sends(second) >= 3, timeout=LOCK_SECONDS + 10, what="three runs sent by the second beat")
    moments = sent_at(redis_client, every_second)
    assert len(moments) == sent_by_first + sends(second)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(moments, moments[1:], strict=False)]
    assert min(gaps) > 0.5, gaps
    taken_over_after = (moments[sent_by_first] - died).total_seconds()
    assert taken_over_after <= LOCK_SECONDS + 1.5, taken_over_after


def test_a_beat_whose_lock_was_taken_over_during_a_tick_sends_nothing(every_second, redis_client, settings):
    from celery.beat import ScheduleEntry

    from gstp.beat import SingleBeatScheduler
    from gstp.celery import app

    settings.CELERY_BROKER_URL = os.environ["REDIS_URL"]
    scheduler = SingleBeatScheduler(app=app, lazy=True)
    assert scheduler.lock.hold(held=False)
    scheduler.holding = True
    entry = ScheduleEntry(name="every-second", task="reviews.relay_outbox", app=app, options={"queue": every_second})

    # when: the lock expires while this beat is slow, and the other beat takes it
    redis_client.set(LOCK_KEY, "the-other-beat")
    sent = scheduler.apply_async(entry, advance=False)

    # then: nothing is sent, and this beat stands by, leaving the lock and the run times to the other
    assert sent is None and redis_client.llen(every_second) == 0
    assert not scheduler.holding and redis_client.get(LOCK_KEY) == b"the-other-beat"

    # and while it holds the lock, it sends
    redis_client.delete(LOCK_KEY)
    assert scheduler.lock.hold(held=False)
    scheduler.holding = True
    assert scheduler.apply_async(entry, advance=False) is not None
    assert redis_client.llen(every_second) == 1
