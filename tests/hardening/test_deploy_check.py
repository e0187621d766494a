"""``manage.py check --deploy --fail-level WARNING`` with the production environment, in a fresh
interpreter each time since settings are read once per process."""

import os
import subprocess
import sys

import pytest

from tests.test_settings import PRODUCTION, REPO_ROOT, SETTINGS_VARIABLES


def check_deploy(tmp_path, **environment):
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env["GSTP_VAR_DIR"] = str(tmp_path / "var")
    env.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_configuration_passes_the_deployment_checks(tmp_path):
    completed = check_deploy(tmp_path, **PRODUCTION)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_the_compose_file_environment_passes_the_deployment_checks(tmp_path):
    # The variables docker-compose.yml sets, with the values its defaults give.
    completed = check_deploy(
        tmp_path,
        **PRODUCTION,
        DATABASE_CONN_MAX_AGE="60",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        CSRF_TRUSTED_ORIGINS="https://gstp.example.gov.tw",
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    ("weakening", "check_id"),
    [
        pytest.param({"SECURE_HSTS_SECONDS": "0"}, "security.W004", id="no-hsts"),
        pytest.param({"SECURE_SSL_REDIRECT": "0"}, "security.W008", id="no-https-redirect"),
        pytest.param({"SECURE_HSTS_INCLUDE_SUBDOMAINS": "0"}, "security.W005", id="hsts-without-subdomains"),
        pytest.param({"SECURE_HSTS_PRELOAD": "0"}, "security.W021", id="hsts-without-preload"),
        pytest.param({"DEBUG": "1"}, "security.W018", id="debug-on"),
    ],
)
def test_a_weakened_production_configuration_fails_the_deployment_checks(tmp_path, weakening, check_id):
    completed = check_deploy(tmp_path, **{**PRODUCTION, **weakening})

    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert check_id in completed.stderr
