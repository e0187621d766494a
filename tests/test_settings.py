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

from tests.support.processes import CELERY, CeleryWorker, ManagedProcess, wait_until

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
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "LOG_LEVEL",
    "GSTP_VAR_DIR",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_CONNECT_TIMEOUT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "CORS_ALLOWED_ORIGINS",
    "GSTP_API_DOCS_PUBLIC",
    "GSTP_LOG_FORMAT",
    "GSTP_LOGIN_FAILURE_LIMIT",
    "GSTP_LOGIN_COOLOFF_MINUTES",
    "GSTP_TRUSTED_PROXIES",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "FILE_UPLOAD_MAX_MEMORY_SIZE",
    "DATA_UPLOAD_MAX_NUMBER_FIELDS",
    "GSTP_EVIDENCE_MAX_FILE_BYTES",
    "GSTP_EVIDENCE_MAX_REPORT_BYTES",
    "GSTP_STORAGE",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_ADDRESSING_STYLE",
    "GSTP_BACKUP_DIR",
    "GSTP_PG_BIN",
]

GOOD_SECRET_KEY = "k9#Qv2!xLr7$Wm4@Tz8^Bn3&Hd6*Jf1(Sg5)Pc0_Ye-Ua=Oi+E"  # 50 characters, random-looking
# The least a production environment sets.
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": GOOD_SECRET_KEY, "ALLOWED_HOSTS": "gstp.example.gov.tw"}

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
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
        "SECURE_HSTS_PRELOAD": settings.SECURE_HSTS_PRELOAD,
        "SECURE_REDIRECT_EXEMPT": settings.SECURE_REDIRECT_EXEMPT,
        "CORS_ALLOWED_ORIGINS": settings.CORS_ALLOWED_ORIGINS,
        "GSTP_API_DOCS_PUBLIC": settings.GSTP_API_DOCS_PUBLIC,
        "GSTP_LOG_FORMAT": settings.GSTP_LOG_FORMAT,
        "LOG_STREAM": settings.LOGGING["handlers"]["console"]["stream"],
        "PASSWORD_HASHERS": settings.PASSWORD_HASHERS,
        "AXES_FAILURE_LIMIT": settings.AXES_FAILURE_LIMIT,
        "AXES_COOLOFF_SECONDS": settings.AXES_COOLOFF_TIME.total_seconds(),
        "GSTP_TRUSTED_PROXIES": settings.GSTP_TRUSTED_PROXIES,
        "DATA_UPLOAD_MAX_MEMORY_SIZE": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        "FILE_UPLOAD_MAX_MEMORY_SIZE": settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
        "DATA_UPLOAD_MAX_NUMBER_FIELDS": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        "EMAIL": [
            settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER,
            settings.EMAIL_HOST_PASSWORD, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL, settings.EMAIL_TIMEOUT,
            settings.DEFAULT_FROM_EMAIL,
        ],
    }))
    """
)


def fresh_environment(tmp_path, **environment) -> dict[str, str]:
    """This process's environment without any variable the settings read, its var directory under
    ``tmp_path``, and ``environment``."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env["GSTP_VAR_DIR"] = str(tmp_path / "var")
    env.update(environment)
    return env


def run_fresh(tmp_path, *argv: str, timeout: float = 60, **environment) -> subprocess.CompletedProcess:
    """``python *argv`` in a new interpreter at the repository's root, in ``fresh_environment``."""
    return subprocess.run(
        [sys.executable, *argv],
        env=fresh_environment(tmp_path, **environment),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_settings(tmp_path, **environment):
    return run_fresh(tmp_path, "-c", PRINT_SETTINGS, **environment)


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


PUBLISH_A_JOB = textwrap.dedent(
    """
    import django
    django.setup()
    from gstp.celery import app
    app.send_task("gstp.file_broker_probe")
    """
)


@pytest.mark.slow
def test_the_file_broker_keeps_all_its_folders_under_var(tmp_path, request):
    # given an empty working directory, as `make run` starts its processes from the repository's root
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = fresh_environment(tmp_path, PYTHONPATH=str(REPO_ROOT), DJANGO_SETTINGS_MODULE="gstp.settings")

    # when the app publishes a job and a worker starts, binds its queue and takes the job
    published = subprocess.run(
        [sys.executable, "-c", PUBLISH_A_JOB], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )
    assert published.returncode == 0, published.stderr
    worker = ManagedProcess(
        [str(CELERY), *CeleryWorker.ARGS, "-n", "file-broker@%h"],
        env=env,
        log_path=tmp_path / "worker.log",
        cwd=workdir,
    )
    request.addfinalizer(worker.stop)
    wait_until(lambda: "gstp.file_broker_probe" in worker.log(), timeout=60, what="the worker taking the job")
    worker.stop()

    # then the broker's folders, the exchange table among them, are all under var/celery-broker
    broker = tmp_path / "var" / "celery-broker"
    assert sorted(path.name for path in broker.iterdir()) == ["control", "processed", "queue"]
    assert (broker / "control" / "celery.exchange").is_file()
    assert list(workdir.iterdir()) == []


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
    values = settings_from(tmp_path, **PRODUCTION)

    # then
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == GOOD_SECRET_KEY
    assert values["ALLOWED_HOSTS"] == ["gstp.example.gov.tw"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == [r"^healthz/$", r"^readyz/$"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize("hosts", [None, "", " , ,"])
def test_debug_off_without_allowed_hosts_refuses_to_start(tmp_path, hosts):
    environment = {"DEBUG": "0", "SECRET_KEY": GOOD_SECRET_KEY}
    if hosts is not None:
        environment["ALLOWED_HOSTS"] = hosts

    completed = run_settings(tmp_path, **environment)

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "ALLOWED_HOSTS" in completed.stderr


def test_debug_off_hsts_and_redirect_can_be_tuned(tmp_path):
    values = settings_from(
        tmp_path,
        **PRODUCTION,
        SECURE_HSTS_SECONDS="3600",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_HSTS_PRELOAD="no",
    )

    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("X-Forwarded-Proto,https", ["HTTP_X_FORWARDED_PROTO", "https"]),
        ("HTTP_X_FORWARDED_SCHEME, https", ["HTTP_X_FORWARDED_SCHEME", "https"]),
        ("X-Forwarded-Ssl,on", ["HTTP_X_FORWARDED_SSL", "on"]),
        ("off", None),
    ],
)
def test_proxy_ssl_header_from_the_environment(tmp_path, value, expected):
    values = settings_from(tmp_path, **PRODUCTION, SECURE_PROXY_SSL_HEADER=value)

    assert values["SECURE_PROXY_SSL_HEADER"] == expected


@pytest.mark.parametrize("value", ["X-Forwarded-Proto", ",https", "X-Forwarded-Proto,"])
def test_a_malformed_proxy_ssl_header_refuses_to_start(tmp_path, value):
    completed = run_settings(tmp_path, **PRODUCTION, SECURE_PROXY_SSL_HEADER=value)

    assert completed.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in completed.stderr


def test_no_environment_defaults_for_the_hardened_settings(tmp_path):
    values = settings_from(tmp_path)

    assert values["CORS_ALLOWED_ORIGINS"] == []
    assert values["GSTP_API_DOCS_PUBLIC"] is True
    assert values["GSTP_LOG_FORMAT"] == "text"
    assert values["LOG_STREAM"] == "ext://sys.stderr"  # stdout stays for what commands print
    assert values["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in values["PASSWORD_HASHERS"][1:]
    assert values["AXES_FAILURE_LIMIT"] == 5
    assert values["AXES_COOLOFF_SECONDS"] == 15 * 60
    assert values["GSTP_TRUSTED_PROXIES"] == 0
    assert values["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 1024 * 1024
    assert values["FILE_UPLOAD_MAX_MEMORY_SIZE"] == 1024 * 1024
    assert values["DATA_UPLOAD_MAX_NUMBER_FIELDS"] == 1000


def test_production_defaults_for_the_hardened_settings(tmp_path):
    values = settings_from(tmp_path, **PRODUCTION)

    assert values["CORS_ALLOWED_ORIGINS"] == []
    assert values["GSTP_API_DOCS_PUBLIC"] is False
    assert values["GSTP_LOG_FORMAT"] == "json"
    assert values["LOG_STREAM"] == "ext://sys.stdout"


def test_hardened_settings_from_the_environment(tmp_path):
    values = settings_from(
        tmp_path,
        **PRODUCTION,
        CORS_ALLOWED_ORIGINS="https://dashboard.example.gov.tw, https://data.example.gov.tw",
        GSTP_API_DOCS_PUBLIC="1",
        GSTP_LOG_FORMAT="text",
        GSTP_LOGIN_FAILURE_LIMIT="10",
        GSTP_LOGIN_COOLOFF_MINUTES="60",
        GSTP_TRUSTED_PROXIES="2",
        DATA_UPLOAD_MAX_MEMORY_SIZE="2097152",
        FILE_UPLOAD_MAX_MEMORY_SIZE="65536",
        DATA_UPLOAD_MAX_NUMBER_FIELDS="200",
    )

    assert values["CORS_ALLOWED_ORIGINS"] == ["https://dashboard.example.gov.tw", "https://data.example.gov.tw"]
    assert values["GSTP_API_DOCS_PUBLIC"] is True
    assert values["GSTP_LOG_FORMAT"] == "text"
    assert values["AXES_FAILURE_LIMIT"] == 10
    assert values["AXES_COOLOFF_SECONDS"] == 3600
    assert values["GSTP_TRUSTED_PROXIES"] == 2
    assert values["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 2097152
    assert values["FILE_UPLOAD_MAX_MEMORY_SIZE"] == 65536
    assert values["DATA_UPLOAD_MAX_NUMBER_FIELDS"] == 200


def test_without_an_email_host_emails_are_printed(tmp_path):
    values = settings_from(tmp_path, **PRODUCTION)

    assert values["EMAIL"][0] == "django.core.mail.backends.console.EmailBackend"


def test_an_email_host_sends_through_smtp_with_its_account_and_tls(tmp_path):
    values = settings_from(
        tmp_path,
        **PRODUCTION,
        EMAIL_HOST="smtp.example.gov.tw",
        EMAIL_HOST_USER="gstp",
        EMAIL_HOST_PASSWORD="secret",
        EMAIL_USE_TLS="1",
        EMAIL_TIMEOUT="20",
        DEFAULT_FROM_EMAIL="GSTP <gstp@example.gov.tw>",
    )

    assert values["EMAIL"] == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.gov.tw",
        587,
        "gstp",
        "secret",
        True,
        False,
        20,
        "GSTP <gstp@example.gov.tw>",
    ]


@pytest.mark.parametrize(
    ("variables", "port"), [({}, 25), ({"EMAIL_USE_SSL": "1"}, 465), ({"EMAIL_PORT": "2525"}, 2525)]
)
def test_the_smtp_port_follows_the_tls_setting_unless_given(tmp_path, variables, port):
    values = settings_from(tmp_path, EMAIL_HOST="smtp.example.gov.tw", **variables)

    assert values["EMAIL"][2] == port


def test_tls_and_ssl_at_once_refuse_to_start(tmp_path):
    completed = run_settings(tmp_path, EMAIL_HOST="smtp.example.gov.tw", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr and "EMAIL_USE_SSL" in completed.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EMAIL_PORT", "smtp"),
        ("GSTP_LOG_FORMAT", "xml"),
        ("GSTP_LOGIN_FAILURE_LIMIT", "five"),
        ("DATA_UPLOAD_MAX_MEMORY_SIZE", "1MB"),
        ("GSTP_BROKER_VISIBILITY_TIMEOUT", "5m"),
        ("GSTP_BROKER_VISIBILITY_TIMEOUT", "0"),
    ],
)
def test_a_malformed_value_refuses_to_start_naming_the_variable(tmp_path, variable, value):
    completed = run_settings(tmp_path, **{variable: value})

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert variable in completed.stderr


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
    # a lost worker's job is redone by another within 5 minutes: this, plus kombu's ~100 s between looks
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 150
    assert not (tmp_path / "var" / "celery-broker").exists()


def test_the_visibility_timeout_is_read_from_the_environment(tmp_path):
    values = settings_from(tmp_path, REDIS_URL="redis://cache.internal:6379/0", GSTP_BROKER_VISIBILITY_TIMEOUT="240")

    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 240


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


PRINT_STORAGE = textwrap.dedent(
    """
    import json, os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")
    import django
    django.setup()
    from django.conf import settings
    from django.core.files.storage import storages
    storage = storages["default"]  # built as the application builds it; no connection is made
    print(json.dumps({
        "backend": f"{type(storage).__module__}.{type(storage).__name__}",
        "location": str(getattr(storage, "location", "")),
        "bucket_name": getattr(storage, "bucket_name", None),
        "endpoint_url": getattr(storage, "endpoint_url", None),
        "region_name": getattr(storage, "region_name", None),
        "access_key": getattr(storage, "access_key", None),
        "addressing_style": getattr(storage, "addressing_style", None),
        "default_acl": getattr(storage, "default_acl", "unset"),
        "file_overwrite": getattr(storage, "file_overwrite", None),
        "max_file": settings.GSTP_EVIDENCE_MAX_FILE_BYTES,
        "max_report": settings.GSTP_EVIDENCE_MAX_REPORT_BYTES,
    }))
    """
)


def storage_from(tmp_path, **environment) -> dict:
    completed = run_fresh(tmp_path, "-c", PRINT_STORAGE, **environment)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_evidence_files_are_kept_under_var_with_the_default_limits(tmp_path):
    values = storage_from(tmp_path)

    assert values["backend"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert values["location"] == str(tmp_path / "var" / "media")
    assert (values["max_file"], values["max_report"]) == (20 * 1024 * 1024, 100 * 1024 * 1024)


def test_an_s3_compatible_store_is_chosen_by_the_environment(tmp_path):
    values = storage_from(
        tmp_path,
        GSTP_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="gstp-evidence",
        AWS_S3_ENDPOINT_URL="http://minio:9000",
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="gstp-app",
        AWS_SECRET_ACCESS_KEY="not-a-real-secret-0123456789",
        AWS_S3_ADDRESSING_STYLE="path",
        GSTP_EVIDENCE_MAX_FILE_BYTES="1048576",
        GSTP_EVIDENCE_MAX_REPORT_BYTES="5242880",
    )

    assert values["backend"] == "storages.backends.s3.S3Storage"
    assert (values["bucket_name"], values["endpoint_url"]) == ("gstp-evidence", "http://minio:9000")
    assert (values["region_name"], values["access_key"]) == ("us-east-1", "gstp-app")
    assert values["addressing_style"] == "path"
    assert values["default_acl"] is None  # objects keep the bucket's private policy
    assert values["file_overwrite"] is False
    assert (values["max_file"], values["max_report"]) == (1048576, 5242880)


@pytest.mark.parametrize(
    ("environment", "named"),
    [({"GSTP_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"), ({"GSTP_STORAGE": "ftp"}, "GSTP_STORAGE")],
    ids=["s3-without-a-bucket", "unknown-storage"],
)
def test_a_storage_that_cannot_work_refuses_to_start(tmp_path, environment, named):
    completed = run_settings(tmp_path, **environment)

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr and named in completed.stderr
