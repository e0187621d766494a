"""The published schema lints clean with Redocly's recommended rules (``redocly.yaml`` says which are off, and
why), in both languages. The linter is the version pinned in ``package-lock.json``; ``npm ci`` installs it
(``.ci/run`` does, where Node.js is installed)."""

import json
import os
import shutil
import subprocess

import pytest
from django.core.management import call_command

from tests.conftest import REPO_ROOT

REDOCLY = REPO_ROOT / "node_modules" / ".bin" / "redocly"


@pytest.fixture
def redocly():
    if not REDOCLY.exists() or shutil.which("node") is None:
        pytest.skip("the OpenAPI linter is not installed: run `npm ci` (Node.js 20.19+ or 22.12+)")
    return REDOCLY


def lint(redocly, *paths):
    environment = {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_NOTIFICATIONS": "true",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    }
    linted = subprocess.run(
        [str(redocly), "lint", "--config", str(REPO_ROOT / "redocly.yaml"), "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=environment,
        timeout=120,
        check=False,
    )
    # One JSON document per file linted: their problems together.
    decoder, text, results = json.JSONDecoder(), linted.stdout.strip(), []
    while text:
        result, end = decoder.raw_decode(text)
        results.append(result)
        text = text[end:].lstrip()
    assert len(results) == len(paths), linted.stdout + linted.stderr
    return [problem for result in results for problem in result["problems"]]


def test_the_schema_lints_clean_in_both_languages(redocly, tmp_path):
    # The schema as `manage.py spectacular --file` writes it; a warning of drf-spectacular fails the dump.
    for language in ("zh-hant", "en"):
        call_command("spectacular", file=str(tmp_path / f"{language}.yaml"), lang=language, fail_on_warn=True)

    problems = lint(redocly, tmp_path / "zh-hant.yaml", tmp_path / "en.yaml")

    assert [f"{p['severity']} {p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}" for p in problems] == []


def test_the_linter_finds_what_it_should(redocly, tmp_path):
    # The check above is not vacuous: a nullable reference without a type, an example that does not match its
    # schema and a missing license are each reported.
    call_command("spectacular", file=str(tmp_path / "schema.json"), format="openapi-json")
    schema = json.loads((tmp_path / "schema.json").read_text())
    del schema["info"]["license"]
    schema["components"]["schemas"]["Project"]["properties"]["convening_agency"] = {
        "allOf": [{"$ref": "#/components/schemas/AgencyRef"}],
        "nullable": True,
    }
    schema["components"]["schemas"]["Plan"]["example"]["start_year"] = "2021"
    (tmp_path / "broken.json").write_text(json.dumps(schema))

    problems = lint(redocly, tmp_path / "broken.json")

    assert {problem["ruleId"] for problem in problems} >= {
        "info-license",
        "nullable-type-sibling",
        "no-invalid-schema-examples",
    }
