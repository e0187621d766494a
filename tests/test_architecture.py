"""The code's shape: access written once per app, apps that depend one way.

- No module but an app's ``access.py`` compares a user's role, or narrows rows by role: the source is
  walked (AST) for ``x.role == ...``, ``x.role in ...``, ``getattr(x, "role") ...``, a comparison with a
  ``Role`` member, and ``role=Role...`` / ``role__in=...`` in a query.
- ``lint-imports`` keeps the contracts in ``.importlinter``.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "projects", "indicators", "reviews", "console", "gstp")
ACCESS_MODULES = {f"{app}/access.py" for app in APPS}
# Where roles are defined, with the database's own check that a lead belongs to an agency.
ROLE_DEFINITION = "accounts/models.py"


def _is_role(node: ast.AST) -> bool:
    """``x.role`` (a user's, or any row's), ``getattr(x, "role", ...)`` or a ``Role.X`` member."""
    if isinstance(node, ast.Attribute):
        return node.attr == "role" or (isinstance(node.value, ast.Name) and node.value.id == "Role")
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and len(node.args) >= 2:
        return isinstance(node.args[1], ast.Constant) and node.args[1].value == "role"
    return False


def _mentions_role(node: ast.AST) -> bool:
    return any(_is_role(child) for child in ast.walk(node))


def _mentions_user_role_member(node: ast.AST) -> bool:
    return any(isinstance(child, ast.Name) and child.id == "Role" for child in ast.walk(node))


def role_checks(source: str, filename: str = "<source>") -> list[int]:
    """Line numbers of the role comparisons, lookups by role and queries by a user's role in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Match) and _is_role(node.subject):
            found.append(node.lineno)
        elif isinstance(node, ast.Subscript) and _is_role(node.slice):
            found.append(node.lineno)
        elif isinstance(node, ast.Compare) and any(
            _mentions_role(operand) for operand in (node.left, *node.comparators)
        ):
            found.append(node.lineno)
        elif isinstance(node, ast.Call):
            query = isinstance(node.func, ast.Attribute) and node.func.attr in ("filter", "exclude", "get")
            if query or getattr(node.func, "id", None) == "Q":
                found.extend(
                    node.lineno
                    for keyword in node.keywords
                    if keyword.arg in ("role", "role__in") and _mentions_user_role_member(keyword.value)
                )
    return found


def _app_sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, path


def test_the_check_finds_each_kind_of_role_comparison():
    # given: what the check must catch, and what it must let through
    caught = {
        "user.role == Role.LEAD": True,
        "request.user.role != Role.SECRETARIAT": True,
        "user.role in (Role.SECRETARIAT, Role.READER)": True,
        'getattr(user, "role", None) == "lead"': True,
        "Role.LEAD == role": True,
        "User.objects.filter(role=Role.SECRETARIAT)": True,
        "User.objects.exclude(role__in=[Role.LEAD])": True,
        "User.objects.filter(Q(role=Role.READER) | Q(is_staff=True))": True,
        "CAPABILITIES[user.role]": True,
        "match request.user.role:\n    case 'lead':\n        pass": True,
        "actor.role == role": True,
        "self.request.user.role == 'secretariat'": True,
        "link.role == AgencyRole.LEAD": True,
        "link.role == role": True,
        "NodeAgency.objects.filter(role=AgencyRole.LEAD)": False,
        "account_create_or_update(username=name, role=Role.LEAD)": False,
        "CHOICES[link.role]": True,
        "CHOICES[link.kind]": False,
        "user.agency_id == agency.pk": False,
    }
    for source, expected in caught.items():
        # when / then
        assert bool(role_checks(source)) is expected, source


def test_only_access_modules_compare_roles():
    offenders = []
    for relative, path in _app_sources():
        if relative in ACCESS_MODULES or relative == ROLE_DEFINITION:
            continue
        offenders.extend(f"{relative}:{line}" for line in role_checks(path.read_text(encoding="utf-8"), relative))
    assert offenders == [], "role comparisons outside the access modules: " + ", ".join(offenders)


def test_every_app_with_models_has_its_access_module():
    for app in ("accounts", "projects", "indicators", "reviews"):
        assert (ROOT / app / "access.py").is_file(), app


def test_templates_do_not_compare_roles():
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(ROOT.rglob("*.html"))
        if ".venv" not in path.parts and "user.role" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_apps_depend_one_way():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.fail("lint-imports is not installed: pip install -r requirements-dev.txt")
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
