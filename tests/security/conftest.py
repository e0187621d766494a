import copy

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import token_issue
from tests.accounts.factories import reader_user

# The lead of the sub-unit 數位發展部數位產業署 of agency A, as the report permission matrix makes it.
from tests.reviews.test_report_permissions import CLIENTS as REPORT_MATRIX_CLIENTS
from tests.reviews.test_report_permissions import SCOPE as REPORT_MATRIX_SCOPE
from tests.reviews.test_report_permissions import unit_lead_client  # noqa: F401
from tests.support.module_data import data_for_the_module

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


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for a test module (its evidence files in a folder of the module's own); every test
    meets it as ``build_world`` made it (tests/support/module_data.py)."""
    files = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path_factory.mktemp("world-media"))},
    }
    with override_settings(STORAGES={**settings.STORAGES, "default": files}), data_for_the_module(django_db_blocker):
        yield build_world()


@pytest.fixture
def world(module_world, db):
    """The module's world, as a test of its own may change it: the rows are rolled back after the test, and the
    Python objects are a copy."""
    return copy.deepcopy(module_world)


@pytest.fixture
def agency(world):
    return world.agencies["A"]


@pytest.fixture
def unit(world):
    """A sub-unit (署) of agency A, 數位發展部."""
    return world.agencies["U"]


@pytest.fixture
def other_agency(world):
    return world.agencies["B"]


@pytest.fixture
def client_for(request):
    """The API client of a role named in ``CLIENTS``."""
    return lambda role: request.getfixturevalue(CLIENTS[role])
