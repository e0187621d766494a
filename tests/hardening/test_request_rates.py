"""Each caller's requests are limited (gstp/throttles.py): reads, writes and exports each at their own rate, per
API key, per signed-in user and, where anybody may call, per address; past the rate a 429 in the API's error
shape, in the client's language, with Retry-After; the next window answers again.

The rates here are set small by each test. The clock the limits read is a fixed one the tests move, so that
Retry-After is known and a window passes without waiting."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.services import token_issue
from gstp.throttles import CallerRateThrottle
from tests.accounts.factories import lead_user, reader_user, secretariat_user
from tests.projects.factories import AgencyFactory
from tests.support.processes import free_port
from tests.test_settings import run_fresh

pytestmark = pytest.mark.django_db

# A moment 20 seconds into a minute, and into an hour.
START = 1_800_000_000.0 + 20
assert START % 60 == 20 and START % 3600 == 20


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(START)
    monkeypatch.setattr(CallerRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def rates(settings):
    """Set the rates of the scopes named; the others count nothing."""

    def set_rates(**rates):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    return set_rates


def key_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# (scope, method, path): a request of each kind that any signed-in caller may send again and again.
REQUESTS = {
    "read": ("get", "/api/v1/agencies/"),
    "write": ("delete", "/api/v1/auth/session/"),  # signing out: 204 whether or not a session exists
    "export": ("get", "/api/v1/exports/projects/?format=jsonl"),
}
MESSAGES = {
    ("read", "en"): "Too many reads: the limit is 3 per minute. Try again in 40 seconds.",
    ("read", "zh-hant"): "讀取次數過多：上限為每分鐘 3 次。請於 40 秒後再試。",
    ("write", "en"): "Too many writes: the limit is 3 per minute. Try again in 40 seconds.",
    ("write", "zh-hant"): "寫入次數過多：上限為每分鐘 3 次。請於 40 秒後再試。",
    ("export", "en"): "Too many exports: the limit is 3 per hour. Try again in 3580 seconds.",
    ("export", "zh-hant"): "匯出次數過多：上限為每小時 3 次。請於 3580 秒後再試。",
}


def send(client, scope, **headers):
    method, path = REQUESTS[scope]
    return getattr(client, method)(path, **headers)


@pytest.mark.parametrize("language", ["en", "zh-hant"])
@pytest.mark.parametrize("scope", ["read", "write", "export"])
def test_each_kind_of_request_is_refused_past_its_rate_with_429_and_retry_after(rates, clock, scope, language):
    # given a caller whose limit for this kind of request is 3
    rates(**{scope: "3/minute" if scope != "export" else "3/hour"})
    client = key_client(lead_user(AgencyFactory()))

    # when it sends 4
    answers = [send(client, scope, HTTP_ACCEPT_LANGUAGE=language) for _ in range(4)]

    # then the fourth is refused, saying which limit and when to come back
    assert [answer.status_code for answer in answers[:3]] == [200 if scope != "write" else 204] * 3
    refused = answers[3]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert json.loads(refused.content) == {"detail": MESSAGES[scope, language], "code": "throttled"}
    assert refused["Retry-After"] == ("40" if scope != "export" else "3580")


def test_the_kinds_are_counted_apart(rates, clock):
    rates(read="2/minute", write="2/minute", export="2/hour")
    client = key_client(lead_user(AgencyFactory()))

    reads = [send(client, "read").status_code for _ in range(3)]
    writes = [send(client, "write").status_code for _ in range(3)]
    exports = [send(client, "export").status_code for _ in range(3)]

    assert (reads, writes, exports) == ([200, 200, 429], [204, 204, 429], [200, 200, 429])


def test_a_window_passed_answers_again(rates, clock):
    rates(read="2/minute")
    client = key_client(lead_user(AgencyFactory()))
    assert [send(client, "read").status_code for _ in range(3)] == [200, 200, 429]

    # a second before the window ends: still refused, with a second to wait
    clock.now = START + 39
    refused = send(client, "read")
    assert (refused.status_code, refused["Retry-After"]) == (429, "1")

    # once the window has ended, the count starts again
    clock.now = START + 40
    assert [send(client, "read").status_code for _ in range(3)] == [200, 200, 429]


def test_a_refused_request_costs_one_query_and_runs_nothing(rates, clock, django_assert_num_queries):
    rates(read="1/minute")
    client = key_client(lead_user(AgencyFactory()))
    assert send(client, "read").status_code == 200

    with django_assert_num_queries(1):  # the key's lookup; no count in the database
        assert send(client, "read").status_code == 429


def test_each_api_key_has_its_own_count_even_for_one_user(rates, clock):
    # given two programs with a key each, and one user's second key
    rates(read="2/minute")
    lead = lead_user(AgencyFactory())
    first, second, other = key_client(lead), key_client(lead), key_client(reader_user())

    # when the first key uses up its limit
    assert [send(first, "read").status_code for _ in range(3)] == [200, 200, 429]

    # then each other key still has all of its own
    assert [send(second, "read").status_code for _ in range(3)] == [200, 200, 429]
    assert [send(other, "read").status_code for _ in range(3)] == [200, 200, 429]


def test_a_user_signed_in_has_one_count_across_sessions_apart_from_their_keys(rates, clock):
    rates(read="2/minute")
    lead = lead_user(AgencyFactory())
    laptop, phone = session_client(lead), session_client(lead)

    # the user's two sessions share one count...
    assert [send(laptop, "read").status_code, send(phone, "read").status_code] == [200, 200]
    assert send(laptop, "read").status_code == 429
    assert send(phone, "read").status_code == 429
    # ...while another user, and the user's own API key, have theirs
    assert send(session_client(reader_user()), "read").status_code == 200
    assert send(key_client(lead), "read").status_code == 200


def test_callers_not_signed_in_are_counted_by_address(rates, clock):
    rates(anon="2/minute")
    nobody = APIClient()

    here = [nobody.get("/api/v1/", REMOTE_ADDR="203.0.113.5").status_code for _ in range(3)]
    there = nobody.get("/api/v1/", REMOTE_ADDR="203.0.113.6")
    refused = nobody.get("/api/v1/", REMOTE_ADDR="203.0.113.5", HTTP_ACCEPT_LANGUAGE="en")

    assert here == [200, 200, 429]
    assert there.status_code == 200
    assert refused.json() == {
        "detail": "Too many requests without signing in: the limit is 2 per minute. Try again in 40 seconds.",
        "code": "throttled",
    }
    # credentials that are not valid are refused (401) before anything is counted
    bad_key = APIClient()
    bad_key.credentials(HTTP_AUTHORIZATION="Token not-a-key")
    assert bad_key.get("/api/v1/agencies/", REMOTE_ADDR="203.0.113.6").status_code == 401


def test_behind_trusted_proxies_the_address_is_the_clients(rates, clock, settings):
    rates(anon="1/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    nobody = APIClient()

    first = nobody.get("/api/v1/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    same = nobody.get("/api/v1/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5")
    other = nobody.get("/api/v1/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.6")

    assert [first.status_code, same.status_code, other.status_code] == [200, 429, 200]


def test_a_scope_without_a_rate_is_not_limited(rates, clock):
    rates(write="1/minute")  # no read rate: reads are not counted
    client = key_client(lead_user(AgencyFactory()))

    assert {send(client, "read").status_code for _ in range(20)} == {200}


def test_the_annual_report_counts_as_an_export(rates, clock):
    rates(export="1/hour")
    client = key_client(secretariat_user())
    assert send(client, "export").status_code == 200

    refused = client.get("/reports/annual/2024.docx")

    assert refused.status_code == 429


def test_requests_go_through_when_the_counts_cannot_be_kept(rates, clock, settings, monkeypatch, caplog):
    # given the counts' Redis is away
    rates(read="1/minute")
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        },
    }
    monkeypatch.setattr(CallerRateThrottle, "_skip_cache_until", 0.0)
    client = key_client(lead_user(AgencyFactory()))

    # when the caller sends more than its limit
    answers = [send(client, "read").status_code for _ in range(3)]

    # then all are answered, and the failure is logged once (the next requests did not wait on Redis)
    assert answers == [200, 200, 200]
    warnings = [record for record in caplog.records if record.name == "gstp.throttles"]
    assert len(warnings) == 1 and "request limits not counted" in warnings[0].getMessage()


PRINT_RATES = """
import json
from gstp import settings
print(json.dumps({
    "rates": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
    "cache": settings.CACHES["throttle"],
    "proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
}))
"""
RATE_VARIABLES = {f"GSTP_THROTTLE_{scope}_RATE": "" for scope in ("READ", "WRITE", "EXPORT", "ANON")}


def rate_settings(tmp_path, **environment):
    done = run_fresh(tmp_path, "-c", PRINT_RATES, **{**RATE_VARIABLES, **environment})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_rates_and_their_cache_come_from_the_environment(tmp_path):
    # by default: production's rates, counted in this process (no Redis named)
    defaults = rate_settings(tmp_path)
    assert defaults["rates"] == {
        "read": "1200/minute",
        "write": "300/minute",
        "export": "120/hour",
        "anon": "60/minute",
    }
    assert defaults["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert defaults["proxies"] == 0

    # each rate set, or off; with Redis, counted there for every host
    changed = rate_settings(
        tmp_path,
        GSTP_THROTTLE_READ_RATE="5000/hour",
        GSTP_THROTTLE_EXPORT_RATE=" Off ",
        GSTP_TRUSTED_PROXIES="2",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert changed["rates"] == {"read": "5000/hour", "write": "300/minute", "export": None, "anon": "60/minute"}
    assert changed["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert changed["cache"]["LOCATION"] == "redis://cache.internal:6379/0"
    assert changed["proxies"] == 2


@pytest.mark.parametrize("value", ["10/fortnight", "-1/minute"])
def test_a_rate_that_is_not_one_refuses_to_start(tmp_path, value):
    done = run_fresh(tmp_path, "-c", PRINT_RATES, **{**RATE_VARIABLES, "GSTP_THROTTLE_WRITE_RATE": value})

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "GSTP_THROTTLE_WRITE_RATE" in done.stderr
