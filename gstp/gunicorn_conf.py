"""gunicorn's configuration in the production image (``gunicorn -c python:gstp.gunicorn_conf``).

With JSON logs (``GSTP_LOG_FORMAT=json``, the default when ``DEBUG`` is off, as in gstp/settings.py)
gunicorn's own lines (start, workers booting or dying) are JSON objects on stdout like GSTP's. Every
request is logged by GSTP itself (``gstp.request``, with its request id), so gunicorn's access log stays off.
"""

import os


def _log_format() -> str:
    debug = os.environ.get("DEBUG", "").strip().lower() in {"", "1", "true", "yes", "on"}
    return os.environ.get("GSTP_LOG_FORMAT", "").strip().lower() or ("text" if debug else "json")


def _json_handler() -> dict:
    return {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}


if _log_format() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            # An access line would repeat gstp.request's; WARNING keeps it quiet.
            "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        },
        "handlers": {"console": _json_handler(), "error_console": _json_handler()},
        "formatters": {"json": {"()": "gstp.logs.JsonFormatter"}},
    }
