"""A throw-away PostgreSQL cluster for tests that stop or restart the database server.

The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port (and on a socket in that
directory), and is removed by ``stop()``. PostgreSQL refuses to run as root, so when the tests run as root
(as in CI) ``initdb``, ``pg_ctl`` and the server run as the ``postgres`` OS user, as ``.ci/run`` does.
Servers started by anything else, and their ports, are never touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .processes import free_port, wait_until

PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_SECONDS = 60
PASSWORD = "fault-tests-only"


def postgres_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb`` and ``pg_ctl``, or the ones on PATH."""
    candidates = sorted(
        (path for path in PG_ROOT.glob("*/bin") if path.parent.name.isdigit()),
        key=lambda path: int(path.parent.name),
        reverse=True,
    )
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def initdb_command(bin_dir: Path, data_dir: Path) -> list[str]:
    """``initdb`` of a test cluster: UTF-8, trust on its socket, passwords over TCP."""
    return [
        str(bin_dir / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        "postgres",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
    ]


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root, and there is no 'postgres' OS user to run PostgreSQL as") from exc
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


class PostgresCluster:
    """``initdb`` + ``pg_ctl start`` on a free port, a role and a database; ``restart()`` and ``stop()``."""

    def __init__(self, *, database: str = "gstp", user: str = "gstp"):
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bin_dir = bin_dir
        self.database, self.user = database, user
        self.port = free_port()
        self.as_owner = _run_as()
        # Not under pytest's tmp_path: its parents are private to root, and the server may run as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="gstp-faults-pg-"))
        self.root.chmod(0o755)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_path = self.socket_dir / "postgres.log"
        self._started = False
        try:
            self._init_and_start()
        except BaseException:
            self.stop()
            raise

    def _owned_dirs(self) -> None:
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(mode=0o700)
            if self.as_owner:
                shutil.chown(path, user="postgres", group="postgres")

    def _pg(self, *argv: str, timeout: float = START_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_owner, *argv],
            cwd=self.root,  # the postgres user may not be able to read the test's working directory
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _server_options(self) -> str:
        # fsync off: durability across an operating-system crash is not what these tests are about. Commits
        # stay synchronous, so what a client was told is committed survives a fast restart.
        return f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off -c full_page_writes=off"

    def _init_and_start(self) -> None:
        self._owned_dirs()
        done = self._pg(*initdb_command(self.bin_dir, self.data_dir))
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        self.start()
        self.psql(
            f"CREATE ROLE {self.user} LOGIN CREATEDB PASSWORD '{PASSWORD}'",
            f"CREATE DATABASE {self.database} OWNER {self.user}",
        )

    def _pg_ctl_serving(self, action: str, *options: str):
        """``pg_ctl <action>`` for a command that leaves the server running: logged, waited for, our options."""
        return self._pg(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            *options,
            "-o",
            self._server_options(),
            action,
        )

    def start(self) -> None:
        self._started = True
        done = self._pg_ctl_serving("start")
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{self.log_tail()}")
        wait_until(self.ready, timeout=START_TIMEOUT_SECONDS, interval=0.1, what="PostgreSQL accepting connections")

    def restart(self, *, mode: str = "fast") -> float:
        """``pg_ctl restart -m <mode>``: every session is ended, the server stops and starts again. Returns once
        it accepts connections; the seconds that took."""
        started = time.monotonic()
        done = self._pg_ctl_serving("restart", "-m", mode)
        if done.returncode:
            raise RuntimeError(f"pg_ctl restart failed:\n{done.stdout}\n{done.stderr}\n{self.log_tail()}")
        wait_until(self.ready, timeout=START_TIMEOUT_SECONDS, interval=0.05, what="PostgreSQL accepting connections")
        return time.monotonic() - started

    def stop_server(self, *, mode: str = "fast") -> None:
        """``pg_ctl stop -m <mode>``, keeping the data: ``start()`` brings the same cluster back."""
        done = self._pg(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")
        if done.returncode:
            raise RuntimeError(f"pg_ctl stop failed:\n{done.stdout}\n{done.stderr}\n{self.log_tail()}")

    def ready(self) -> bool:
        done = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
        )
        return done.returncode == 0

    def psql(self, *statements: str, database: str = "postgres") -> str:
        """Run statements as the superuser over the cluster's own socket; their output."""
        argv = [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-d", database]
        for statement in statements:
            argv += ["-c", statement]
        done = self._pg(*argv, timeout=30)
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout

    @property
    def url(self) -> str:
        return f"postgres://{self.user}:{PASSWORD}@127.0.0.1:{self.port}/{self.database}"

    @property
    def connection_info(self) -> str:
        """For ``psycopg.connect``."""
        return f"host=127.0.0.1 port={self.port} dbname={self.database} user={self.user} password={PASSWORD}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server and remove its directory. Safe to call twice.

        Immediate mode: the data is thrown away, so the shutdown checkpoint would be time spent for nothing."""
        if self._started:
            self._started = False
            if (self.data_dir / "postmaster.pid").exists():
                pg_ctl = str(self.bin_dir / "pg_ctl")
                self._pg(pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "30", "stop", timeout=40)
        shutil.rmtree(self.root, ignore_errors=True)
