"""The restore drill: a backup taken while reports are being filed, restored into a new PostgreSQL cluster,
answers every collection exactly as the source did at the moment of the dump.

Two leads file quarterly reports through the API, each with an evidence file, from threads of their own,
without pause. Meanwhile the test opens a REPEATABLE READ transaction, exports its snapshot, and runs
the ``backup`` command with ``--snapshot`` (pg_dump imports that snapshot) and, still inside it, reads every collection of
the API as the secretariat, each to its last page, with every evidence file's download: exactly what the dump
holds. Then the ``restore`` command puts the backup into a PostgreSQL cluster of the test's own (initdb in a
temporary directory, another port; a new database on the test's server when no server binaries are there) and
a new media folder, Django is pointed at it, and the same reads answer the same bytes. Last, a damaged dump
(its manifest made to agree) restored over it fails in pg_restore and leaves the database as it was.
"""

import contextlib
import hashlib
import io
import itertools
import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import dj_database_url
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from accounts.services import token_issue
from reviews.models import QuarterlyReport
from tests.accounts.factories import UserFactory, secretariat_user
from tests.projects.factories import AgencyFactory, allocate, make_tree
from tests.reviews import evidence_samples as samples
from tests.reviews.factories import API_ALLOCATED, API_REPORTS, report_body
from tests.security.endpoints import api_endpoints, collection_reads
from tests.support.postgres import PostgresCluster, postgres_bin_dir

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.usefixtures("media")]

SUBPROJECTS = 6
YEARS = range(2021, 2026)
PAGE_SIZE = 7  # small: every collection of more than a few rows is read over several pages
FILERS = 2
FILED_BEFORE_THE_DUMP = 8
THREAD_TIMEOUT = 60
# Collections read one parent at a time, named in the query: the traffic lights are a plan's, the reports owed an
# agency's.
PER_PARENT = {"/api/v1/lights/": ("/api/v1/plans/", "plan"), "/api/v1/reports/owed/": ("/api/v1/agencies/", "agency")}


def nested_collections() -> list[str]:
    """Collections under one object of a top-level collection (``/api/v1/reports/{id}/files/``)."""
    tops = {endpoint.route for endpoint in collection_reads()}
    nested = []
    for endpoint in api_endpoints():
        route = endpoint.route
        if endpoint.method != "GET" or len(endpoint.parameters) != 1 or route.endswith("}/"):
            continue
        parent = route.split("{", 1)[0]
        if parent in tops:
            nested.append(route)
    return nested


def read_collection(client, url: str) -> list[bytes]:
    """Every page of the collection at ``url``, following ``next`` to the end: the bodies as sent."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content)
        pages.append(response.content)
        body = response.json()
        url = body.get("next") if isinstance(body, dict) else None
    return pages


def rows_of(pages: list[bytes]) -> list[dict]:
    rows = []
    for page in pages:
        body = json.loads(page)
        rows.extend(body["results"] if isinstance(body, dict) else body)
    return rows


def read_everything(client) -> dict[str, object]:
    """Every collection (top-level ones, and those under each of their rows) and every evidence file's
    content, as the secretariat reads them."""
    answers = {}
    for endpoint in collection_reads():
        if endpoint.route not in PER_PARENT:
            answers[endpoint.route] = read_collection(client, f"{endpoint.route}?page_size={PAGE_SIZE}")
    for route, (parent, parameter) in PER_PARENT.items():
        for row in rows_of(answers[parent]):
            url = f"{route}?{parameter}={row['id']}"
            answers[url] = read_collection(client, url)
    for route in nested_collections():
        parent = route.split("{", 1)[0]
        for row in rows_of(answers[parent]):
            url = route.format(**{name: row["id"] for name in ("id", "pk", "plan_id")})
            answers[url] = read_collection(client, url)
            if url.endswith("/files/"):
                for listed in rows_of(answers[url]):
                    download = client.get(urlsplit(listed["download"]).path)
                    assert download.status_code == 200, listed
                    content = b"".join(download.streaming_content) if download.streaming else download.content
                    answers[listed["download"]] = hashlib.sha256(content).hexdigest()
    return answers


class Filers:
    """Leads filing 2021Q1..2025Q4 reports for their sub-projects through the API, one evidence file each, until
    stopped. Each ``(answered_at, report id)`` is recorded once the report and its file are both answered."""

    def __init__(self, leads_and_nodes):
        self.stop = threading.Event()
        self.filed: list[tuple[float, int]] = []
        self.failures: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._file, args=(token_issue(user=lead), nodes), daemon=True)
            for lead, nodes in leads_and_nodes
        ]

    def _file(self, token, nodes):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            for year, quarter, node in itertools.product(YEARS, range(1, 5), nodes):
                if self.stop.is_set():
                    return
                created = client.post(API_REPORTS, report_body(node, period=f"{year}Q{quarter}"), format="json")
                assert created.status_code == 201, created.content
                report_id = created.json()["id"]
                file = SimpleUploadedFile(f"佐證-{report_id}.pdf", samples.pdf(f"report {report_id}"))
                uploaded = client.post(f"{API_REPORTS}{report_id}/files/", {"file": file}, format="multipart")
                assert uploaded.status_code == 201, uploaded.content
                self.filed.append((time.monotonic(), report_id))
        except BaseException as exc:  # re-raised in the test's thread
            self.failures.append(exc)
        finally:
            connection.close()

    def start(self):
        for thread in self.threads:
            thread.start()

    def wait_for(self, count: int):
        deadline = time.monotonic() + THREAD_TIMEOUT
        while len(self.filed) < count and not self.failures:
            assert time.monotonic() < deadline, "the leads filed too slowly"
            time.sleep(0.02)

    def finish(self):
        """Stop filing, once the filings under way are answered."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=THREAD_TIMEOUT)
        assert not any(thread.is_alive() for thread in self.threads), "a filing hung"
        assert not self.failures, self.failures


@pytest.fixture
def restore_target(transactional_db):
    """``() -> URL`` of an empty database to restore into: in a PostgreSQL cluster of the test's own, started
    in the background meanwhile, when the server binaries are here; else a new database on the test's server."""
    if postgres_bin_dir() is not None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            starting = pool.submit(PostgresCluster)
            try:
                yield lambda: starting.result(timeout=THREAD_TIMEOUT).url
            finally:
                with contextlib.suppress(Exception):  # a cluster that did not start removed itself
                    starting.result(timeout=THREAD_TIMEOUT).stop()
        return
    name = f"{connection.settings_dict['NAME']}_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    source = connection.settings_dict
    yield lambda: f"postgres://{source['USER']}:{source['PASSWORD']}@{source['HOST']}:{source['PORT']}/{name}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def django_on(url: str):
    """The default connection pointed at the database at ``url`` meanwhile."""
    parsed = dj_database_url.parse(url)
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    saved = {key: connection.settings_dict[key] for key in keys}
    connection.close()
    connection.settings_dict.update({key: parsed[key] for key in keys})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_reports_are_filed_restores_what_the_dump_saw(restore_target, tmp_path, settings):
    # given sub-projects with their budget ledgers, two leads filing, and the secretariat reading
    agency = AgencyFactory(name="數位發展部")
    _group, _strategy, _measure, nodes = make_tree(lead_agency=agency, subprojects=SUBPROJECTS)
    for node in nodes:
        for year in YEARS:
            allocate(node, year, 4, API_ALLOCATED)
    leads = [UserFactory(username=f"lead-{n}", role=Role.LEAD, agency=agency) for n in range(FILERS)]
    secretary = APIClient()
    secretary.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=secretariat_user('secretary'))}")
    ApiKey.objects.update(last_used_at=timezone.now())  # no write by the reads below (a key's first use)
    filers = Filers([(lead, nodes[index::FILERS]) for index, lead in enumerate(leads)])
    filers.start()
    try:
        filers.wait_for(FILED_BEFORE_THE_DUMP)

        # when the backup is taken, and everything read, in one snapshot while the leads go on filing
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
            dump_started = time.monotonic()
            call_command("backup", output_dir=tmp_path / "backups", snapshot=snapshot, stdout=(out := io.StringIO()))
            dump_ended = time.monotonic()
            filers.wait_for(len(filers.filed) + FILERS)
            filers.finish()  # the reads below need no company: they see the snapshot whatever is filed
            source = read_everything(secretary)
            reports_at_the_dump = QuarterlyReport.objects.count()
            transaction.set_rollback(True)
    finally:
        filers.finish()
    backup_path = out.getvalue().strip()

    # then reports were filed while the dump ran, and after it
    assert any(dump_started < answered < dump_ended for answered, _ in filers.filed), "no report filed meanwhile"
    assert QuarterlyReport.objects.count() > reports_at_the_dump >= FILED_BEFORE_THE_DUMP
    assert len(source["/api/v1/reports/"]) > 1, "the reports fill more than one page"

    # when it is restored into a new cluster and a new media folder
    restored_url = restore_target()
    with django_on(restored_url):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / "restored-media")},
            },
        }
        call_command("restore", backup_path, interactive=False, stdout=io.StringIO())
        assert QuarterlyReport.objects.count() == reports_at_the_dump
        restored_answers = read_everything(secretary)

    # then every collection answers the same bytes, and every evidence file has the same content
    assert restored_answers.keys() == source.keys()
    for url, answer in source.items():
        assert restored_answers[url] == answer, url
    # (a report whose file was not yet uploaded at the dump's moment has none)
    files = [url for url in source if "/files/" in url and not url.endswith("/files/")]
    assert reports_at_the_dump - FILERS <= len(files) <= reports_at_the_dump

    # when a damaged dump, its manifest made to agree, is restored over the restored database
    damaged = tmp_path / "damaged"
    shutil.copytree(backup_path, damaged)
    dump = damaged / "database.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size * 3 // 4])
    manifest = json.loads((damaged / "manifest.json").read_text(encoding="utf-8"))
    manifest["database"].update(bytes=dump.stat().st_size, sha256=hashlib.sha256(dump.read_bytes()).hexdigest())
    (damaged / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with django_on(restored_url):
        with pytest.raises(CommandError, match="pg_restore failed"):
            call_command("restore", str(damaged), interactive=False, stdout=io.StringIO())

        # then it is refused whole: the database is as it was
        assert read_collection(secretary, f"/api/v1/reports/?page_size={PAGE_SIZE}") == source["/api/v1/reports/"]
        assert QuarterlyReport.objects.count() == reports_at_the_dump
