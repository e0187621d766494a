"""Logs with a request id.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token, a new one otherwise.
It is sent back in the ``X-Request-ID`` response header, and every log line written while the request
runs carries it (``request_id``); a line written inside a Celery task carries the task's id
(``task_id``). ``RequestIdMiddleware`` also writes one line per request on the ``gstp.request``
logger with its method, path, status and duration.

``JsonFormatter`` writes one JSON object per line (production); ``TextFormatter`` a plain line.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from celery._state import get_current_task
from django.http import HttpRequest
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and . _ : - up to 128 characters: what proxies and tracing systems send. Anything
# else (spaces, quotes, control characters, an empty header) is replaced, so it cannot forge a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

_request_id: ContextVar[str | None] = ContextVar("gstp_request_id", default=None)

request_logger = logging.getLogger("gstp.request")


def current_request_id() -> str | None:
    return _request_id.get()


def request_id_from(value: str | None) -> str:
    """The caller's id when it is a sane token, else a new random one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost: sets the request id for everything below, answers it, and logs the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            request_logger.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            return response
        finally:
            _request_id.reset(token)


class LogContextFilter(logging.Filter):
    """Adds ``request_id`` (and ``task_id``, ``task_name`` inside a Celery task) to every record.

    Django's own request records carry the request object: its method and path are added too.
    """

    def filter(self, record):
        request = getattr(record, "request", None)
        if getattr(record, "request_id", None) is None:
            # Django logs an error answer once the middleware has returned: the request still knows its id.
            record.request_id = _request_id.get() or getattr(request, "request_id", None)
        task = get_current_task()
        task_id = getattr(getattr(task, "request", None), "id", None) if task is not None else None
        if task_id and not hasattr(record, "task_id"):
            record.task_id = task_id
            record.task_name = task.name
        if isinstance(request, HttpRequest):
            if not hasattr(record, "method"):
                record.method = request.method
            if not hasattr(record, "path"):
                record.path = request.path
        return True


# The fields every line starts with, in this order; the record's extras follow.
_LEADING_FIELDS = ("timestamp", "level", "logger", "message", "request_id")


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: timestamp (UTC, ISO 8601), level, logger, message, request_id, then
    the record's extras (method, path, status, duration_ms; task_id; exc_info)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "status_code": "status"})
        # Django attaches the request object (and runserver its socket) to some records: their
        # useful parts are added by LogContextFilter, the objects themselves are not logged.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time"])
        kwargs.setdefault("timestamp", True)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def process_log_record(self, log_data):
        log_data.setdefault("request_id", None)
        leading = {key: log_data.pop(key) for key in _LEADING_FIELDS if key in log_data}
        return {**leading, **log_data}


class TextFormatter(logging.Formatter):
    """``2025-04-01 10:00:00,123 INFO gstp.request [3f2a…] GET /api/v1/ 200 4.1 ms``."""

    def __init__(self, *args, **kwargs):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record):
        ident = getattr(record, "request_id", None) or getattr(record, "task_id", None)
        where = f" [{ident}]" if ident else ""
        return f"{record.asctime} {record.levelname} {record.name}{where} {record.message}"
