"""Settings come from the environment. Each case imports gstp.settings in a fresh
interpreter with a controlled environment, since settings are read once per process."""

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every variable gstp/settings.py reads, so the developer's shell cannot leak in.
SETTINGS_VARIABLES = [
    "DATABASE_URL",
    "DATABASE_CONN_MAX_AGE",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "STATIC_ROOT",
    "EMAIL_BACKEND",
    "DEFAULT_FROM_EMAIL",
    "LOG_LEVEL",
    "GSTP_VAR_DIR",
    "DJANGO_SETTINGS_MODULE",
]

GOOD_SECRET_KEY = "k9#Qv2!xLr7$Wm4@Tz8^Bn3&Hd6*Jf1(Sg5)Pc0_Ye-Ua=Oi+E"  # 50 characters, random-looking

PRINT_SETTINGS = textwrap.dedent(
    """
    import json, os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")
    import django
    django.setup()
    from django.conf import settings
    db = settings.DATABASES["default"]
    print(json.dumps({
        "ENGINE": db["ENGINE"],
        "NAME": str(db["NAME"]),
        "USER": db.get("USER"),
        "HOST": db.get("HOST"),
        "PORT": db.get("PORT"),
        "OPTIONS": db.get("OPTIONS", {}),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_BROKER_TRANSPORT_OPTIONS": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "DEBUG": settings.DEBUG,
        "SECRET_KEY": settings.SECRET_KEY,
        "TIME_ZONE": settings.TIME_ZONE,
        "CELERY_TIMEZONE": settings.CELERY_TIMEZONE,
        "USE_TZ": settings.USE_TZ,
        "LANGUAGE_CODE": settings.LANGUAGE_CODE,
        "LANGUAGES": [code for code, _ in settings.LANGUAGES],
        "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
        "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
        "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
        "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
        "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
        "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    }))
    """
)


def run_settings(tmp_path, **environment):
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env["GSTP_VAR_DIR"] = str(tmp_path / "var")
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def settings_from(tmp_path, **environment):
    completed = run_settings(tmp_path, **environment)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_no_environment_runs_on_sqlite_and_a_file_broker(tmp_path):
    # when
    values = settings_from(tmp_path)

    # then
    var = tmp_path / "var"
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(var / "gstp.sqlite3")
    assert values["OPTIONS"] == {"timeout": 20}
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"] == str(var / "celery-broker" / "queue")
    assert (var / "celery-broker" / "queue").is_dir()
    assert (var / "celery-broker" / "processed").is_dir()
    assert values["DEBUG"] is True
    assert values["SECRET_KEY"].startswith("django-insecure")
    assert values["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_time_zone_and_languages(tmp_path):
    values = settings_from(tmp_path)

    assert values["TIME_ZONE"] == "Asia/Taipei"
    assert values["CELERY_TIMEZONE"] == "Asia/Taipei"
    assert values["USE_TZ"] is True
    assert values["LANGUAGE_CODE"] == "zh-hant"
    assert values["LANGUAGES"] == ["zh-hant", "en"]


@pytest.mark.parametrize("debug", ["0", "false", "False", "no", "off"])
def test_debug_off_without_secret_key_refuses_to_start(tmp_path, debug):
    completed = run_settings(tmp_path, DEBUG=debug)

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "SECRET_KEY" in completed.stderr


@pytest.mark.parametrize(
    "key",
    [
        "django-insecure-gstp-development-only",
        "django-insecure-" + "x" * 50,  # long, but the marker of a generated development key
        "short-but-not-insecure",  # fewer than 32 characters
    ],
)
def test_debug_off_with_a_weak_secret_key_refuses_to_start(tmp_path, key):
    completed = run_settings(tmp_path, DEBUG="0", SECRET_KEY=key)

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "SECRET_KEY" in completed.stderr


def test_debug_off_with_a_strong_key_starts_with_secure_cookies_and_hsts(tmp_path):
    # given
    assert len(GOOD_SECRET_KEY) == 50

    # when
    values = settings_from(tmp_path, DEBUG="0", SECRET_KEY=GOOD_SECRET_KEY)

    # then
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == GOOD_SECRET_KEY
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] > 0
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == []  # nothing is served until hosts are named


def test_debug_off_hsts_and_redirect_can_be_tuned(tmp_path):
    values = settings_from(
        tmp_path, DEBUG="0", SECRET_KEY=GOOD_SECRET_KEY, SECURE_HSTS_SECONDS="3600", SECURE_SSL_REDIRECT="0"
    )

    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SECURE_SSL_REDIRECT"] is False


def test_debug_on_accepts_any_secret_key(tmp_path):
    values = settings_from(tmp_path, DEBUG="1", SECRET_KEY="short")

    assert values["DEBUG"] is True
    assert values["SECRET_KEY"] == "short"


@pytest.mark.parametrize("debug", ["", "1", "true", "YES", "on"])
def test_debug_values_that_mean_on(tmp_path, debug):
    assert settings_from(tmp_path, DEBUG=debug)["DEBUG"] is True


def test_database_url_selects_postgresql(tmp_path):
    values = settings_from(tmp_path, DATABASE_URL="postgres://u:p@h:5432/n")

    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert values["NAME"] == "n"
    assert (values["USER"], values["HOST"], values["PORT"]) == ("u", "h", 5432)
    assert not (tmp_path / "var" / "gstp.sqlite3").exists()


def test_redis_url_is_the_broker(tmp_path):
    values = settings_from(tmp_path, REDIS_URL="redis://cache.internal:6379/0")

    assert values["CELERY_BROKER_URL"] == "redis://cache.internal:6379/0"
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 3600
    assert not (tmp_path / "var" / "celery-broker").exists()


def test_celery_broker_url_wins_over_redis_url(tmp_path):
    values = settings_from(
        tmp_path, REDIS_URL="redis://cache.internal:6379/0", CELERY_BROKER_URL="redis://broker.internal:6379/1"
    )

    assert values["CELERY_BROKER_URL"] == "redis://broker.internal:6379/1"


def test_allowed_hosts_from_a_comma_list(tmp_path):
    values = settings_from(tmp_path, ALLOWED_HOSTS=" gstp.example.gov.tw, api.example.gov.tw ,,")

    assert values["ALLOWED_HOSTS"] == ["gstp.example.gov.tw", "api.example.gov.tw"]


def test_no_missing_migrations(db):
    out = io.StringIO()

    # raises SystemExit(1) when a model change has no migration
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=io.StringIO())

    assert "No changes detected" in out.getvalue()
