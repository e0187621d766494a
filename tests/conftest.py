import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import token_issue
from tests.accounts.factories import lead_user, reader_user, reviewer_user, secretariat_user
from tests.projects.factories import AgencyFactory
from tests.support.caches import representations_clear, throttle_counts_clear
from tests.support.module_data import TEST_PASSWORD_HASHERS
from tests.support.servers import WebhookReceiver

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_REPORT = REPO_ROOT.parent / "shared" / "seed" / "000_6983f7ee280d886a.txt"
IS_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_configure(config):
    if os.environ.get("GSTP_REQUIRE_POSTGRES") == "1" and not IS_POSTGRES:
        raise pytest.UsageError(
            "GSTP_REQUIRE_POSTGRES=1 but the tests would run on "
            f"{settings.DATABASES['default']['ENGINE']}: set DATABASE_URL to a PostgreSQL server."
        )


def pytest_report_header(config):
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [f"database: {engine}", f"celery broker: {settings.CELERY_BROKER_URL.split('@')[-1]}"]


def pytest_collection_modifyitems(config, items):
    redis_url = os.environ.get("REDIS_URL")
    for item in items:
        if item.get_closest_marker("postgres") and not IS_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if item.get_closest_marker("redis") and not redis_url:
            item.add_marker(pytest.mark.skip(reason="needs Redis (set REDIS_URL)"))


@pytest.fixture(scope="session", autouse=True)
def media_root(tmp_path_factory):
    """Stored files (evidence files, the demo's among them) go to a folder of this run, not to var/: a test's
    database is rolled back, its files would stay. And passwords are hashed the fast way from the start, for
    the demo data a module loads before its first test too."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"), PASSWORD_HASHERS=TEST_PASSWORD_HASHERS):
        yield


@pytest.fixture(autouse=True)
def default_language():
    """A request's language outlives it in the thread; every test starts in the default one."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def request_counts_cleared():
    """Every test starts with no request counted against any caller's limits (gstp/throttles.py)."""
    throttle_counts_clear()


@pytest.fixture(autouse=True)
def representations_cleared():
    """Every test starts with no representation cached (gstp/representations.py)."""
    representations_clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS


@pytest.fixture
def seed_report_path():
    if not SEED_REPORT.exists():
        pytest.skip(f"the seed report is not at {SEED_REPORT}")
    return SEED_REPORT


@pytest.fixture
def agency(db):
    return AgencyFactory(name="數位發展部", short_name="數位部")


@pytest.fixture
def other_agency(db):
    return AgencyFactory(name="經濟部")


def _client_for(user):
    client = APIClient()
    key = token_issue(user=user)
    # As if used a moment ago, so query counts do not include the first use's last_used_at write.
    ApiKey.objects.filter(user=user).update(last_used_at=timezone.now())
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.user = user
    return client


@pytest.fixture
def anonymous_client():
    return APIClient()


@pytest.fixture
def secretariat_client(db):
    return _client_for(secretariat_user("secretariat"))


@pytest.fixture
def lead_client(agency):
    return _client_for(lead_user(agency, "lead"))


@pytest.fixture
def other_lead_client(other_agency):
    return _client_for(lead_user(other_agency, "other-lead"))


@pytest.fixture
def reviewer_client(agency):
    """The ministry reviewer of 數位發展部 (agency A)."""
    return _client_for(reviewer_user(agency, "reviewer"))


@pytest.fixture
def other_reviewer_client(other_agency):
    """The ministry reviewer of 經濟部 (agency B)."""
    return _client_for(reviewer_user(other_agency, "other-reviewer"))


@pytest.fixture
def reader_client(db):
    return _client_for(reader_user("reader"))


@pytest.fixture(params=["secretariat", "lead", "reader"])
def role_client(request):
    """Each signed-in role in turn."""
    return request.getfixturevalue(f"{request.param}_client")


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go under a var/ of the test's own, as they go under var/media on a machine."""
    root = tmp_path / "var" / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def connection_is_postgres():
    return connection.vendor == "postgresql"


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture
def no_proxy(monkeypatch):
    """Webhooks go to 127.0.0.1 directly, from this process and from workers that inherit its environment."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver(request):
    """A local HTTP server that records the webhooks it receives (tests.support.servers.WebhookReceiver)."""
    server = WebhookReceiver()
    request.addfinalizer(server.close)
    return server
