"""GSTP on several hosts loses one, and loses nothing: a web host cut off under load, the database host restarted.

The traffic is constant-rate, from the client host to HAProxy on the lb host: half reads, half quarterly reports
filed with an ``Idempotency-Key`` each (which lets HAProxy send a POST a cut host took to the other host).
"""

import subprocess
import threading
import time
from collections import Counter

import pytest
import requests

from .conftest import LONG, long_only
from .harness import EXPORTS_PER_MINUTE, IP, Cluster, address, thread_inside, unavailable_reason
from .traffic import Traffic

pytestmark = pytest.mark.slow

ERROR_BUDGET = 0.001  # under 0.1 % of requests without an answer, or answered 5xx
WHOLE = (1, 1, 1)
BURST = (
    8  # reports sent at once just before the cut  # a report's milestone entries, indicator values and creation events
)


def reports_in(cluster: Cluster) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """Every report, by (sub-project, period): (id, milestone entries, indicator values, creation events)."""
    with cluster.connect() as conn:
        rows = conn.execute(
            """
            SELECT r.node_id, r.year || 'Q' || r.quarter, r.id,
                   (SELECT count(*) FROM reviews_reportmilestoneentry e WHERE e.report_id = r.id),
                   (SELECT count(*) FROM reviews_reportindicatorvalue v WHERE v.report_id = r.id),
                   (SELECT count(*) FROM reviews_reportevent h WHERE h.report_id = r.id AND h.action = 'create')
            FROM reviews_quarterlyreport r
            """
        ).fetchall()
    return {(node, period): (pk, entries, values, events) for node, period, pk, entries, values, events in rows}


def clear_reports(cluster: Cluster) -> None:
    with cluster.connect() as conn:
        conn.execute("TRUNCATE reviews_quarterlyreport, reviews_idempotencyrecord CASCADE")


def run_traffic(cluster: Cluster, traffic: Traffic, seconds: float) -> threading.Thread:
    return thread_inside(cluster, "client", traffic.run, seconds)


def test_hosts_reach_each_other_and_nothing_else(cluster):
    own = subprocess.run([IP, "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert f"{address('db').rsplit('.', 1)[0]}." not in own  # no cluster address on the machine's own network
    inside = cluster.run("web1", [IP, "-o", "-4", "addr"]).stdout
    assert [line.split()[3] for line in inside.splitlines()] == ["127.0.0.1/8", f"{address('web1')}/24"]
    assert cluster.run("web1", [IP, "route"]).stdout.strip().count("default") == 0  # no way out

    with cluster.inside("client"):
        served = Counter(
            requests.get(cluster.url("lb", "/healthz/"), timeout=5).headers["X-Served-By"] for _ in range(20)
        )
    assert set(served) == {"web1", "web2"}


def test_a_web_host_cut_under_load_loses_and_duplicates_no_report(cluster, record_figures):
    clear_reports(cluster)
    rate, seconds = (40, 120) if LONG else (16, 40)
    # restored once HAProxy gave up waiting for what web1 had taken (15 s) and sent it to web2
    cut_at, restore_at = seconds * 0.25, seconds * 0.25 + 20
    traffic = Traffic(cluster.url(), cluster.data, rate)

    # when: web1's link is cut a quarter into the load, just after a burst of reports was sent (some of them
    # reach web1 and are cut off there mid-way), and restored past half of it
    thread = run_traffic(cluster, traffic, seconds)
    time.sleep(cut_at)
    burst = [thread_inside(cluster, "client", traffic.one, 0) for _ in range(BURST)]
    time.sleep(0.05)
    cluster.cut("web1")
    cut = time.monotonic() - traffic.started
    time.sleep(restore_at - cut_at)
    cluster.restore("web1")
    restored = time.monotonic() - traffic.started
    for waited in (thread, *burst):
        waited.join(seconds + 120)
        assert not waited.is_alive()

    answers = traffic.answers
    posts = traffic.posts()
    stored = reports_in(cluster)
    created = {answer.slot: answer.json["id"] for answer in posts if answer.status == 201}
    failed = [answer for answer in answers if answer.failed]
    lost = [slot for slot, pk in created.items() if stored.get(slot, (None,))[0] != pk]
    duplicated = [slot for slot, rows in stored.items() if rows[1:] != WHOLE] + sorted(set(stored) - set(created))
    by_host = Counter((answer.served_by, answer.sent_at < cut, answer.sent_at > restored + 5) for answer in answers)
    print(
        f"{len(answers)} requests at {rate}/s, web1 cut at {cut:.1f}s, restored at {restored:.1f}s: "
        f"{dict(Counter(answer.status for answer in answers))}; {len(failed)} failed; "
        f"{sum(answer.replayed for answer in posts)} writes replayed; slowest "
        f"{max(answer.seconds for answer in answers):.1f}s; served {dict(by_host)}"
    )
    record_figures(
        cases=len(answers),
        errors=sum(1 for answer in answers if answer.status is None or answer.json is None),
        server_errors=sum(1 for answer in answers if (answer.status or 0) >= 500),
        lost=len(lost),
        duplicated=len(duplicated),
    )

    # then: under 0.1 % failed, and every report answered 201 is in the database once, whole
    assert len(failed) <= ERROR_BUDGET * len(answers), [
        (answer.sent_at, answer.seconds, answer.status, answer.served_by, answer.json, answer.error)
        for answer in failed[:3]
    ]
    assert {answer.status for answer in posts} == {201}, Counter(answer.status for answer in posts)
    assert lost == [] and duplicated == []
    assert any(answer.seconds > 5 for answer in posts if cut - 1 < answer.sent_at < cut), "no write was cut mid-way"
    # and web2 alone answered while web1 was cut; both before, and after web1 came back
    assert {answer.served_by for answer in answers if answer.sent_at < cut} == {"web1", "web2"}
    during = {answer.served_by for answer in answers if cut + 3 < answer.sent_at < restored}
    assert during == {"web2"}
    assert "web1" in {answer.served_by for answer in answers if answer.sent_at > restored + 5}


@long_only
def test_the_database_host_restarted_answers_503_json_and_leaves_no_key_claimed(cluster, record_figures):
    clear_reports(cluster)
    rate, seconds = (16, 24)
    traffic = Traffic(cluster.url(), cluster.data, rate)

    # when: PostgreSQL stops mid-load, stays down a few seconds, and starts again
    thread = run_traffic(cluster, traffic, seconds)
    time.sleep(6)
    down_at = time.monotonic() - traffic.started
    cluster.stop_postgres(mode="fast")
    time.sleep(4)
    cluster.start_postgres()
    up_at = time.monotonic() - traffic.started
    thread.join(seconds + 120)
    assert not thread.is_alive()

    answers = traffic.answers
    unavailable = [answer for answer in answers if answer.status == 503]
    print(
        f"{len(answers)} requests, database down {down_at:.1f}s to {up_at:.1f}s: "
        f"{dict(Counter(answer.status for answer in answers))}"
    )
    # then: every answer is JSON; those during the outage are the 503 asking to retry, never a 500
    assert [answer for answer in answers if answer.status is None or answer.json is None] == []
    assert {answer.status for answer in answers} <= {200, 201, 503}
    assert unavailable, "no request met the outage"
    assert all(
        answer.json["code"] == "service_unavailable" and answer.json["detail"] and answer.retry_after
        for answer in unavailable
    )
    assert all(down_at - 1 < answer.sent_at + answer.seconds and answer.sent_at < up_at + 10 for answer in unavailable)

    # and every write refused is taken when sent again with its key: replayed or worked, never 409
    refused = [answer for answer in traffic.posts() if answer.status == 503]
    with cluster.inside("client"):
        retries = [traffic.send("POST", answer.path, body=answer.body, key=answer.key) for answer in refused]
    assert Counter(retry.status for retry in retries) == Counter({201: len(refused)})

    stored = reports_in(cluster)
    created = {answer.slot: answer.json["id"] for answer in traffic.posts() if answer.status == 201 and answer.slot}
    created.update({answer.slot: retry.json["id"] for answer, retry in zip(refused, retries, strict=True)})
    record_figures(
        cases=len(answers) + len(retries),
        errors=0,
        server_errors=sum(1 for answer in answers if (answer.status or 0) >= 500 and answer.status != 503),
        lost=sum(1 for slot, pk in created.items() if stored.get(slot, (None,))[0] != pk),
        duplicated=sum(1 for rows in stored.values() if rows[1:] != WHOLE) + len(set(stored) - set(created)),
    )
    # and nothing is half-written: each report answered is there once, whole, and no other
    assert {slot: rows[0] for slot, rows in stored.items()} == created
    assert {slot: rows[1:] for slot, rows in stored.items() if rows[1:] != WHOLE} == {}


def namespaces() -> set[str]:
    listed = subprocess.run([IP, "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


def test_the_harness_removes_every_namespace_and_process_after_a_failure():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    cluster = Cluster()
    mine = {cluster.namespace(host) for host in ("switch", "client", "db")}
    with pytest.raises(RuntimeError, match="a test failing"):
        try:
            cluster.create_network(hosts=("client", "db"))
            sleeper = cluster.spawn("sleeper", "db", ["sleep", "300"])
            assert mine <= namespaces()
            raise RuntimeError("a test failing with the cluster up")
        finally:
            cluster.stop()
    assert not mine & namespaces()
    assert not sleeper.running()
    assert not cluster.root.exists()


def test_a_callers_limit_holds_across_both_web_hosts(cluster):
    # given: exports limited to EXPORTS_PER_MINUTE a minute per caller, counted in the db host's Redis
    with cluster.inside("client"):
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Token {cluster.data['token']}"
        url = cluster.url("lb", "/api/v1/exports/reports/?format=csv")

        # (all within one minute's window of the count)
        if time.time() % 60 > 40:
            time.sleep(60.5 - time.time() % 60)
        # when: the caller asks for two more than that, one request after another
        answers = [session.get(url, timeout=30) for _ in range(EXPORTS_PER_MINUTE + 2)]

    # then: both hosts answered, and they counted together: the first ones pass, the rest are 429 JSON
    served = [(answer.headers["X-Served-By"], answer.status_code) for answer in answers]
    assert {host for host, _ in served[:EXPORTS_PER_MINUTE]} == {"web1", "web2"}, served
    assert [status for _, status in served] == [200] * EXPORTS_PER_MINUTE + [429, 429], served
    refused = answers[-1]
    assert refused.json()["code"] == "throttled" and int(refused.headers["Retry-After"]) >= 1
