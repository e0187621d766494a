"""``manage.py check --deploy --fail-level WARNING`` with the production environment, in a fresh
interpreter each time since settings are read once per process."""

import pytest

from tests.test_settings import PRODUCTION, run_fresh


def check_deploy(tmp_path, **environment):
    return run_fresh(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING", timeout=120, **environment)


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
