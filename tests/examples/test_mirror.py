"""The example consumer mirrors the demo data exactly over HTTP, then fetches only what changed."""

import datetime
import io
import json
import sqlite3
import subprocess
import sys

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.services import token_issue
from projects.models import Milestone, PlanNode
from reviews import services
from reviews.models import LagFlag, QuarterlyReport, ReportStatus
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "examples"))
import mirror  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_mirror(url, key, db_path) -> dict[str, tuple[int, int]]:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "mirror.py"), "--url", url, "--token", key, "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    counts = {}
    for line in result.stdout.splitlines():
        name, _, rest = line.partition(": ")
        fetched, deleted = rest.replace(" fetched,", "").replace(" deleted", "").split()
        counts[name] = (int(fetched), int(deleted))
    return counts


def assert_mirror_equals_gstp(url, key, db_path):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {key}"
    db = sqlite3.connect(db_path)
    for name in mirror.COLLECTIONS:
        live = {row["id"]: row for row in mirror.fetch_all(session, f"{url}/api/v1/{name}/", {})}
        mirrored = {row_id: json.loads(data) for row_id, data in db.execute(f"SELECT id, data FROM {name}")}
        assert mirrored == live, name


def test_the_mirror_is_exact_and_then_syncs_only_changes(live_server, tmp_path):
    # given the demo data and a reader's key
    call_command("seed_demo", stdout=io.StringIO())
    key = token_issue(user=User.objects.get(username="portal"))
    db_path = tmp_path / "mirror.sqlite3"

    first = run_mirror(live_server.url, key, db_path)

    assert first["projects"] == (PlanNode.objects.count(), 0)
    assert first["reports"] == (QuarterlyReport.objects.filter(status=ReportStatus.ACCEPTED).count(), 0)
    assert_mirror_equals_gstp(live_server.url, key, db_path)

    # when a title changes, a milestone goes, and an endorsed report is accepted and its sub-project scanned
    renamed = PlanNode.objects.get(title="超高速寬頻網路普及")
    renamed.title = "超高速寬頻網路普及（修訂）"
    renamed.save()
    Milestone.objects.filter(node__title="5G 行動寬頻網路普及", title="試營運").delete()
    report = QuarterlyReport.objects.filter(status=ReportStatus.ENDORSED).order_by("pk").first()
    services.report_accept(
        actor=User.objects.get(username="secretariat"), report=report, expected_version=report.version
    )
    services.lag_scan(node_ids=[report.node_id])

    since = dict(sqlite3.connect(db_path).execute("SELECT collection, updated_since FROM sync"))
    second = run_mirror(live_server.url, key, db_path)

    # then only the changes came (updated_since is inclusive: the rows as new as the newest of the last run
    # come again; on PostgreSQL that is every flag the last scan opened, which share its time), and the
    # mirror is exact again
    assert second["milestones"][1] == 1
    changed = PlanNode.objects.filter(updated_at__gte=datetime.datetime.fromisoformat(since["projects"]))
    assert second["projects"][0] == changed.count()
    assert renamed.pk in set(changed.values_list("pk", flat=True))
    assert 1 <= second["reports"][0] <= 2
    flags_since = LagFlag.objects.filter(updated_at__gte=datetime.datetime.fromisoformat(since["flags"]))
    assert second["flags"][0] == flags_since.count()
    others = sum(fetched for name, (fetched, _) in second.items() if name != "flags")
    assert others < sum(fetched for fetched, _ in first.values()) / 10
    assert_mirror_equals_gstp(live_server.url, key, db_path)
