"""Races on one report, and ``Idempotency-Key``.

The races need real PostgreSQL (row locks, concurrent transactions): SQLite serialises writers on one file
and would only prove that it does. They run the requests from threads, each with its own client and its own
database connection, released by a ``threading.Barrier`` at the same moment; every race is repeated a few
times, each round on a fresh report. The sequential idempotency tests at the end run on SQLite too.
"""

import datetime
import hashlib
import itertools
import json
import threading
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_issue
from reviews import services
from reviews.models import (
    IdempotencyRecord,
    IdempotencyState,
    QuarterlyReport,
    ReportAction,
    ReportEvent,
    ReportStatus,
)
from reviews.periods import Quarter, quarters_between
from tests.accounts.factories import UserFactory, secretariat_user
from tests.projects.factories import make_tree

from .factories import of_kind, report_in_status

REPORTS = "/api/v1/reports/"
ROUNDS = 10
# One fresh report per round, each in its own quarter of the sub-project (2021Q1, 2021Q2, ...).
ROUND_PERIODS = list(itertools.islice(quarters_between(Quarter(2021, 1), Quarter(2025, 4)), ROUNDS))
THREAD_TIMEOUT = 30

race = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subproject(agency, report_kind):
    """A sub-project filing quarterly reports, or (``report_kind``) monthly updates: Idempotency-Key and
    If-Match hold for both."""
    _group, _strategy, _measure, (node,) = make_tree(lead_agency=agency)
    return of_kind(node, report_kind)


@pytest.fixture
def lead(agency):
    return UserFactory(username="lead-one", role=Role.LEAD, agency=agency)


@pytest.fixture
def colleague(agency):
    """A second lead of the same agency: two people editing one report."""
    return UserFactory(username="lead-two", role=Role.LEAD, agency=agency)


@pytest.fixture
def secretary(db):
    return secretariat_user()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client


def run_together(*calls):
    """Run each ``call(client)`` in its own thread, all released at once; return their responses in order.

    Tokens are issued here, in the test's thread, so the threads only read.
    """
    tokens = [token_issue(user=user) for user, _call in calls]
    barrier = threading.Barrier(len(calls))
    responses = [None] * len(calls)
    failures = []

    def worker(index, token, call):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait(timeout=THREAD_TIMEOUT)
            responses[index] = call(client)
        except BaseException as exc:  # re-raised in the test's thread below
            failures.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, token, call), daemon=True)
        for index, (token, (_user, call)) in enumerate(zip(tokens, calls, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not failures, failures
    return responses


def post(url, body, **headers):
    """A request for ``run_together``: POST ``body`` as JSON with ``headers`` (``HTTP_IF_MATCH=...``)."""
    return lambda client: client.post(url, body, format="json", **headers)


def patch(url, body, **headers):
    return lambda client: client.patch(url, body, format="json", **headers)


def events(report, action):
    return ReportEvent.objects.filter(report=report, action=action).count()


# --------------------------------------------------------------------------- (a) two edits, one ETag


@pytest.mark.postgres
@race
def test_two_patches_with_the_same_etag_one_wins_one_gets_412(subproject, lead, colleague):
    for period in ROUND_PERIODS:
        # given: a draft both people have read at the same version
        report = report_in_status(node=subproject, status=ReportStatus.DRAFT, period=period, author=lead)
        url = f"{REPORTS}{report.pk}/"
        texts = [f"{period} 由 {user.username} 填寫" for user in (lead, colleague)]

        # when: both send their edit at the same moment
        responses = run_together(
            (lead, patch(url, {"achievements": texts[0]}, HTTP_IF_MATCH=report.etag)),
            (colleague, patch(url, {"achievements": texts[1]}, HTTP_IF_MATCH=report.etag)),
        )

        # then: exactly one wins; the other is told its copy is stale
        codes = sorted(response.status_code for response in responses)
        assert codes == [200, 412], (period, [r.content for r in responses])
        winner = next(index for index, response in enumerate(responses) if response.status_code == 200)
        loser = responses[1 - winner]
        assert loser.json()["code"] == "precondition_failed"
        stored = QuarterlyReport.objects.get(pk=report.pk)
        assert stored.achievements == texts[winner]
        assert stored.version == report.version + 1
        assert responses[winner]["ETag"] == stored.etag
        assert events(report, ReportAction.UPDATE) == 1
        assert ReportEvent.objects.get(report=report, action=ReportAction.UPDATE).actor == (lead, colleague)[winner]


# --------------------------------------------------------------------------- (b) two submits


@pytest.mark.postgres
@race
def test_two_submits_with_the_same_etag_submit_once(subproject, lead, colleague):
    for period in ROUND_PERIODS:
        report = report_in_status(node=subproject, status=ReportStatus.DRAFT, period=period, author=lead)
        submit = post(f"{REPORTS}{report.pk}/submit/", {}, HTTP_IF_MATCH=report.etag)

        responses = run_together((lead, submit), (colleague, submit))

        codes = sorted(response.status_code for response in responses)
        # 412 when the loser's conditional update finds the version moved; 409 when it read the report after
        # the winner committed and saw it submitted already.
        assert codes in ([200, 409], [200, 412]), (period, [r.content for r in responses])
        stored = QuarterlyReport.objects.get(pk=report.pk)
        assert stored.status == ReportStatus.SUBMITTED
        assert stored.version == report.version + 1
        assert stored.first_submitted_at is not None
        assert events(report, ReportAction.SUBMIT) == 1


@pytest.mark.postgres
@race
def test_accept_and_return_racing_on_one_submitted_report_only_one_happens(subproject, lead, secretary):
    colleague = UserFactory(username="secretariat-two", role=Role.SECRETARIAT)
    for period in ROUND_PERIODS:
        report = report_in_status(node=subproject, status=ReportStatus.SUBMITTED, period=period, author=lead)

        responses = run_together(
            (secretary, post(f"{REPORTS}{report.pk}/accept/", {}, HTTP_IF_MATCH=report.etag)),
            (colleague, post(f"{REPORTS}{report.pk}/return/", {"reason": "請補件"}, HTTP_IF_MATCH=report.etag)),
        )

        codes = [response.status_code for response in responses]
        assert sorted(codes) in ([200, 409], [200, 412]), (period, [r.content for r in responses])
        stored = QuarterlyReport.objects.get(pk=report.pk)
        accepted = codes[0] == 200
        assert stored.status == (ReportStatus.ACCEPTED if accepted else ReportStatus.RETURNED)
        assert stored.version == report.version + 1
        assert (events(report, ReportAction.ACCEPT), events(report, ReportAction.RETURN)) == (
            (1, 0) if accepted else (0, 1)
        )
        if not accepted:
            assert stored.accepted_at is None and stored.accepted_by is None


@pytest.mark.postgres
@race
def test_two_creates_of_the_same_quarter_without_a_key_file_one_report(subproject, lead, colleague):
    for period in ROUND_PERIODS:
        body = {"project": subproject.pk, "period": str(period), "achievements": "同時建立"}

        responses = run_together((lead, post(REPORTS, body)), (colleague, post(REPORTS, body)))

        codes = sorted(response.status_code for response in responses)
        assert codes == [201, 400], (period, [r.content for r in responses])
        loser = next(response for response in responses if response.status_code == 400)
        assert list(loser.json()["errors"]) == ["period"]
        report = QuarterlyReport.objects.get(node=subproject, year=period.year, quarter=period.quarter)
        assert events(report, ReportAction.CREATE) == 1


# --------------------------------------------------------------------------- (c) one Idempotency-Key, two requests


@pytest.mark.postgres
@race
def test_two_creates_with_the_same_idempotency_key_file_one_report(subproject, lead):
    for number, period in enumerate(ROUND_PERIODS):
        key = f"create-race-{number}"
        create = post(REPORTS, {"project": subproject.pk, "period": str(period)}, HTTP_IDEMPOTENCY_KEY=key)

        # The same user retrying, e.g. a client that timed out and sent again.
        first, second = run_together((lead, create), (lead, create))

        responses = sorted([first, second], key=lambda r: (r.status_code, r.has_header("Idempotent-Replayed")))
        original = responses[0]
        assert original.status_code == 201 and not original.has_header("Idempotent-Replayed")
        other = responses[1]
        if other.status_code == 409:
            assert other.json()["code"] == "idempotency_key_in_flight"
        else:
            assert other.status_code == 201
            assert other["Idempotent-Replayed"] == "true"
            assert other.json() == original.json()
        assert QuarterlyReport.objects.filter(node=subproject, year=period.year, quarter=period.quarter).count() == 1
        assert IdempotencyRecord.objects.get(key=key).state == IdempotencyState.DONE


def _hold_the_first_request(subproject, lead, key):
    """Start a create under ``key``, held inside the service with its key claimed, on a thread named "first".

    Returns the answers by thread name, the event that lets the first go on, a starter of more requests, the
    first's thread and the patch to stop.
    """
    body = {"project": subproject.pk, "period": "2024Q1"}
    inside, release = threading.Event(), threading.Event()
    real_create = services.report_create

    def slow_create(**kwargs):
        if threading.current_thread().name == "first":
            inside.set()
            assert release.wait(THREAD_TIMEOUT), "never released"
        return real_create(**kwargs)

    token = token_issue(user=lead)
    results = {}

    def request(name):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            results[name] = client.post(REPORTS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        finally:
            connection.close()

    def start(name):
        thread = threading.Thread(target=request, args=(name,), name=name, daemon=True)
        thread.start()
        return thread

    patch = mock.patch.object(services, "report_create", slow_create)
    patch.start()
    first = start("first")
    assert inside.wait(THREAD_TIMEOUT)
    return results, release, start, first, patch


@pytest.mark.postgres
@race
def test_a_retry_while_the_first_request_is_still_running_waits_and_gets_its_answer(subproject, lead):
    # given: the first request is held inside the service, its key claimed in its open transaction
    results, release, start, first, patch = _hold_the_first_request(subproject, lead, "slow-key")
    try:
        # when: the retry arrives while the first is in flight
        retry = start("retry")
        retry.join(1.0)
        waiting = retry.is_alive()
        reports_while_in_flight = QuarterlyReport.objects.count()
        release.set()
        first.join(THREAD_TIMEOUT)
        retry.join(THREAD_TIMEOUT)
    finally:
        release.set()
        patch.stop()

    # then: the retry waited for the first, and was answered with its response, not run again
    assert waiting and reports_while_in_flight == 0
    assert results["first"].status_code == 201
    assert results["retry"].status_code == 201
    assert results["retry"]["Idempotent-Replayed"] == "true"
    assert results["retry"].json() == results["first"].json()
    assert QuarterlyReport.objects.count() == 1


@pytest.mark.postgres
@race
def test_a_retry_that_waits_longer_than_idempotency_wait_gets_409_and_writes_nothing(subproject, lead, settings):
    settings.IDEMPOTENCY_WAIT = 1
    results, release, start, first, patch = _hold_the_first_request(subproject, lead, "slow-key")
    try:
        retry = start("retry")
        retry.join(THREAD_TIMEOUT)
        reports_while_in_flight = QuarterlyReport.objects.count()
        release.set()
        first.join(THREAD_TIMEOUT)
    finally:
        release.set()
        patch.stop()

    assert results["retry"].status_code == 409
    assert results["retry"].json()["code"] == "idempotency_key_in_flight"
    assert reports_while_in_flight == 0
    assert results["first"].status_code == 201
    assert QuarterlyReport.objects.count() == 1


@pytest.mark.postgres
@race
def test_a_request_cut_off_mid_way_leaves_its_key_free_for_the_retry(subproject, lead):
    # given: the first request's database session ends (its host lost) while it holds the key
    results, release, start, first, patch = _hold_the_first_request(subproject, lead, "cut-key")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND datname = current_database()"
                " AND state = 'idle in transaction'"
            )
            assert cursor.fetchone() == (1,)
        release.set()
        first.join(THREAD_TIMEOUT)
        # when: the retry comes
        retry = start("retry")
        retry.join(THREAD_TIMEOUT)
    finally:
        release.set()
        patch.stop()

    # then: the first wrote nothing and the retry ran: one report, not a 409
    assert results["first"].status_code == 503
    assert results["retry"].status_code == 201 and not results["retry"].has_header("Idempotent-Replayed")
    assert QuarterlyReport.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="cut-key").state == IdempotencyState.DONE


# --------------------------------------------------------------------------- (d) Idempotency-Key, one request at a time
# These run on SQLite as well: nothing here depends on concurrent transactions.


@pytest.fixture
def lead_api(lead):
    return client_for(lead)


def create_body(subproject, period="2024Q1", **content):
    return {"project": subproject.pk, "period": period, **content}


def test_the_same_key_and_body_replays_the_first_response(subproject, lead_api):
    body = create_body(subproject, achievements="第一次")

    first = lead_api.post(REPORTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = lead_api.post(REPORTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == 201 and not first.has_header("Idempotent-Replayed")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert again["Location"] == first["Location"] == f"{REPORTS}{first.json()['id']}/"
    assert QuarterlyReport.objects.count() == 1
    assert ReportEvent.objects.filter(action=ReportAction.CREATE).count() == 1


def test_the_same_key_with_another_body_is_422(subproject, lead_api):
    assert lead_api.post(REPORTS, create_body(subproject), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201

    response = lead_api.post(REPORTS, create_body(subproject, "2024Q2"), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert QuarterlyReport.objects.count() == 1


def test_the_same_key_on_another_path_is_422(subproject, lead_api):
    created = lead_api.post(REPORTS, create_body(subproject), format="json", HTTP_IDEMPOTENCY_KEY="k")
    report = QuarterlyReport.objects.get(pk=created.json()["id"])

    response = lead_api.post(
        f"{REPORTS}{report.pk}/submit/", {}, format="json", HTTP_IF_MATCH=report.etag, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert QuarterlyReport.objects.get(pk=report.pk).status == ReportStatus.DRAFT


def test_a_key_is_per_user_another_users_same_key_works_normally(subproject, lead_api, colleague):
    first = lead_api.post(REPORTS, create_body(subproject), format="json", HTTP_IDEMPOTENCY_KEY="shared")

    # the same key and the same body from another user is their own request: it runs (and here meets the
    # quarter already filed), it is not a replay of the first user's answer
    same = client_for(colleague).post(REPORTS, create_body(subproject), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = client_for(colleague).post(
        REPORTS, create_body(subproject, "2024Q2"), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )

    assert first.status_code == 201
    assert same.status_code == 400 and not same.has_header("Idempotent-Replayed")
    assert list(same.json()["errors"]) == ["period"]
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")
    assert other.json()["id"] != first.json()["id"]
    assert IdempotencyRecord.objects.filter(key="shared").count() == 2


def test_a_request_that_failed_releases_its_key_for_the_corrected_retry(subproject, lead_api):
    # given: a first attempt refused with 400 (progress above 100%)
    bad = lead_api.post(
        REPORTS, create_body(subproject, actual_progress="140"), format="json", HTTP_IDEMPOTENCY_KEY="fix-me"
    )
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["actual_progress"]
    assert not IdempotencyRecord.objects.filter(key="fix-me").exists()

    # when: the corrected body is sent with the same key
    fixed = lead_api.post(
        REPORTS, create_body(subproject, actual_progress="40"), format="json", HTTP_IDEMPOTENCY_KEY="fix-me"
    )

    # then: it runs, and is what the key now replays
    assert fixed.status_code == 201 and not fixed.has_header("Idempotent-Replayed")
    assert IdempotencyRecord.objects.get(key="fix-me").response_status == 201
    replay = lead_api.post(
        REPORTS, create_body(subproject, actual_progress="40"), format="json", HTTP_IDEMPOTENCY_KEY="fix-me"
    )
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == fixed.json()["id"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(ReportStatus.SUBMITTED, 409), ("stale", 412)],
    ids=["409-wrong-status", "412-stale-etag"],
)
def test_a_refused_transition_is_not_stored_under_its_key(subproject, lead, lead_api, status, expected):
    """Every exception releases the key (not only server errors, as the module docstring says): a stale or
    not-allowed submit can be retried with the same key once the cause is gone."""
    report = report_in_status(
        node=subproject, status=ReportStatus.SUBMITTED if status == ReportStatus.SUBMITTED else ReportStatus.DRAFT
    )
    if_match = report.etag if status == ReportStatus.SUBMITTED else f'"{report.pk}-{report.version + 5}"'

    refused = lead_api.post(
        f"{REPORTS}{report.pk}/submit/", {}, format="json", HTTP_IF_MATCH=if_match, HTTP_IDEMPOTENCY_KEY="t-1"
    )

    assert refused.status_code == expected
    assert not IdempotencyRecord.objects.filter(key="t-1").exists()


def test_a_stale_submit_can_be_retried_with_the_same_key_and_a_fresh_etag(subproject, lead_api):
    report = report_in_status(node=subproject, status=ReportStatus.DRAFT)
    url = f"{REPORTS}{report.pk}/submit/"

    stale = lead_api.post(url, {}, format="json", HTTP_IF_MATCH=f'"{report.pk}-99"', HTTP_IDEMPOTENCY_KEY="again")
    fresh = lead_api.post(url, {}, format="json", HTTP_IF_MATCH=report.etag, HTTP_IDEMPOTENCY_KEY="again")

    assert (stale.status_code, fresh.status_code) == (412, 200)
    assert not fresh.has_header("Idempotent-Replayed")
    assert events(report, ReportAction.SUBMIT) == 1


@pytest.mark.parametrize("action", ["submit", "return", "accept"])
def test_a_transition_with_a_key_is_replayed_not_repeated(subproject, lead_api, secretary, action):
    # given: a report ready for the action, and the actor who may take it
    report = report_in_status(
        node=subproject, status=ReportStatus.DRAFT if action == "submit" else ReportStatus.SUBMITTED
    )
    client = lead_api if action == "submit" else client_for(secretary)
    body = {"reason": "請補充說明"} if action == "return" else {}
    url = f"{REPORTS}{report.pk}/{action}/"

    # when: the same request is sent twice with one key (the second with the ETag it originally had)
    first = client.post(url, body, format="json", HTTP_IF_MATCH=report.etag, HTTP_IDEMPOTENCY_KEY=f"{action}-1")
    second = client.post(url, body, format="json", HTTP_IF_MATCH=report.etag, HTTP_IDEMPOTENCY_KEY=f"{action}-1")

    # then: one transition, one event; the retry gets the first answer, not a 412 or a 409
    assert first.status_code == 200 and not first.has_header("Idempotent-Replayed")
    assert second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second["ETag"] == first["ETag"]
    stored = QuarterlyReport.objects.get(pk=report.pk)
    assert stored.version == report.version + 1
    action_name = {"submit": ReportAction.SUBMIT, "return": ReportAction.RETURN, "accept": ReportAction.ACCEPT}
    assert events(report, action_name[action]) == 1
    # without the key the same retry is refused: the report has moved on
    third = client.post(url, body, format="json", HTTP_IF_MATCH=report.etag)
    assert third.status_code in (409, 412)


def test_a_replay_does_not_look_at_if_match(subproject, lead_api):
    """The fingerprint is method, path and body: a retry carrying another If-Match still gets the replay."""
    report = report_in_status(node=subproject, status=ReportStatus.DRAFT)
    url = f"{REPORTS}{report.pk}/submit/"
    first = lead_api.post(url, {}, format="json", HTTP_IF_MATCH=report.etag, HTTP_IDEMPOTENCY_KEY="s")

    second = lead_api.post(url, {}, format="json", HTTP_IF_MATCH='"1-999"', HTTP_IDEMPOTENCY_KEY="s")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "ключ", "k" * 256, "tab\there"], ids=["empty", "non-ascii", "256", "tab"])
def test_a_malformed_key_is_400(subproject, lead_api, key):
    response = lead_api.post(REPORTS, create_body(subproject), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not QuarterlyReport.objects.exists()


def test_a_key_of_255_visible_characters_is_fine(subproject, lead_api):
    response = lead_api.post(REPORTS, create_body(subproject), format="json", HTTP_IDEMPOTENCY_KEY="k" * 255)

    assert response.status_code == 201


def _fingerprint(method, path, body):
    return hashlib.sha256(
        f"{method} {path}\n{json.dumps(body, sort_keys=True, ensure_ascii=False)}".encode()
    ).hexdigest()


def test_a_claim_committed_in_flight_by_an_earlier_version_is_taken_over_after_a_minute(subproject, lead, lead_api):
    # given: a claim left committed in flight (hosts running an earlier version commit it before the work)
    body = create_body(subproject)
    record = IdempotencyRecord.objects.create(user=lead, key="orphan", request_hash=_fingerprint("POST", REPORTS, body))

    # a retry within the minute is told to wait: that host may still be working on it
    waited = lead_api.post(REPORTS, body, format="json", HTTP_IDEMPOTENCY_KEY="orphan")
    assert (waited.status_code, waited.json()["code"]) == (409, "idempotency_key_in_flight")
    assert QuarterlyReport.objects.count() == 0

    # when: the claim is older than a minute
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - datetime.timedelta(seconds=61))
    response = lead_api.post(REPORTS, body, format="json", HTTP_IDEMPOTENCY_KEY="orphan")

    # then: the retry runs and its answer is stored
    assert response.status_code == 201 and not response.has_header("Idempotent-Replayed")
    stored = IdempotencyRecord.objects.get(user=lead, key="orphan")
    assert stored.pk != record.pk
    assert (stored.state, stored.response_status) == (IdempotencyState.DONE, 201)
    assert stored.response_body["id"] == response.json()["id"]
