"""The cluster of hosts (``harness.Cluster``) for the tests in this folder: made once for them all, torn down
after the last, or after a failure. Skipped where hosts cannot be made (not root, no ``ip`` or servers).

``GSTP_CLUSTER_LONG=1`` (``make reliability``) runs the load longer and the lost worker with the production
broker settings, and also the database host's restart and the two beat hosts (``long_only``); ``make test`` runs
the others, short. A single host's PostgreSQL restart and two beats on one host are in ``make test`` either way
(tests/faults/test_database_restart.py, tests/reviews/test_single_beat.py).
"""

import os

import pytest

from .harness import Cluster, unavailable_reason

LONG = os.environ.get("GSTP_CLUSTER_LONG", "") == "1"
long_only = pytest.mark.skipif(not LONG, reason="a long cluster run: make reliability (GSTP_CLUSTER_LONG=1)")
SUBPROJECTS = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/cluster/" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster_hosts():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"the cluster {reason}")
    cluster = Cluster()
    try:
        cluster.create_network()
        cluster.start_database()
        data = cluster.prepare_data(SUBPROJECTS)
        for host in ("web1", "web2"):
            cluster.start_web(host)
        cluster.start_proxy()
        cluster.wait_ready()
        cluster.wait_proxy_sees({"web1", "web2"})
        cluster.data = data
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(cluster_hosts):
    """The running cluster, with every link up again after the test and both web hosts back in the rotation."""
    yield cluster_hosts
    for host in cluster_hosts.hosts:
        if host != "switch":
            cluster_hosts.restore(host)


@pytest.fixture
def record_figures(record_property):
    """Figures for ``make reliability``'s table (read from the JUnit report), as the fault tests record them."""

    def record(**values):
        for name, value in values.items():
            record_property(name, int(value))

    return record
