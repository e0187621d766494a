import pytest
from rest_framework.test import APIClient

from accounts.services import token_issue
from tests.accounts.factories import reader_user

# The sub-unit 數位發展部數位產業署 of agency A and its lead, as the report permission matrix makes them.
from tests.reviews.test_report_permissions import CLIENTS as REPORT_MATRIX_CLIENTS
from tests.reviews.test_report_permissions import SCOPE as REPORT_MATRIX_SCOPE
from tests.reviews.test_report_permissions import unit, unit_lead_client  # noqa: F401

from .world import build_world

# Every way in: nobody, the secretariat, leads of A (數位發展部), of its sub-unit U and of B (經濟部), a
# reader, and another system's API key (a reader account, as the open-data portal has).
CLIENTS = {**REPORT_MATRIX_CLIENTS, "service": "service_client"}
ROLES = tuple(CLIENTS)
# Whose private texts (reports not yet accepted, flag threads) each role may read.
IN_SCOPE = {**REPORT_MATRIX_SCOPE, "service": set()}


@pytest.fixture
def service_client(db):
    user = reader_user("portal")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user, name='開放資料平臺')}")
    client.user = user
    return client


@pytest.fixture
def world(agency, unit, other_agency, media):  # noqa: F811
    return build_world(agency=agency, unit=unit, other_agency=other_agency)


@pytest.fixture
def client_for(request):
    """The API client of a role named in ``CLIENTS``."""
    return lambda role: request.getfixturevalue(CLIENTS[role])
