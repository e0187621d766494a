"""Child processes for tests (a Redis server, a Celery worker) that are always stopped, and waiting for things.

Every process is started in its own session, so stopping it signals its whole process group; ``stop()``
sends SIGTERM, then SIGKILL after a grace period, and waits for it. Tests register ``stop`` as a finalizer.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CELERY = REPO_ROOT / ".venv" / "bin" / "celery"
STOP_GRACE_SECONDS = 10


def system_tool(name: str) -> str | None:
    """The path of a program, looked for on PATH and in the system's sbin folders (``ip``, ``haproxy`` and
    ``runuser`` live there, and a PATH made for an ordinary user may not name them)."""
    folders = [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"]
    return shutil.which(name, path=os.pathsep.join(folder for folder in folders if folder))


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick), on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Call ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds pass (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(interval)


class ManagedProcess:
    """A child process in its own session, logging to a file."""

    def __init__(self, argv: list[str], *, log_path: Path, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT):
        self.argv = argv
        self.log_path = Path(log_path)
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)  # the session leader's group: the process and its children
        except ProcessLookupError:
            pass

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets open but answers nothing (a hung server)."""
        if self.popen.poll() is None:
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.popen.poll() is None:
            self._signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the process group at once, as the kernel's OOM killer or a lost machine would; reap the child."""
        if self.popen.poll() is not None:
            return
        self._signal(signal.SIGKILL)
        self.popen.wait(timeout=STOP_GRACE_SECONDS)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after a grace period; reap the child. Safe to call twice.

        Signals go to the group only while its leader is not yet reaped, so never to a recycled process id.
        """
        if self.popen.poll() is not None:
            return
        self._signal(signal.SIGCONT)  # a paused process would not act on SIGTERM
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(timeout=STOP_GRACE_SECONDS)


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer(ManagedProcess):
    """A throw-away ``redis-server`` on 127.0.0.1: no persistence, stopped by ``stop()``."""

    def __init__(self, *, port: int | None = None, log_path: Path):
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.port = port or free_port()
        super().__init__(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            log_path=log_path,
        )
        try:
            wait_until(self._answers, timeout=20, interval=0.05, what=f"redis-server on port {self.port}")
        except TimeoutError as exc:
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}:\n{self.log_tail()}") from exc

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=5, socket_connect_timeout=5)

    def _answers(self) -> bool:
        if not self.running():
            raise RuntimeError(f"redis-server exited with {self.popen.returncode}:\n{self.log_tail()}")
        try:
            with self.client() as client:
                return bool(client.ping())
        except OSError:
            return False
        except Exception as exc:  # redis.exceptions.ConnectionError is not an OSError
            if type(exc).__module__.startswith("redis"):
                return False
            raise


class CeleryWorker(ManagedProcess):
    """``celery -A gstp worker`` (solo pool, queue ``celery``) with the given environment."""

    ARGS = [
        "-A",
        "gstp",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        "celery",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "INFO",
    ]

    def __init__(self, *, env: dict[str, str], log_path: Path, hostname: str, pool: str = "solo"):
        args = self.ARGS if pool == "solo" else [arg for arg in self.ARGS if arg != "--pool=solo"] + [f"--pool={pool}"]
        super().__init__([str(CELERY), *args, "-n", hostname], env=env, log_path=log_path)

    def pool_children(self) -> list[int]:
        """The process ids of a prefork pool's children (none for the solo pool)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in children]

    def wait_ready(self, timeout: float = 60) -> None:
        def ready():
            if not self.running():
                raise RuntimeError(f"the worker exited with {self.popen.returncode}:\n{self.log_tail()}")
            return " ready." in self.log()

        try:
            wait_until(ready, timeout=timeout, what="the Celery worker's 'ready.'")
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}:\n{self.log_tail()}") from exc

    def count(self, text: str) -> int:
        return self.log().count(text)
