"""GSTP served over HTTP by gunicorn, as in production, in a child process a test starts and stops."""

from __future__ import annotations

import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path

from .processes import REPO_ROOT, ManagedProcess, free_port, wait_until

GUNICORN = REPO_ROOT / ".venv" / "bin" / "gunicorn"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
HIGH_RATE_SETTINGS = (
    "GSTP_THROTTLE_READ_RATE",
    "GSTP_THROTTLE_WRITE_RATE",
    "GSTP_THROTTLE_EXPORT_RATE",
    "GSTP_THROTTLE_ANON_RATE",
)


def production_environment(*, database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of the production web service (docker-compose.yml), for a server on 127.0.0.1 over plain
    HTTP: DEBUG off, persistent database connections, no broker (the API only writes the outbox)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gstp.settings",
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "CELERY_BROKER_URL": "memory://",
        "GSTP_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
        # Limits no test's load reaches (a test of the limits passes its own); counted as in production.
        **dict.fromkeys(HIGH_RATE_SETTINGS, "1000000/minute"),
        **extra,
    }
    for name in ("REDIS_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
        env.pop(name, None)
    return env


class WebServer(ManagedProcess):
    """``gunicorn gstp.wsgi`` on a free port of 127.0.0.1, with sync workers like the production image's."""

    def __init__(self, *, env: dict[str, str], log_path: Path, workers: int = 2, timeout: float = 60):
        self.port = free_port()
        super().__init__(
            [
                str(GUNICORN),
                "gstp.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
                "--error-logfile",
                "-",
            ],
            env=env,
            log_path=log_path,
        )
        try:
            wait_until(self._answers, timeout=timeout, interval=0.2, what=f"gunicorn on port {self.port}")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        if not self.running():
            raise RuntimeError(f"gunicorn exited with {self.popen.returncode}:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz/", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
