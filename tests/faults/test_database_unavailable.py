"""A database session lost in the middle of a request: a clean 503 JSON answer with ``Retry-After``, and nothing
written by the request that got it.

The fault is real and precise: the test's own PostgreSQL session is ended from another session
(``pg_terminate_backend``, what a server shutdown does to every session), at the moment the test chooses. The
live server under a restarting cluster is ``test_database_restart.py``; these pin each path one at a time.
"""

import datetime
import json
import threading

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError, connection, connections
from django.test import RequestFactory

from accounts.models import Role
from gstp import unavailable
from gstp.unavailable import DatabaseUnavailableMiddleware, database_unavailable
from reviews import services
from reviews.models import IdempotencyRecord, QuarterlyReport, ReportEvent
from tests.accounts.factories import UserFactory
from tests.projects.factories import PlanFactory, make_tree
from tests.support.processes import free_port, wait_until

pytestmark = pytest.mark.postgres
# A test that cuts its session must commit what it needs: a rolled-back test transaction dies with the session.
cuts_its_session = pytest.mark.django_db(transaction=True)

REPORTS = "/api/v1/reports/"


def cut_this_session() -> None:
    """End this thread's database session from another session, and wait until it is gone."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    failures = []

    def terminate():
        try:
            with connection.cursor() as cursor:  # the other thread's own session
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

                def gone():
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                    return cursor.fetchone()[0] == 0

                wait_until(gone, timeout=10, interval=0.02, what=f"session {pid} to end")
        except BaseException as exc:  # re-raised in the caller's thread
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=terminate, name="session-cutter")
    thread.start()
    thread.join(30)
    if failures:
        raise failures[0]


@pytest.fixture(autouse=True)
def reconnect_after():
    """A cut session stays unusable in this thread until it is closed: close it, so teardown gets a new one."""
    yield
    connection.close()


def assert_service_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == str(unavailable.RETRY_AFTER_SECONDS)
    body = json.loads(response.content)
    assert set(body) == {"detail", "code"}
    assert body["code"] == "service_unavailable"
    assert body["detail"]


@cuts_its_session
def test_a_read_answers_503_when_its_database_session_is_lost(secretariat_client):
    cut_this_session()

    response = secretariat_client.get(REPORTS, HTTP_ACCEPT_LANGUAGE="zh-Hant")

    assert_service_unavailable(response)
    assert json.loads(response.content)["detail"] == "服務暫時無法使用，請於數秒後再試。"
    # and once the session is replaced (as the next request's connection check does), reads answer again
    connection.close()
    assert secretariat_client.get(REPORTS).status_code == 200


@pytest.fixture
def subproject(agency):
    _, _, _, (node,) = make_tree(PlanFactory(), lead_agency=agency)
    node.start_date, node.end_date = datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
    node.save()
    return node


@cuts_its_session
def test_a_report_whose_session_is_lost_before_it_is_answered_is_not_written(lead_client, subproject, monkeypatch):
    # given a database session that ends right after the report's own transaction, before the answer is built
    report_create = services.report_create

    def then_the_session_is_lost(**kwargs):
        report = report_create(**kwargs)
        cut_this_session()
        return report

    monkeypatch.setattr(services, "report_create", then_the_session_is_lost)
    body = {
        "project": subproject.pk,
        "period": "2024Q2",
        "planned_progress": "50",
        "actual_progress": "55",
        "budget_spent": "500000",
    }

    # when a lead files the report with an Idempotency-Key
    response = lead_client.post(REPORTS, body, format="json", HTTP_IDEMPOTENCY_KEY="report-2024Q2")

    # then the answer is a 503, and the report was not written: what was answered is what happened
    assert_service_unavailable(response)
    connection.close()
    assert QuarterlyReport.objects.count() == 0
    assert ReportEvent.objects.count() == 0
    assert IdempotencyRecord.objects.filter(state="done").count() == 0


@cuts_its_session
def test_a_page_outside_the_api_answers_503_when_its_database_session_is_lost(client):
    client.force_login(UserFactory(username="admin", role=Role.SECRETARIAT, is_staff=True, is_superuser=True))
    cut_this_session()

    response = client.get("/admin/")

    assert_service_unavailable(response)


def unreachable_database_error() -> OperationalError:
    """The error Django raises when its database refuses connections: a connection to a port nobody listens on."""
    backend = type(connections["default"])
    wrapper = backend({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": free_port()}, alias="unreachable")
    try:
        wrapper.ensure_connection()
    except OperationalError as exc:
        return exc
    finally:
        wrapper.close()
    raise AssertionError("a connection to a closed port succeeded")


@pytest.mark.django_db  # to try a connection of its own, to a port nobody listens on
def test_a_database_error_raised_by_a_middleware_answers_503():
    """A middleware that writes after the view (sessions are saved on the way out) fails with the database."""
    error = unreachable_database_error()

    def saves_the_session(request):
        raise error

    middleware = DatabaseUnavailableMiddleware(convert_exception_to_response(saves_the_session))

    assert_service_unavailable(middleware(RequestFactory().get("/admin/")))


def test_only_errors_of_an_unavailable_database_are_503():
    lost = OperationalError("server closed the connection unexpectedly")
    closed = InterfaceError("connection already closed")
    assert database_unavailable(lost)
    assert database_unavailable(closed)
    try:
        try:
            raise lost
        except OperationalError as exc:
            raise RuntimeError("while releasing the key") from exc
    except RuntimeError as exc:
        assert database_unavailable(exc)
    assert not database_unavailable(IntegrityError("duplicate key value violates unique constraint"))
    assert not database_unavailable(ProgrammingError('column "x" does not exist'))
    assert not database_unavailable(ValueError("bad input"))
