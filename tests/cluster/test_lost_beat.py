"""Beat on two hosts, one of them started by mistake: only the holder of the beat lock (in the db host's Redis)
sends, so no periodic job is sent twice; when the holder's host is cut off, the other takes over within the lock's
life, and the first, back on the network, stands by."""

import datetime
import re
import time
from zoneinfo import ZoneInfo

import pytest

from tests.support.processes import wait_until

from .conftest import long_only

pytestmark = [pytest.mark.slow, long_only]

LOCK_SECONDS = 6
EVERY_SECONDS = 5  # the outbox relay's schedule (reviews/migrations/0019_periodic_tasks.py)
SENT = re.compile(r"^(\S+ \S+) INFO celery\.beat Scheduler: Sending due task relay-outbox ", re.M)
TAIPEI = ZoneInfo("Asia/Taipei")  # the time of beat's log lines (TIME_ZONE)


def sends(process) -> list[float]:
    """When the beat sent the outbox relay, in seconds since the epoch."""
    return [
        datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=TAIPEI).timestamp()
        for stamp in SENT.findall(process.log())
    ]


def test_a_second_beat_host_sends_nothing_twice_and_takes_over_when_the_first_is_lost(cluster):
    beats = {host: cluster.start_beat(host, GSTP_BEAT_LOCK_SECONDS=str(LOCK_SECONDS)) for host in ("beat", "beat2")}
    try:
        # given: one of them holds the lock
        holding = wait_until(
            lambda: [host for host, beat in beats.items() if "beat lock taken" in beat.log()],
            timeout=60,
            what="a beat taking the lock",
        )
        assert len(holding) == 1
        (holder,) = holding
        (standby,) = set(beats) - {holder}
        time.sleep(3 * EVERY_SECONDS + 1)
        assert len(sends(beats[holder])) >= 3 and sends(beats[standby]) == []

        # when: the holder's host is cut off
        cluster.cut(holder)
        cut_at = time.time()
        wait_until(lambda: sends(beats[standby]), timeout=LOCK_SECONDS + 3 * EVERY_SECONDS, what="the takeover")
        time.sleep(2 * EVERY_SECONDS)
        # and comes back
        cluster.restore(holder)
        time.sleep(LOCK_SECONDS + EVERY_SECONDS)
    finally:
        for host in beats:
            cluster.processes.pop(host).kill()

    first, second = sends(beats[holder]), sends(beats[standby])
    every = sorted(first + second)
    gaps = [later - earlier for earlier, later in zip(every, every[1:], strict=False)]
    print(
        f"{holder} sent {len(first)} times, then was cut off; {standby} took over "
        f"{second[0] - cut_at:.1f} s later and sent {len(second)} times; shortest gap {min(gaps):.1f} s"
    )
    # then: the standby took over within the lock's life, and no run was sent twice
    assert second[0] - cut_at <= LOCK_SECONDS + EVERY_SECONDS
    assert min(gaps) > EVERY_SECONDS - 1.5
    # and the first, back, sent nothing more: it stands by
    assert [sent for sent in first if sent > cut_at] == []
    assert "standing by" in beats[holder].log() or "beat lock lost" in beats[holder].log()
