"""GSTP as a cluster of hosts on this machine: network namespaces joined by a switch.

Every host is a network namespace the harness creates, with one link (a veth pair) to a bridge that lives in a
namespace of its own, the switch. Addresses exist only inside those namespaces; nothing is added to the machine's
own network, and no other address is ever contacted::

    db       10.77.0.2   PostgreSQL (:5432) and Redis (:6379)
    lb       10.77.0.3   HAProxy (:8000), deploy/haproxy.cfg with these hosts as its servers
    web1/2   10.77.0.11  gunicorn (:8000), production settings
    worker1/2 10.77.0.21 Celery workers
    beat     10.77.0.31  Celery beat
    client   10.77.0.41  where the tests' own requests come from

Cutting a host's link (``cut``) takes the switch's end of it down: the host stays up but reaches nobody, and
nobody reaches it, as when a cable or a machine's network fails. ``restore`` brings it back.

A test's own thread joins a host with ``with cluster.inside("client"):`` (``setns(2)`` on the calling thread; the
threads it starts there are in that host too). Processes run in a host with ``ip netns exec``.

``Cluster.stop()`` kills every process the harness started and deletes every namespace, also after a failure;
namespaces left by a run that was killed outright (their names carry its process id) are removed by the next.
Needs root, ``ip`` (iproute2), the PostgreSQL server binaries, ``redis-server`` and ``haproxy``.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from tests.support.postgres import initdb_command, postgres_bin_dir
from tests.support.processes import CELERY, REPO_ROOT, ManagedProcess, system_tool, wait_until
from tests.support.web import GUNICORN, HIGH_RATE_SETTINGS, PYTHON

PREFIX = "gstpc"
SUBNET = "10.77.0"
ADDRESSES = {
    "db": 2,
    "lb": 3,
    "web1": 11,
    "web2": 12,
    "worker1": 21,
    "worker2": 22,
    "beat": 31,
    "beat2": 32,
    "client": 41,
}
WEB_HOSTS = ("web1", "web2")
WEB_PORT = 8000
PG_PORT = 5432
REDIS_PORT = 6379
DB_PASSWORD = "cluster-tests-only"
CLONE_NEWNET = 0x40000000
START_TIMEOUT = 90
EXPORTS_PER_MINUTE = 6

_libc = ctypes.CDLL(None, use_errno=True)
IP = system_tool("ip") or "ip"
HAPROXY = system_tool("haproxy") or "haproxy"
RUNUSER = system_tool("runuser") or "runuser"
TASKSET = system_tool("taskset") or "taskset"
_made = itertools.count(1)


def address(host: str) -> str:
    return f"{SUBNET}.{ADDRESSES[host]}"


def unavailable_reason() -> str | None:
    """Why a cluster cannot be made on this machine, or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    for tool in ("ip", "haproxy", "redis-server", "runuser"):
        if system_tool(tool) is None:
            return f"needs {tool}"
    if postgres_bin_dir() is None:
        return "needs the PostgreSQL server binaries"
    probe = f"{PREFIX}probe{os.getpid()}"
    done = subprocess.run([IP, "netns", "add", probe], capture_output=True, text=True)
    if done.returncode:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    subprocess.run([IP, "netns", "del", probe], capture_output=True)
    return None


def _ip(*argv: str) -> None:
    done = subprocess.run([IP, *argv], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(argv)}: {done.stderr.strip()}")


def remove_stale_namespaces() -> None:
    """Delete the namespaces of earlier runs whose process is gone (killed before it could clean up)."""
    listed = subprocess.run([IP, "netns", "list"], capture_output=True, text=True).stdout
    for name in re.findall(rf"^({PREFIX}(\d+)n\d+-\S+)", listed, flags=re.M):
        namespace, pid = name
        if not Path(f"/proc/{pid}").exists():
            _kill_processes_in(namespace)
            subprocess.run([IP, "netns", "del", namespace], capture_output=True)


def _kill_processes_in(namespace: str) -> None:
    pids = subprocess.run([IP, "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), 9)


class Cluster:
    """The hosts, their links and the processes on them. ``start_*`` methods start GSTP's parts."""

    def __init__(self, root: Path | None = None):
        self.tag = f"{PREFIX}{os.getpid()}n{next(_made)}"  # the process id tells a stale one
        self.root = Path(root or tempfile.mkdtemp(prefix="gstp-cluster-"))
        self.root.chmod(0o755)
        self.processes: dict[str, ManagedProcess] = {}
        self.hosts: list[str] = []
        self.pg_bin = postgres_bin_dir()
        self.pg_data = self.root / "pgdata"
        self.pg_socket = self.root / "pgsocket"
        self.var_dir = self.root / "var"  # the stored files, shared by the web hosts (their shared volume)
        self.secret_key = secrets.token_urlsafe(48)

    # ------------------------------------------------------------------ network

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def _link(self, host: str) -> str:
        return f"v{ADDRESSES[host]}"  # the switch's end of the host's link, inside the switch's namespace

    def create_network(self, hosts=tuple(ADDRESSES)) -> None:
        remove_stale_namespaces()
        switch = self.namespace("switch")
        _ip("netns", "add", switch)
        self.hosts.append("switch")
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        for host in hosts:
            namespace = self.namespace(host)
            _ip("netns", "add", namespace)
            self.hosts.append(host)
            link = self._link(host)
            _ip("-n", switch, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            _ip("-n", switch, "link", "set", link, "master", "br0", "up")
            _ip("-n", namespace, "addr", "add", f"{address(host)}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")
            _ip("-n", namespace, "link", "set", "lo", "up")

    def cut(self, host: str) -> None:
        """The host's link goes down: it reaches nobody, and nobody reaches it."""
        _ip("-n", self.namespace("switch"), "link", "set", self._link(host), "down")

    def restore(self, host: str) -> None:
        _ip("-n", self.namespace("switch"), "link", "set", self._link(host), "up")

    @contextlib.contextmanager
    def inside(self, host: str):
        """Run the calling thread (and the threads it starts meanwhile) in ``host``'s network."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.namespace(host)}", os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {host}")
            try:
                yield
            finally:
                if _libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(own)
            os.close(target)

    def run(self, host: str, argv: list[str], *, env=None, timeout: float = 300, check: bool = True):
        """A command on ``host``, to its end."""
        done = subprocess.run(
            [IP, "netns", "exec", self.namespace(host), *argv],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode:
            raise RuntimeError(f"{argv[0]} on {host} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def spawn(self, name: str, host: str, argv: list[str], *, env=None) -> ManagedProcess:
        """A long-running process on ``host``, logged to ``<root>/<name>.log``, stopped by ``stop()``."""
        process = ManagedProcess(
            [IP, "netns", "exec", self.namespace(host), *argv], log_path=self.root / f"{name}.log", env=env
        )
        self.processes[name] = process
        return process

    # ------------------------------------------------------------------ the database host

    def _as_postgres(self, *argv: str, host: str | None = None, timeout: float = START_TIMEOUT):
        prefix = [IP, "netns", "exec", self.namespace(host)] if host else []
        return subprocess.run(
            [*prefix, RUNUSER, "-u", "postgres", "--", *argv],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start_database(self) -> None:
        for path in (self.pg_data, self.pg_socket):
            path.mkdir(mode=0o700)
            shutil.chown(path, user="postgres", group="postgres")
        done = self._as_postgres(*initdb_command(self.pg_bin, self.pg_data))
        if done.returncode:
            raise RuntimeError(f"initdb: {done.stdout}\n{done.stderr}")
        with open(self.pg_data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host all all {SUBNET}.0/24 scram-sha-256\n")
        self.start_postgres()
        done = self._as_postgres(
            str(self.pg_bin / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.pg_socket),
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-c",
            f"CREATE ROLE gstp LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'",
            "-c",
            "CREATE DATABASE gstp OWNER gstp",
        )
        if done.returncode:
            raise RuntimeError(f"psql: {done.stderr}")
        self.spawn(
            "redis",
            "db",
            [
                system_tool("redis-server"),
                "--bind",
                address("db"),
                "--port",
                str(REDIS_PORT),
                "--protected-mode",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )

    def start_postgres(self) -> None:
        options = (
            f"-c listen_addresses={address('db')} -p {PG_PORT} -k {self.pg_socket}"
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        done = self._as_postgres(
            str(self.pg_bin / "pg_ctl"),
            "-D",
            str(self.pg_data),
            "-l",
            str(self.pg_socket / "postgres.log"),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            options,
            "start",
            host="db",
        )
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not start: {done.stdout}\n{done.stderr}")

    def stop_postgres(self, mode: str = "fast") -> None:
        done = self._as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w", "stop")
        if done.returncode:
            raise RuntimeError(f"pg_ctl stop: {done.stdout}\n{done.stderr}")

    @property
    def database_url(self) -> str:
        return f"postgres://gstp:{DB_PASSWORD}@{address('db')}:{PG_PORT}/gstp"

    @property
    def redis_url(self) -> str:
        return f"redis://{address('db')}:{REDIS_PORT}/0"

    def connect(self) -> psycopg.Connection:
        """A connection to the cluster's database, from the client host."""
        with self.inside("client"):
            return psycopg.connect(self.connection_info, autocommit=True)

    @property
    def connection_info(self) -> str:
        return f"host={address('db')} port={PG_PORT} dbname=gstp user=gstp password={DB_PASSWORD} connect_timeout=5"

    # ------------------------------------------------------------------ GSTP on the other hosts

    def environment(self, **extra: str) -> dict[str, str]:
        """The production environment of every GSTP host (docker-compose.yml's), pointed at the db host."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "gstp.settings",
            "DATABASE_URL": self.database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": ",".join(["localhost", address("lb"), *(address(host) for host in WEB_HOSTS)]),
            "SECURE_SSL_REDIRECT": "0",
            "GSTP_TRUSTED_PROXIES": "1",
            "GSTP_VAR_DIR": str(self.var_dir),
            "PYTHONUNBUFFERED": "1",
            "GSTP_LOG_FORMAT": "text",
            # Limits the load tests never reach, but exports': ``EXPORTS_PER_MINUTE`` a minute per caller.
            **dict.fromkeys(HIGH_RATE_SETTINGS, "1000000/minute"),
            "GSTP_THROTTLE_EXPORT_RATE": f"{EXPORTS_PER_MINUTE}/minute",
            **extra,
        }
        for name in ("CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL", "GSTP_REQUIRE_POSTGRES"):
            env.pop(name, None)
        return env

    def prepare_data(self, subprojects: int) -> dict:
        """Migrate the cluster's database and load a lead with an API key and ``subprojects`` to report on."""
        output = self.root / "data.json"
        argv = [str(PYTHON), "-m", "tests.faults.live_data", "--migrate", "--subprojects", str(subprojects)]
        self.run("client", [*argv, "--output", str(output)], env=self.environment())
        return json.loads(output.read_text(encoding="utf-8"))

    def start_web(self, host: str, *, workers: int = 2, **env: str) -> ManagedProcess:
        argv = [
            str(GUNICORN),
            "gstp.wsgi:application",
            "--config",
            "python:gstp.gunicorn_conf",
            "--bind",
            f"{address(host)}:{WEB_PORT}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
        ]
        return self.spawn(host, host, argv, env=self.environment(**env))

    def start_proxy(self) -> ManagedProcess:
        config = self.root / "haproxy.cfg"
        config.write_text(proxy_config(), encoding="utf-8")
        self.run("lb", [HAPROXY, "-c", "-f", str(config)])
        return self.spawn("haproxy", "lb", [HAPROXY, "-db", "-f", str(config)])

    def start_worker(self, host: str, *, cpu: int | None = None, concurrency: int = 1, **env: str) -> ManagedProcess:
        argv = [str(CELERY), "-A", "gstp", "worker", "--loglevel", "INFO", "--hostname", f"{host}@cluster"]
        argv += ["--pool", "prefork", "--concurrency", str(concurrency), "--without-mingle", "--without-gossip"]
        if cpu is not None:
            argv = [TASKSET, "-c", str(cpu), *argv]
        return self.spawn(host, host, argv, env=self.environment(**env))

    def wait_worker_ready(self, host: str, timeout: float = START_TIMEOUT) -> None:
        process = self.processes[host]

        def ready():
            if not process.running():
                raise RuntimeError(f"the worker on {host} exited:\n{process.log_tail()}")
            return " ready." in process.log()

        wait_until(ready, timeout=timeout, interval=0.2, what=f"the worker on {host} ready")

    def start_beat(self, host: str = "beat", **env: str) -> ManagedProcess:
        argv = [str(CELERY), "-A", "gstp", "beat", "--loglevel", "INFO"]
        argv += ["--schedule", str(self.root / f"{host}-schedule")]
        return self.spawn(host, host, argv, env=self.environment(**env))

    def url(self, host: str = "lb", path: str = "/") -> str:
        return f"http://{address(host)}:{WEB_PORT}{path}"

    def wait_ready(self, host: str = "lb", path: str = "/healthz/", timeout: float = START_TIMEOUT) -> None:
        def answers():
            for name, process in self.processes.items():
                if not process.running():
                    raise RuntimeError(f"{name} exited:\n{process.log_tail()}")
            try:
                with urllib.request.urlopen(self.url(host, path), timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        with self.inside("client"):
            wait_until(answers, timeout=timeout, interval=0.2, what=f"{path} on {host}")

    def wait_proxy_sees(self, up: set[str], timeout: float = 30) -> None:
        """Wait until HAProxy's checks count exactly ``up`` among the web hosts as up."""

        def state():
            with self.inside("client"):
                try:
                    with urllib.request.urlopen(self.url("lb", "/haproxy-stats;csv"), timeout=2) as response:
                        rows = response.read().decode().splitlines()
                except (urllib.error.URLError, OSError):
                    return False
            servers = [row.split(",") for row in rows if row.startswith("web,") and ",BACKEND," not in row]
            seen = {fields[1] for fields in servers if fields[17].startswith("UP")}
            return seen == up

        wait_until(state, timeout=timeout, interval=0.2, what=f"HAProxy seeing {sorted(up)} up")

    # ------------------------------------------------------------------ the end

    def stop(self) -> None:
        """Kill every process, stop PostgreSQL, delete every namespace and the cluster's directory. Never raises."""
        for process in reversed(list(self.processes.values())):
            with contextlib.suppress(Exception):
                process.kill()
        if (self.pg_data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop_postgres(mode="immediate")
        for host in reversed(self.hosts):
            namespace = self.namespace(host)
            _kill_processes_in(namespace)
            subprocess.run([IP, "netns", "del", namespace], capture_output=True)
        self.hosts.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def proxy_config() -> str:
    """deploy/haproxy.cfg, with the cluster's web hosts as fixed servers instead of Docker's DNS, checked every
    second, answering its statistics (for ``wait_proxy_sees``) and naming the server in each answer. A request
    a host took and never answered is sent to the other after 15 s rather than production's 60 (no export runs
    here), so the tests need not wait a minute for one."""
    text = (REPO_ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    text = re.sub(r"\n# Docker's embedded DNS.*\nresolvers docker\n(?:[ \t]+.*\n)+", "\n", text)
    text = text.replace(" resolvers docker init-addr none", "")
    text = re.sub(r"check inter \S+", "check inter 1s", text)
    text = text.replace(
        "bind :8000", f"bind {address('lb')}:{WEB_PORT}\n    stats enable\n    stats uri /haproxy-stats"
    )
    servers = "\n".join(f"    server {host} {address(host)}:{WEB_PORT}" for host in WEB_HOSTS)
    text = re.sub(r"    server-template .*", servers + "\n    http-response set-header X-Served-By %s", text)
    text = text.replace("log stdout format raw local0 info", "log stdout format raw local0 notice")
    text = text.replace("timeout server 60s", "timeout server 15s")
    assert "server-template" not in text and "resolvers" not in text, text
    return text


class Stopwatch:
    """Seconds since it was made."""

    def __init__(self):
        self.started = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.started


def thread_inside(cluster: Cluster, host: str, target, *args) -> threading.Thread:
    """A daemon thread running ``target(*args)`` in ``host``'s network."""

    def run():
        with cluster.inside(host):
            target(*args)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
