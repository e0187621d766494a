"""GSTP settings. Every value comes from the environment.

With no environment at all GSTP runs on SQLite and a Celery broker that keeps
its messages in files (Kombu's filesystem transport), so one machine with
nothing installed can run the web server, a worker and beat together.
"""

import datetime
import logging
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from gstp.branding import SYSTEM_NAME

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GSTP_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str | None:
    """A request rate, ``<count>/<second|minute|hour|day>``; ``off`` for no limit."""
    value = os.environ.get(name, "").strip().lower() or default
    if value in {"off", "none", "0"}:
        return None
    count, _sep, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in RATE_PERIODS:
        raise ImproperlyConfigured(
            f"{name} must read <count>/<second|minute|hour|day> (600/minute) or off, not {value!r}."
        )
    return f"{int(count)}/{period}"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


DEBUG = env_bool("DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-gstp-development-only"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 32 characters when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must name the host names GSTP answers to (comma-separated) when DEBUG is off."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "accounts.admin_site.AdminConfig",  # django.contrib.admin, its site asking accounts.access
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules",
    "simple_history",
    "django_celery_beat",
    "accounts",
    "projects",
    "indicators",
    "reviews",
    "assessments",
    "console",
]

MIDDLEWARE = [
    "gstp.logs.RequestIdMiddleware",
    "gstp.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "gstp.unavailable.DatabaseUnavailableMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "gstp.middleware.ConditionalGetMiddleware",
    "gstp.middleware.LastModifiedMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "gstp.limits.RequestSizeLimitMiddleware",
    "gstp.middleware.QueryStringEncodingMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "console.middleware.ReadingCalendarMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gstp.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gstp.context_processors.branding",
                "console.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "gstp.wsgi.application"

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gstp.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, worker and beat write to the same file: wait for the lock
    # instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that accepts connections but never answers must not hold a request forever.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
    # A peer that vanished (a web host cut off, the database host gone) is found dead on both ends: by TCP
    # keepalives within about DATABASE_KEEPALIVE_IDLE + INTERVAL x COUNT seconds while the connection is idle, and
    # within DATABASE_TCP_USER_TIMEOUT seconds while data sent is waiting to be acknowledged. The server then rolls
    # back the lost client's open transaction (and the Idempotency-Key it claimed); the client stops waiting.
    keepalive = {
        "idle": env_int("DATABASE_KEEPALIVE_IDLE", 5),
        "interval": env_int("DATABASE_KEEPALIVE_INTERVAL", 2),
        "count": env_int("DATABASE_KEEPALIVE_COUNT", 3),
    }
    user_timeout_ms = env_int("DATABASE_TCP_USER_TIMEOUT", 10) * 1000
    options.setdefault("keepalives", 1)
    for name, seconds in keepalive.items():
        options.setdefault(f"keepalives_{name}", seconds)
    options.setdefault("tcp_user_timeout", user_timeout_ms)
    server = [f"-c tcp_keepalives_{name}={seconds}" for name, seconds in keepalive.items()]
    server.append(f"-c tcp_user_timeout={user_timeout_ms}")
    options["options"] = " ".join([options.get("options", ""), *server]).strip()

# How long a POST waits for another request holding the same Idempotency-Key before answering 409.
IDEMPOTENCY_WAIT = env_int("GSTP_IDEMPOTENCY_WAIT", 30)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Argon2 first: new passwords are hashed with it, and a password stored with one of the
# others is rehashed with Argon2 the next time its owner signs in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# django-axes watches every sign-in (the admin's, the console's and /api/v1/auth/session/): after
# GSTP_LOGIN_FAILURE_LIMIT failures an account is locked, whatever address tries it,
# and so is an address, whatever account it tries, until GSTP_LOGIN_COOLOFF_MINUTES
# have passed since the last failure. A success resets that account's count.
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.LoginAttemptBackend",
    # Object permissions: the rules each app's ``access`` module registers (``reviews.accept_report``...).
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env_int("GSTP_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("GSTP_LOGIN_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no startup banner in every management command's output
AXES_HANDLER = "accounts.lockout.LoginAttemptHandler"
AXES_LOCKOUT_CALLABLE = "console.views.auth.locked_out"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip_address"
# Behind N reverse proxies the client's address is the Nth entry of X-Forwarded-For
# counted from the right; 0 means clients connect directly (REMOTE_ADDR).
GSTP_TRUSTED_PROXIES = env_int("GSTP_TRUSTED_PROXIES", 0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", _("Traditional Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

# Request size limits: a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE is refused with
# 413 before any view reads it (gstp/limits.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000)

# Evidence files (佐證資料): the largest single file, and the most one report's files may add up to. Past
# either the upload is refused with 413 and nothing is stored; the upload endpoints alone take a request
# body this large (gstp/limits.py).
GSTP_EVIDENCE_MAX_FILE_BYTES = env_int("GSTP_EVIDENCE_MAX_FILE_BYTES", 20 * 1024 * 1024)
GSTP_EVIDENCE_MAX_REPORT_BYTES = env_int("GSTP_EVIDENCE_MAX_REPORT_BYTES", 100 * 1024 * 1024)

# Where uploaded files are kept: on this machine under var/media (GSTP_STORAGE=filesystem, the default), or
# in an S3-compatible object store (GSTP_STORAGE=s3: AWS S3, MinIO, Ceph...). The objects stay private: no
# ACL is set on them and downloads stream through the API, which checks who asks; no URL of the store is
# ever handed out.
GSTP_STORAGE = os.environ.get("GSTP_STORAGE", "").strip().lower() or "filesystem"
# The filesystem storage's folder: var/media unless told otherwise (the storage reads MEDIA_ROOT when it
# saves, so a changed setting, a test's own folder say, is followed).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
if GSTP_STORAGE == "filesystem":
    _DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif GSTP_STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must name the bucket when GSTP_STORAGE is s3.")
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            # Unset: AWS itself; MinIO and the like: their address (http://minio:9000).
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL", "").strip() or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME", "").strip() or None,
            # Unset: boto3 finds credentials itself (an instance role, ~/.aws).
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID", "").strip() or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip() or None,
            # path: bucket in the path (MinIO's default); virtual: in the host name (AWS's).
            "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE", "").strip() or None,
            "default_acl": None,  # the bucket's own policy, which keeps objects private
            "file_overwrite": False,
            # A download is fetched into a temporary file before it streams out: in memory up to 1 MiB.
            "max_memory_size": 1024 * 1024,
        },
    }
else:
    raise ImproperlyConfigured(f"GSTP_STORAGE must be filesystem or s3, not {GSTP_STORAGE!r}.")
# Where `manage.py backup` (`make backup`) writes its backups unless told otherwise (gstp/backup.py).
BACKUP_ROOT = Path(os.environ.get("GSTP_BACKUP_DIR", VAR_DIR / "backups"))
# The folder of pg_dump and pg_restore; unset, the newest /usr/lib/postgresql/<version>/bin, else PATH's.
GSTP_PG_BIN = os.environ.get("GSTP_PG_BIN", "").strip()
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_REDIRECT_URL = "/api/v1/"
LOGOUT_REDIRECT_URL = "/api/v1/"

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON, written by orjson (gstp/renderers.py); the browsable API for a browser.
    "DEFAULT_RENDERER_CLASSES": ["gstp.renderers.ORJSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["gstp.filters.CollectionFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "gstp.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "EXCEPTION_HANDLER": "gstp.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "gstp.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": ["gstp.throttles.CallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "read": env_rate("GSTP_THROTTLE_READ_RATE", "1200/minute"),
        "write": env_rate("GSTP_THROTTLE_WRITE_RATE", "300/minute"),
        "export": env_rate("GSTP_THROTTLE_EXPORT_RATE", "120/hour"),
        "anon": env_rate("GSTP_THROTTLE_ANON_RATE", "60/minute"),
    },
    # An anonymous caller is counted by address: behind proxies, the one the outermost of them saw.
    "NUM_PROXIES": GSTP_TRUSTED_PROXIES,
}

# Caches. ``throttle`` keeps the request counts of gstp/throttles.py: in Redis when REDIS_URL is set, so all web
# hosts count together; in this process's memory otherwise (one server on one machine). Its own alias, so the
# counts never mix with anything cached; a count lost (Redis restarted) only lets a few requests more through.
REDIS_URL = os.environ.get("REDIS_URL", "").strip()


def shared_cache(prefix: str, local: str, **local_options) -> dict:
    """A cache every web host shares, in Redis when REDIS_URL is set (keys under ``prefix``); in this process's
    memory otherwise (one server on one machine). A Redis that does not answer costs a request 0.5 s at most."""
    if REDIS_URL:
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": local, "OPTIONS": local_options}


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "throttle": shared_cache("gstp", "throttle"),
    # ``representations``: serialized answers of hot reads (gstp/representations.py), shared by every web worker
    # and host; each key names its object's version, so an entry is never stale, and entries expire.
    "representations": shared_cache("gstp-representation", "representations", MAX_ENTRIES=20_000),
}
GSTP_REPRESENTATION_SECONDS = env_int("GSTP_REPRESENTATION_SECONDS", 24 * 3600)

# The OpenAPI schema and its docs page: public on a developer's machine, for signed-in
# users only in production unless GSTP_API_DOCS_PUBLIC says otherwise.
GSTP_API_DOCS_PUBLIC = env_bool("GSTP_API_DOCS_PUBLIC", default=DEBUG)

SPECTACULAR_SETTINGS = {
    "PATH_CONVERTER_OVERRIDES": {"id": int},  # gstp.routers.IdConverter
    "TITLE": f"{SYSTEM_NAME} API",
    "DESCRIPTION": SYSTEM_NAME
    + """: programme monitoring for Taiwan's Smart Nation Programme (智慧國家方案): the plan tree (groups, strategy
sections, measures and sub-projects) with each sub-project's traffic light, agencies, milestones, indicators,
quarterly reports (季報) and the lag flags (落後警示) the Executive Secretariat works.

**Authentication.** Programs send `Authorization: Token <key>`; a key is issued to an account and sees what
that account sees. A browser's scripts sign in with a session at `POST /api/v1/auth/session/` (`GET` there
says who is signed in and hands out the `csrftoken` cookie, `DELETE` signs out); every write with a session,
signing in and out included, sends the `csrftoken` cookie's value in the `X-CSRFToken` header, or is refused
with 403.

**Languages.** Messages and labels are in Traditional Chinese; send `Accept-Language: en` for English.
Codes (`code` of an error, enum values) are the same in both.

**Errors.** Every error answers `{"detail", "code", "errors": {"field": ["..."]}}` (see `Error`).

**Limits.** Each API key, each user signed in with a session and, where nobody need sign in, each address may send
so many reads, writes and exports (`/api/v1/exports/`, lower) in a window of time; past it the answer is 429 with
`Retry-After`, the whole seconds until the window ends.

**Reading.** Lists are paginated (`page`, `page_size` up to 500; an empty `cursor` switches to cursor pages
ordered by id). Every read carries `ETag` and `Last-Modified`, and answers 304 to `If-None-Match` or
`If-Modified-Since` when nothing changed. Collections take `updated_since`, and `/api/v1/deletions/` lists
what was deleted, so a copy can be kept in step. A filter typed as a list takes one value or several
(`?kind=group&kind=subproject`).

**Writing a report.** Every write of a report sends `If-Match` with the report's `etag` (in the body of every
report, and in the `ETag` header), or `*` for whatever version is current: 428 without it, 412 when another
write came first. `POST` takes an `Idempotency-Key`, so a retry gets the first answer. Request bodies are JSON,
but for file uploads.

**Evidence files (佐證資料).** A report's files are at `/api/v1/reports/{id}/files/`, a flag comment's at
`/api/v1/flags/{id}/comments/{comment_id}/files/`: listed with `GET`, uploaded with `POST` as
`multipart/form-data` (the file in the field `file`), downloaded from each file's `download` path. A file's kind
is read from its content (PDF, Office and OpenDocument files, images, CSV, ZIP); one file may be 20 MiB and a
report's files 100 MiB together unless the server says otherwise (413 past either). Only the secretariat, the
sub-project's leads and its ministry's reviewers see a report's files; anyone else gets 404.

**The year's assessment (年度考評).** `/api/v1/assessment-schemes/` holds each plan's criteria, grade bands and
calendar by year; `/api/v1/assessments/` each sub-project's assessment through self-assessment (自評), the ministry's
review (初核) and the secretariat's (複核). Writes send `If-Match` with the `etag` (`"a12-3"`, `"s4-2"`) as a
report's do. An assessment's chain (the secretariat, the sub-project's leads, its ministry's reviewers) reads it
whole; once its scheme is published, everyone else reads its final total and grade only, and before that nothing.
""",
    "VERSION": "1.0.0",
    "LICENSE": {
        "name": "政府資料開放授權條款－第1版 (Open Government Data License, version 1.0)",
        "url": "https://data.gov.tw/license",
    },
    # Paths are absolute, relative to the host that serves this schema.
    "SERVERS": [{"url": "/", "description": "This server"}],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies are JSON; the form parsers serve the browsable API's forms, not other systems.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["gstp.permissions.ApiDocsAccess"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "NodeKindEnum": "projects.models.NodeKind",
        "ReportKindEnum": "reviews.models.reports.ReportKind",
        "ReportStatusEnum": "reviews.models.reports.ReportStatus",
        "FlagStatusEnum": "reviews.models.flags.FlagStatus",
        "CommentKindEnum": "reviews.models.flags.CommentKind",
        "ReportActionEnum": "reviews.models.reports.ReportAction",
        "RevisionActionEnum": "reviews.models.revisions.RevisionAction",
        "RevisionStatusEnum": "reviews.models.revisions.RevisionStatus",
        "AssessmentStatusEnum": "assessments.models.AssessmentStatus",
        "AssessmentActionEnum": "assessments.models.AssessmentAction",
    },
    # The docs page's scripts are served from here, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The error shape, the errors each operation may answer, and examples (gstp/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gstp.schema.postprocess",
    ],
}

# Celery: Redis in production, files on one machine with nothing installed.
# A job a worker took and never acknowledged (the worker or its host was lost) goes to another worker once it was
# taken this many seconds ago, at the next look of a worker (GSTP_BROKER_RESTORE_SECONDS, gstp/celery.py): a lost
# worker's job is redone within 3 minutes. A job running longer than this is handed to a second worker as well:
# every job is safe to run twice, and the scan's batches take seconds.
GSTP_BROKER_VISIBILITY_TIMEOUT = env_int("GSTP_BROKER_VISIBILITY_TIMEOUT", 150)
if GSTP_BROKER_VISIBILITY_TIMEOUT < 1:
    raise ImproperlyConfigured("GSTP_BROKER_VISIBILITY_TIMEOUT must be at least 1 (seconds).")
# The furthest ahead a job is scheduled (a mail job's retry; a webhook's retry job, the sweep sending the later
# ones): a job waiting for its time is held unacknowledged, so waiting past the visibility timeout would have Redis
# hand it to a second worker, again and again.
GSTP_LONGEST_COUNTDOWN_SECONDS = max(1, GSTP_BROKER_VISIBILITY_TIMEOUT * 2 // 3)
# How often each worker looks for jobs held past the visibility timeout (kombu's own look comes every 100 s): a
# lost worker's job is redone within GSTP_BROKER_VISIBILITY_TIMEOUT plus this.
GSTP_BROKER_RESTORE_SECONDS = env_int("GSTP_BROKER_RESTORE_SECONDS", 30)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # the exchange tables; kombu's default is ``control`` in the working directory
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
        "visibility_timeout": GSTP_BROKER_VISIBILITY_TIMEOUT,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# The schedule is in the database (django-celery-beat's periodic tasks, changed in the admin); however many
# beats run, only the one holding the beat lock sends, and another takes over within the lock's seconds once
# its holder is gone (gstp/beat.py).
CELERY_BEAT_SCHEDULER = "gstp.beat:SingleBeatScheduler"
GSTP_BEAT_LOCK_SECONDS = env_int("GSTP_BEAT_LOCK_SECONDS", 30)
# No result backend keeps results, so beat has no results to clean up (it would add a job for that).
CELERY_RESULT_EXPIRES = None

# Webhook deliveries: how many attempts before one is abandoned, and the wait before each retry (doubling from
# the first, up to the longest). The wait is kept on the delivery (``next_attempt_at``), which the sweep reads.
GSTP_WEBHOOK_ATTEMPTS = env_int("GSTP_WEBHOOK_ATTEMPTS", 11)
GSTP_WEBHOOK_RETRY_FIRST_SECONDS = env_int("GSTP_WEBHOOK_RETRY_FIRST_SECONDS", 2)
GSTP_WEBHOOK_RETRY_LONGEST_SECONDS = env_int("GSTP_WEBHOOK_RETRY_LONGEST_SECONDS", 3600)

# Threads the lag scan runs its batches on, on PostgreSQL (each with its own database connection).
LAG_SCAN_WORKERS = env_int("GSTP_SCAN_WORKERS", 2)

# Email: through the SMTP server EMAIL_HOST names when it is set (a refused or failed send is recorded on its
# EmailLog row and the job retried, reviews/tasks.py); printed on the console otherwise.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS (STARTTLS, usually port 587) and EMAIL_USE_SSL (TLS from the start, usually port 465) "
        "exclude each other; set one."
    )
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = EMAIL_HOST or "localhost"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gstp@localhost")

# Logs: one JSON object per line on stdout in production (GSTP_LOG_FORMAT=json, the default
# when DEBUG is off); plain text on stderr on a developer's machine, where stdout is left
# to what commands print (`TOKEN=$(manage.py issue_token portal)`). Every line written
# while a request or a Celery task runs carries its request_id or task_id (gstp/logs.py).
GSTP_LOG_FORMAT = os.environ.get("GSTP_LOG_FORMAT", "").strip().lower() or ("text" if DEBUG else "json")
if GSTP_LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"GSTP_LOG_FORMAT must be json or text, not {GSTP_LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "gstp.logs.LogContextFilter"}},
    "formatters": {
        "json": {"()": "gstp.logs.JsonFormatter"},
        "text": {"()": "gstp.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout" if GSTP_LOG_FORMAT == "json" else "ext://sys.stderr",
            "filters": ["context"],
            "formatter": GSTP_LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Through the root handler only, not also through Django's own console handler.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's line per request repeats gstp.request's; keep its warnings.
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
if GSTP_LOG_FORMAT == "json":
    logging.captureWarnings(True)  # Python's warnings become log lines too (py.warnings)
# The worker logs through LOGGING above instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Cross-origin requests: none unless CORS_ALLOWED_ORIGINS lists the origins
# (https://dashboard.example.gov.tw) whose pages may call the API from a browser.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "X-Request-ID", "Location", "Report-ETag", "Content-Disposition"]


def _proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto,https`` (or ``HTTP_X_FORWARDED_PROTO,https``) as Django wants it; ``off``: none."""
    if value.strip().lower() in {"off", "none", "0", "false", "no"}:
        return None
    header, sep, expected = value.partition(",")
    header, expected = header.strip(), expected.strip()
    if not sep or not header or not expected:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER must read HEADER,VALUE (X-Forwarded-Proto,https) or off, not {value!r}."
        )
    meta_key = header.upper().replace("-", "_")
    return (meta_key if meta_key.startswith("HTTP_") else f"HTTP_{meta_key}", expected)


# The load balancer probes these over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]

if not DEBUG:
    # The TLS-terminating proxy in front of GSTP says the request came over HTTPS.
    # Only safe when that proxy overwrites the header a client sends.
    SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(os.environ.get("SECURE_PROXY_SSL_HEADER") or "X-Forwarded-Proto,https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
