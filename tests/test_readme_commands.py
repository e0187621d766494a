"""The README's two commands, `make run` and `make test`, work on a fresh clone.

These tests clone the committed HEAD of this repository into a temporary
directory (uncommitted work is deliberately not part of the check) and run
the commands there, with an environment cleaned of every GSTP, database,
broker and pytest setting, as on a fresh machine. The clone's `.venv` is made
by the Makefile itself; pip may use its cache but needs PyPI.

They take about a minute with a warm pip cache (longer cold):
`pytest -m slow tests/test_readme_commands.py`.
"""

import datetime
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"

RUN_START_TIMEOUT = 240  # `make run` until /healthz/ answers, pip install included
CELERY_LOG_TIMEOUT = 60  # then until the worker and beat have said they started
TEST_TIMEOUT = 900  # `make test`, pip install included
STOP_TIMEOUT = 20  # SIGTERM to SIGKILL

# Settings that would point the clone at something other than its own defaults.
CLEARED_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "GSTP_VAR_DIR",
    "GSTP_REQUIRE_POSTGRES",
    "DJANGO_SETTINGS_MODULE",
    "VIRTUAL_ENV",
    "PYTEST_ADDOPTS",
    # When this suite itself runs under `make test`: the clone's make is a fresh one.
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
}

EXPECTED_GROUPS = {"數位基盤分組", "數位創新分組", "數位治理分組", "數位包容分組"}

# Talk to the local server directly, whatever http_proxy says.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def readme_code_blocks(text: str) -> list[str]:
    """The contents of the README's fenced code blocks, in order."""
    return [match.group(1) for match in re.finditer(r"^```[^\n]*\n(.*?)^```[ \t]*$", text, re.M | re.S)]


def test_readme_opens_with_make_run_and_make_test():
    blocks = readme_code_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2, "README.md should open with two fenced code blocks"
    assert [block.strip() for block in blocks[:2]] == ["make run", "make test"]


# --- fixtures -----------------------------------------------------------------


def clean_environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in CLEARED_VARIABLES and not name.startswith("PYTEST_")
    }
    # An activated virtualenv (this repository's own) must not stand in for the clone's.
    own_venv = str(REPO_ROOT / ".venv")
    env["PATH"] = os.pathsep.join(
        entry for entry in env.get("PATH", os.defpath).split(os.pathsep) if not entry.startswith(own_venv)
    )
    return env


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    """A `git clone` of the committed HEAD in a temporary directory, and a clean environment."""
    missing = [tool for tool in ("git", "make") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the README's commands need {' and '.join(missing)}, which is not installed")
    clone = tmp_path_factory.mktemp("fresh") / "gstp"
    env = clean_environment()
    result = subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(clone)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"git clone failed:\n{result.stderr}"
    assert not (clone / ".venv").exists() and not (clone / "var").exists()
    return clone, env


def log_tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


# --- process teardown ---------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a running process, from /proc; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited already
        return None
    return int(fields[1]), fields[19]


def descendants(root: int) -> set[tuple[int, str]]:
    """Every live process below `root`, as (pid, start time).

    Honcho starts each Procfile process in a session of its own, so killing
    the process group of `make run` alone would leave them running.
    """
    if not Path("/proc").is_dir():
        return set()
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat:
                children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def _alive(process: tuple[int, str]) -> bool:
    stat = _proc_stat(process[0])
    return stat is not None and stat[1] == process[1]


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_process_tree(popen: subprocess.Popen) -> None:
    """SIGTERM the process group (and the sessions honcho made), SIGKILL what is left after a while."""
    tree = descendants(popen.pid)
    _signal_group(popen.pid, signal.SIGTERM)
    for pid, _ in tree:
        _signal_group(pid, signal.SIGTERM)  # each honcho child leads its own group
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        tree |= descendants(popen.pid)
        if popen.poll() is not None and not any(_alive(process) for process in tree):
            break
        time.sleep(0.2)
    _signal_group(popen.pid, signal.SIGKILL)
    for process in tree:
        if _alive(process):
            _signal_group(process[0], signal.SIGKILL)
            try:
                os.kill(process[0], signal.SIGKILL)
            except ProcessLookupError:
                pass
    popen.wait(timeout=10)


# --- make run -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with _http.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def issue_token(clone: Path, env: dict[str, str], username: str) -> str:
    """The README's way to get a token."""
    result = subprocess.run(
        [".venv/bin/python", "manage.py", "issue_token", username],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"issue_token failed:\n{result.stdout}\n{result.stderr}"
    token = result.stdout.strip().splitlines()[-1].strip()
    assert re.fullmatch(r"[0-9a-f]{40}", token), f"unexpected token output: {result.stdout!r}"
    return token


def test_make_run_serves_the_demo_data_with_a_worker_and_beat(fresh_clone, request):
    clone, env = fresh_clone
    port = free_port()
    log_path = clone.parent / "make-run.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    request.addfinalizer(lambda: stop_process_tree(popen))
    base = f"http://127.0.0.1:{port}"

    # 1. The web server comes up (after the venv, migrations and seed_demo).
    while True:
        if popen.poll() is not None:
            pytest.fail(f"`make run` exited with {popen.returncode} before serving:\n{log_tail(log_path)}")
        try:
            status, _ = http_get(f"{base}/healthz/", timeout=2)
        except (urllib.error.URLError, OSError):
            status = None
        if status == 200:
            break
        if time.monotonic() - started > RUN_START_TIMEOUT:
            pytest.fail(
                f"{base}/healthz/ did not answer 200 within {RUN_START_TIMEOUT}s "
                f"(last status {status}):\n{log_tail(log_path)}"
            )
        time.sleep(1)
    print(f"`make run` served /healthz/ after {time.monotonic() - started:.0f}s")

    # 2. The README's way to get a token, then the demo data through the API.
    token = issue_token(clone, env, "portal")

    status, body = http_get(f"{base}/api/v1/projects/?kind=group", token)
    assert status == 200, body[:2000]
    page = json.loads(body)
    assert page["count"] == 4, page
    assert {group["title"] for group in page["results"]} == EXPECTED_GROUPS
    assert all(group["kind"] == "group" for group in page["results"])

    status, body = http_get(f"{base}/api/v1/plans/", token)
    assert status == 200, body[:2000]
    plans = json.loads(body)["results"]
    assert [(plan["name"], plan["start_year"]) for plan in plans] == [("智慧國家方案", 2021)]
    # the demo's sub-projects run past today, and the plan's years with them
    today = datetime.datetime.now(ZoneInfo("Asia/Taipei")).date()
    assert plans[0]["end_year"] >= max(2025, today.year)

    # and a lead has the current quarter to file
    status, body = http_get(f"{base}/api/v1/reports/owed/", issue_token(clone, env, "moda-lead"))
    assert status == 200, body[:2000]
    current = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    assert any(item["period"] == current and item["status"] == "missing" for item in json.loads(body)), body[:2000]

    # 3. The Celery worker and beat started next to it.
    deadline = time.monotonic() + CELERY_LOG_TIMEOUT
    while True:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        worker_ready = re.search(r"celery@\S+ ready", text) is not None
        beat_started = "beat: Starting..." in text
        # beat sends from the database's schedule (the migration's rows; no schedule is written in code)
        beat_sends = "beat lock taken" in text and "Sending due task relay-outbox (reviews.relay_outbox)" in text
        if worker_ready and beat_started and beat_sends:
            break
        if popen.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"worker ready: {worker_ready}, beat started: {beat_started}, beat sends: {beat_sends} "
                f"(make run {'exited with ' + str(popen.returncode) if popen.poll() is not None else 'running'})"
                f":\n{log_tail(log_path)}"
            )
        time.sleep(1)
    assert popen.poll() is None, f"`make run` stopped:\n{log_tail(log_path)}"


# --- make test ----------------------------------------------------------------


# What the clone's `make test` runs: the command itself (a new virtualenv, the pinned requirements, the
# pytest settings, migrations on the embedded SQLite, servers that are absent skipped) is what is checked
# here, on one module of each app; the whole suite is what runs this module, so it is not run twice.
SAMPLE = [
    "tests/test_settings.py",
    "tests/accounts",
    "tests/projects/test_outline_measures.py",
    "tests/indicators",
    "tests/reviews/test_report_lifecycle.py",
    "tests/reviews/test_broker_faults.py",
    "tests/console/test_pages.py",
]


def test_make_test_passes(fresh_clone, request):
    clone, env = fresh_clone
    env = dict(env)
    # Not this module again (it would recurse), and stop at the first failure.
    env["PYTEST_ADDOPTS"] = shlex.join(["-m", "not slow", "-x", "-q", "-p", "no:cacheprovider", *SAMPLE])
    started = time.monotonic()
    popen = subprocess.Popen(
        ["make", "test"],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    request.addfinalizer(lambda: stop_process_tree(popen))
    try:
        output, _ = popen.communicate(timeout=TEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_process_tree(popen)
        output, _ = popen.communicate()
        pytest.fail(f"`make test` did not finish within {TEST_TIMEOUT}s:\n" + "\n".join(output.splitlines()[-60:]))
    print(f"`make test` took {time.monotonic() - started:.0f}s")
    tail = "\n".join(output.splitlines()[-60:])
    assert popen.returncode == 0, f"`make test` exited with {popen.returncode}:\n{tail}"
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "`make test` printed nothing"
    summary = lines[-1]
    assert "passed" in summary, tail
    assert "failed" not in summary and "error" not in summary, tail
