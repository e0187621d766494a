"""The deployment files: docker-compose.yml, Dockerfile and .ci/run.

There is no Docker engine where the tests run, so these tests read the files:
the compose file with PyYAML, gstp/settings.py with ``ast`` (to learn which
environment variables it reads), the Dockerfile and the CI script as text.
The image's command and the compose file's environment are also run outside
Docker: gunicorn on 127.0.0.1, and ``manage.py check --deploy``. No database
server is needed.
"""

import ast
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.support.processes import ManagedProcess, free_port, system_tool, wait_until

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS_FILE = ROOT / "gstp" / "settings.py"
CI_SCRIPT = ROOT / ".ci" / "run"
MAKEFILE = ROOT / "Makefile"

SERVICES = ("web", "worker", "beat", "postgres", "redis")
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_APP_ENV = ("DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")
BROKER_ENV = ("REDIS_URL", "CELERY_BROKER_URL")

# Functions in settings.py whose first argument names an environment variable.
ENV_READERS = {"os.environ.get", "os.getenv", "environ.get", "getenv", "env_bool", "env_list", "env_int"}


# --- helpers -------------------------------------------------------------------------------------


def settings_env_vars() -> set[str]:
    """Names of the environment variables gstp/settings.py reads."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ENV_READERS:
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in {"os.environ", "environ"}:
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                names.add(node.slice.value)
    return names


def service_env(service: dict) -> dict[str, str | None]:
    """A service's `environment`, whether written as a mapping or as a list."""
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return {str(key): None if value is None else str(value) for key, value in environment.items()}
    result = {}
    for item in environment:
        key, sep, value = str(item).partition("=")
        result[key] = value if sep else None
    return result


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    instructions = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


# --- docker-compose.yml --------------------------------------------------------------------------


def test_compose_defines_the_five_services(services):
    assert set(SERVICES) <= set(services), f"missing: {sorted(set(SERVICES) - set(services))}"


# Ids like "postgres-service", not "postgres": a bare "postgres"/"redis" id is also a pytest keyword,
# which tests/conftest.py would take for the postgres/redis marker and skip.
@pytest.mark.parametrize("name", SERVICES, ids=lambda name: f"{name}-service")
def test_service_has_a_healthcheck_with_a_test_command(services, name):
    healthcheck = services[name].get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name} has no healthcheck"
    assert not healthcheck.get("disable"), f"{name}'s healthcheck is disabled"
    test = healthcheck.get("test")
    assert test, f"{name}'s healthcheck has no test"
    if isinstance(test, list):
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck test must start with CMD or CMD-SHELL"
        assert len(test) > 1 and all(str(part).strip() for part in test[1:]), f"{name}: empty healthcheck command"
    else:
        assert str(test).strip()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("web", ["/readyz/", "8000"], id="web-service"),
        pytest.param("worker", ["celery", "-A gstp", "inspect ping"], id="worker-service"),
        pytest.param("beat", ["beat"], id="beat-service"),
        pytest.param("postgres", ["pg_isready"], id="postgres-service"),
        pytest.param("redis", ["redis-cli", "ping"], id="redis-service"),
    ],
)
def test_healthcheck_checks_the_right_thing(services, name, expected):
    command = healthcheck_command(services[name])
    for fragment in expected:
        assert fragment in command, f"{name}'s healthcheck should mention {fragment!r}: {command!r}"


def test_beat_runs_exactly_one_replica(services):
    beat = services["beat"]
    deploy = beat.get("deploy") or {}
    assert int(deploy.get("replicas", 1)) <= 1, "beat must not be replicated: periodic tasks would run twice"
    assert deploy.get("mode", "replicated") != "global"
    assert int(beat.get("scale", 1)) <= 1


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_healthy_postgres_and_redis(services, name):
    depends_on = services[name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on must be the long form with conditions"
    for dependency in ("postgres", "redis"):
        assert dependency in depends_on, f"{name} does not depend on {dependency}"
        assert (depends_on[dependency] or {}).get("condition") == "service_healthy", (
            f"{name} must wait for {dependency} to be healthy"
        )


def test_settings_scan_finds_the_known_variables():
    # Guards the scan itself: if it found nothing, the next test would pass vacuously.
    assert {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= (
        settings_env_vars()
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_sets_only_variables_settings_reads(services, name):
    unknown = set(service_env(services[name])) - settings_env_vars()
    assert not unknown, f"{name} sets variables gstp/settings.py never reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_sets_every_variable_production_needs(services, name):
    env = service_env(services[name])
    for variable in REQUIRED_APP_ENV:
        assert env.get(variable), f"{name} does not set {variable}"
    assert any(env.get(variable) for variable in BROKER_ENV), f"{name} sets neither {' nor '.join(BROKER_ENV)}"

    assert env["DEBUG"].strip().lower() in {"0", "false", "no", "off"}, "production runs with DEBUG off"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "SECRET_KEY must come from ${SECRET_KEY:?...}"
    assert re.match(r"postgres(ql)?://[^@]+@postgres[:/]", env["DATABASE_URL"]), env["DATABASE_URL"]
    for variable in BROKER_ENV:
        if env.get(variable):
            assert env[variable].startswith("redis://redis:"), f"{name}: {variable} should point at the redis service"


def test_app_services_share_one_environment(services):
    environments = {name: service_env(services[name]) for name in APP_SERVICES}
    assert environments["worker"] == environments["web"]
    assert environments["beat"] == environments["web"]


def test_one_off_services_using_the_app_image_use_the_same_environment(services):
    # e.g. a `migrate` service: it must talk to the same database.
    web_env = service_env(services["web"])
    for name, service in services.items():
        if name not in APP_SERVICES and "build" in service:
            assert service_env(service) == web_env, f"{name} runs GSTP with a different environment"


def test_images(services):
    assert str(services["postgres"]["image"]).startswith("postgres:16")
    assert str(services["redis"]["image"]).startswith("redis:7")
    assert "build" in services["web"], "web is built from the repository's Dockerfile"


def test_postgres_and_redis_keep_their_data_in_volumes(compose, services):
    for name in ("postgres", "redis"):
        volumes = services[name].get("volumes") or []
        named = [str(v).split(":")[0] for v in volumes if not str(v).startswith((".", "/"))]
        assert named, f"{name} should keep its data in a named volume"
        assert set(named) <= set(compose.get("volumes") or {})


def test_a_proxy_balances_two_web_replicas_checked_on_readyz(services):
    assert int((services["web"].get("deploy") or {}).get("replicas", 1)) == 2
    assert not services["web"].get("ports"), "web is reached through the proxy only"
    proxy = services["proxy"]
    assert str(proxy["image"]).startswith("haproxy:")
    assert [str(port).split(":")[-1] for port in proxy["ports"]] == ["8000"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    mounted = {str(volume).split(":")[0] for volume in proxy["volumes"]}
    assert "./deploy/haproxy.cfg" in mounted
    config = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    assert re.search(r"^\s*server-template web \d+ web:8000$", config, re.M)
    assert "uri /readyz/" in config and "expect status 200" in config


@pytest.mark.skipif(system_tool("haproxy") is None, reason="HAProxy is not installed (.ci/run installs it)")
def test_the_proxys_configuration_is_valid():
    result = subprocess.run(
        [system_tool("haproxy"), "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


UNAVAILABLE = {
    "en": "The service is unavailable for a moment; retry in a few seconds.",
    "zh-hant": "服務暫時無法使用，請於數秒後再試。",
}


def proxy_config_with_replicas(port: int, servers: list[str]) -> str:
    """deploy/haproxy.cfg listening on 127.0.0.1:``port`` with ``servers`` in place of Docker's replicas."""
    config = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    config = re.sub(r"(?ms)^resolvers docker\n.*?(?=^frontend )", "", config)
    config = config.replace(" resolvers docker init-addr none", "").replace("bind :8000", f"bind 127.0.0.1:{port}")
    return re.sub(r"(?m)^\s*server-template .*$", "\n".join(f"    {server}" for server in servers), config)


@pytest.mark.skipif(system_tool("haproxy") is None, reason="HAProxy is not installed (.ci/run installs it)")
@pytest.mark.parametrize(
    "servers",
    [
        # a replica the proxy believes up, whose every connection is refused: the retries run out
        ["server web1 127.0.0.1:{closed} no-check"],
        # no replica ready at all
        ["server web1 127.0.0.1:{closed} check inter 200ms fall 1"],
    ],
    ids=["retries-run-out", "none-ready"],
)
def test_every_503_the_proxy_makes_is_gstps_json_in_the_clients_language(tmp_path, servers):
    port, closed = free_port(), free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(proxy_config_with_replicas(port, [s.format(closed=closed) for s in servers]), encoding="utf-8")
    proxy = ManagedProcess([system_tool("haproxy"), "-db", "-f", str(config)], log_path=tmp_path / "haproxy.log")
    try:
        time.sleep(0.6)  # past one failed check
        wait_until(lambda: try_connect(port), timeout=10, what="the proxy").close()
        # The first language the client names counts, as in GSTP (Django's LocaleMiddleware).
        requests = (("en", "POST"), ("zh-TW", "POST"), ("zh-Hant", "GET"), ("zh-TW, en;q=0.5", "GET"))
        with ThreadPoolExecutor(len(requests)) as pool:  # each waits out the proxy's retries, about 3 s
            answers = dict(
                zip(
                    (language for language, _ in requests),
                    pool.map(ask_proxy, [port] * len(requests), requests),
                    strict=True,
                )
            )
    finally:
        proxy.stop()
    for language, (status, headers, body) in answers.items():
        assert status == 503, proxy.log_tail()
        assert headers["content-type"] == "application/json" and headers["retry-after"] == "5"
        payload = json.loads(body)
        assert payload["code"] == "service_unavailable"
        expected_language = "en" if language == "en" else "zh-hant"
        assert headers["content-language"] == expected_language, language
        assert payload["detail"] == UNAVAILABLE[expected_language], payload


def ask_proxy(port: int, request: tuple[str, str]):
    language, method = request
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        method,
        "/api/v1/reports/",
        body=b"{}" if method == "POST" else None,
        headers={"Accept-Language": language, "Idempotency-Key": f"key-{language}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    answer = (response.status, dict(response.getheaders()), response.read())
    connection.close()
    return answer


def try_connect(port: int):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.connect()
    except OSError:
        return None
    return connection


def test_web_serves_gstp_wsgi_with_gunicorn_on_port_8000(services):
    web = services["web"]
    command = web.get("command")
    if command:  # otherwise the image's CMD, checked below
        text = command if isinstance(command, str) else " ".join(command)
        assert "gunicorn" in text and "gstp.wsgi" in text
    published = [str(port).split(":")[-1].split("/")[0] for port in web.get("ports", []) + web.get("expose", [])]
    assert "8000" in published


@pytest.mark.parametrize(("name", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_run_the_gstp_app(services, name, subcommand):
    command = services[name]["command"]
    argv = command.split() if isinstance(command, str) else [str(part) for part in command]
    assert argv[:3] == ["celery", "-A", "gstp"], argv
    # celery's own options (--quiet) come before the subcommand
    first_word = next(arg for arg in argv[3:] if not arg.startswith("-"))
    assert first_word == subcommand, argv


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_services_print_no_banner(services, name):
    # The start-up banner is not a log line: without it, every line the service writes is JSON.
    command = services[name]["command"]
    argv = command.split() if isinstance(command, str) else [str(part) for part in command]
    assert "--quiet" in argv[: argv.index(name)] or "-q" in argv[: argv.index(name)], argv


# --- the production settings the compose file runs with ------------------------------------------


@pytest.fixture(scope="module")
def web_env(services) -> dict[str, str]:
    """web's environment with the compose file's own defaults filled in (${NAME:-default}), and the
    variables it requires (${NAME:?...}) given a production-like value."""
    required = {
        "SECRET_KEY": "k9#Qv2!xLr7$Wm4@Tz8^Bn3&Hd6*Jf1(Sg5)Pc0_Ye-Ua=Oi+E",
        "ALLOWED_HOSTS": "gstp.example.gov.tw",
        "POSTGRES_PASSWORD": "secret",
    }

    def expand(value: str) -> str:
        def substitute(match):
            name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
            if name in required:
                return required[name]
            return argument if operator == ":-" else ""

        return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", substitute, value)

    return {key: expand(value or "") for key, value in service_env(services["web"]).items()}


def test_web_runs_with_the_hardened_production_settings(web_env):
    assert web_env["DEBUG"] == "0"
    assert web_env["SECURE_SSL_REDIRECT"] == "1"
    assert int(web_env["SECURE_HSTS_SECONDS"]) >= 31536000
    assert web_env["SECURE_PROXY_SSL_HEADER"] == "X-Forwarded-Proto,https"
    assert web_env["CORS_ALLOWED_ORIGINS"] == ""  # closed unless the operator lists origins
    assert web_env["GSTP_API_DOCS_PUBLIC"] == "0"
    assert web_env["GSTP_LOG_FORMAT"] == "json"
    assert int(web_env["GSTP_LOGIN_FAILURE_LIMIT"]) > 0
    assert int(web_env["GSTP_TRUSTED_PROXIES"]) == 2  # the TLS proxy in front, then HAProxy
    assert int(web_env["DATA_UPLOAD_MAX_MEMORY_SIZE"]) == 1024 * 1024


def test_web_environment_passes_the_deployment_checks(web_env, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in settings_env_vars()}
    env.update(web_env)
    # No PostgreSQL or Redis here: the checks do not connect to them.
    env.update(GSTP_VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path))

    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


# --- Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_is_python_311_slim_and_installs_requirements():
    stage = final_stage(dockerfile_instructions())
    assert stage[0][1].split()[0] == "python:3.11-slim"
    runs = " ".join(arguments for keyword, arguments in stage if keyword == "RUN")
    assert re.search(r"pip install .*-r \S*requirements\.txt", runs)


def test_dockerfile_collects_static_files_with_a_build_time_secret_key():
    runs = [arguments for keyword, arguments in final_stage(dockerfile_instructions()) if keyword == "RUN"]
    collect = [run for run in runs if "collectstatic" in run]
    assert collect, "collectstatic must run at build time"
    assert "SECRET_KEY=" in collect[0]


def test_dockerfile_runs_as_a_non_root_user():
    users = [arguments for keyword, arguments in final_stage(dockerfile_instructions()) if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def dockerfile_cmd() -> list[str]:
    cmds = [arguments for keyword, arguments in final_stage(dockerfile_instructions()) if keyword == "CMD"]
    assert cmds, "no CMD"
    return json.loads(cmds[-1]) if cmds[-1].startswith("[") else cmds[-1].split()


def test_dockerfile_cmd_runs_gunicorn_gstp_wsgi():
    argv = dockerfile_cmd()
    assert argv[0] == "gunicorn"
    assert any(arg == "gstp.wsgi" or arg.startswith("gstp.wsgi:") for arg in argv[1:]), argv
    # gunicorn's own lines as JSON; no access log beside GSTP's own request log
    assert argv[argv.index("--config") + 1] == "python:gstp.gunicorn_conf"
    assert "--access-logfile" not in argv


def test_dockerfile_build_step_names_a_host():
    # With DEBUG off, settings refuse to start without ALLOWED_HOSTS, collectstatic included.
    runs = [arguments for keyword, arguments in final_stage(dockerfile_instructions()) if keyword == "RUN"]
    collect = next(run for run in runs if "collectstatic" in run)
    assert "ALLOWED_HOSTS=" in collect and "DEBUG=0" in collect


@pytest.mark.slow
def test_the_image_command_serves_the_probes_with_json_logs(tmp_path):
    """The Dockerfile's CMD, outside Docker: gunicorn with the production environment on a free port of
    127.0.0.1, probed over plain HTTP with an address as Host, as a load balancer does."""
    port = free_port()
    argv = dockerfile_cmd()
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"
    argv[0] = str(ROOT / ".venv" / "bin" / "gunicorn")
    env = {key: value for key, value in os.environ.items() if key not in settings_env_vars()}
    env.update(
        DEBUG="0",
        SECRET_KEY="k9#Qv2!xLr7$Wm4@Tz8^Bn3&Hd6*Jf1(Sg5)Pc0_Ye-Ua=Oi+E",
        ALLOWED_HOSTS="gstp.example.gov.tw",
        GSTP_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'gstp.sqlite3'}",
        CELERY_BROKER_URL="memory://",
    )
    server = ManagedProcess(argv, log_path=tmp_path / "gunicorn.log", env=env)

    def get(path, **headers):
        """(status, headers, body) without following redirects; status None while nothing listens."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        except OSError:
            return None, {}, b""
        finally:
            connection.close()

    try:
        wait_until(lambda: get("/healthz/")[0] == 200, timeout=60, what="gunicorn answering /healthz/")
        ready = get("/readyz/", **{"X-Request-ID": "lb-probe-1"})
        redirected = get("/api/v1/", Host="gstp.example.gov.tw")
        unknown_host = get("/api/v1/", Host="10.1.2.3", **{"X-Forwarded-Proto": "https"})
    finally:
        server.stop()

    assert ready[0] == 200, ready
    assert json.loads(ready[2]) == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert ready[1]["X-Request-ID"] == "lb-probe-1"
    assert redirected[0] == 301
    assert redirected[1]["Location"] == "https://gstp.example.gov.tw/api/v1/"
    assert unknown_host[0] == 400
    lines = server.log().splitlines()
    assert lines, "gunicorn wrote nothing"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(record["logger"] == "gunicorn.error" and "Booting worker" in record["message"] for record in records)
    probe = [r for r in records if r["logger"] == "gstp.request" and r.get("request_id") == "lb-probe-1"]
    assert probe and probe[0]["path"] == "/readyz/" and probe[0]["status"] == 200


# --- .ci/run -------------------------------------------------------------------------------------


def ci_script() -> str:
    return CI_SCRIPT.read_text(encoding="utf-8")


def test_ci_script_is_executable():
    assert CI_SCRIPT.is_file()
    assert os.access(CI_SCRIPT, os.X_OK), ".ci/run must be executable (chmod +x, mode 100755 in git)"
    assert ci_script().startswith("#!"), ".ci/run needs a shebang line"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_ci_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(CI_SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_ci_script_runs_the_readme_test_command():
    assert re.search(r"^(?!\s*#).*\bmake test\b", ci_script(), re.MULTILINE), ".ci/run must run `make test`"
    assert re.search(r"^test:", MAKEFILE.read_text(encoding="utf-8"), re.MULTILINE), "Makefile has no test target"


def test_ci_script_requires_postgres_and_points_at_its_servers():
    script = ci_script()
    assert re.search(r"^\s*export GSTP_REQUIRE_POSTGRES=1\s*$", script, re.MULTILINE)
    assert re.search(r"^\s*export DATABASE_URL=\"?postgres(ql)?://", script, re.MULTILINE)
    assert re.search(r"^\s*export REDIS_URL=\"?redis://127\.0\.0\.1:", script, re.MULTILINE)
    assert re.search(r"^\s*export CELERY_BROKER_URL=", script, re.MULTILINE)
    assert re.search(r"^\s*trap \S+ EXIT", script, re.MULTILINE), "servers must be stopped on exit"
