"""The console's pages and actions in the same role x object table as the API's endpoints.

Each console page or action that names an object is the twin of an API endpoint: the sub-project page of
``GET project-detail``, a report's page of ``GET report-detail``, the accept button of ``POST report-accept``.
Its expected answer is not written a second time: it is read from the API's row (``test_authorization``'s
matrix, or the quarterly-report matrix) and translated, so the two cannot drift: the console answers 404
where the API does, 403 where the API does, a page (200) or a redirect after the action (302) where the API
answers 2xx, and the sign-in page (302) where the API answers 401. A console route that names an object and
is in neither table fails ``test_every_console_page_is_classified``.

Then the leak scan of the API, on the console: no page a role can open shows another agency's private texts.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from reviews.models import FlagComment, LagFlag, QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.reviews import test_report_permissions as report_matrix
from tests.reviews.factories import report_in_status

from .conftest import IN_SCOPE, ROLES
from .test_authorization import MATRIX
from .world import OWNERS, PRIVATE_VALUE, private_markers

pytestmark = pytest.mark.postgres

# console route (and which object, after "@") -> (the API row it mirrors, GET page or POST action)
TWINS = {
    "subproject": ("GET project-detail", "GET"),
    "plan": ("GET plan-detail", "GET"),
    "flag-acknowledge": ("POST flag-acknowledge", "POST"),
    "flag-resolve": ("POST flag-resolve", "POST"),
    "flag-comment": ("POST flag-comment", "POST"),
    "report@draft": (("detail", ReportStatus.DRAFT), "GET"),
    "report@submitted": (("detail", ReportStatus.SUBMITTED), "GET"),
    "report@accepted": (("detail", ReportStatus.ACCEPTED), "GET"),
    "report-accept@submitted": (("accept", ReportStatus.SUBMITTED), "POST"),
    "report-return@submitted": (("return", ReportStatus.SUBMITTED), "POST"),
    "report-new": (("create", "-"), "GET"),
}
BODIES = {
    "flag-resolve": {"resolve-{pk}-reason": "已改善"},
    "flag-comment": {"comment-{pk}-body": "請補充改善措施", "comment-{pk}-kind": "comment"},
    "report-return": {"return-{pk}-reason": "請補充預算執行說明"},
}
REPORT_ROWS = {tuple(cell.values[:4]): cell.values[4] for cell in report_matrix.CELLS}


def _api_expected(twin, role, owner):
    if isinstance(twin, tuple):  # a row of the quarterly-report matrix, which has no API-key column
        return REPORT_ROWS[(*twin, "reader" if role == "service" else role, owner)]
    return MATRIX[twin][(role, owner)]


def console_expected(api_status: int, method: str) -> int:
    """What the console answers where the API answers ``api_status``."""
    if api_status == 401:
        return 302  # to the sign-in page
    if api_status in (403, 404):
        return api_status
    assert 200 <= api_status < 300, api_status
    return 200 if method == "GET" else 302  # a page, or back to where the action was taken


def test_every_console_page_is_classified():
    named = set()
    for pattern in get_resolver("console.urls").url_patterns:
        if isinstance(pattern, URLPattern) and "<int:pk>" in str(pattern.pattern):
            named.add(pattern.name)
    classified = {key.split("@")[0] for key in TWINS}

    assert named == classified


def _target(world, key, owner):
    name, _, status = key.partition("@")
    if name in ("subproject", "report-new"):
        return world.nodes[owner]
    if name == "plan":
        return world.plan
    if name.startswith("flag-"):
        return world.flags[(owner, "open")]
    if status == ReportStatus.SUBMITTED and name != "report":
        # a fresh submitted report each time, so an accept or a return meets it as filed
        return world.fresh_submitted(owner)
    return world.report(owner, status)


def _state(target):
    if isinstance(target, LagFlag):
        stored = LagFlag.objects.get(pk=target.pk)
        return stored.status, FlagComment.objects.filter(flag=target).count()
    if isinstance(target, QuarterlyReport):
        stored = QuarterlyReport.objects.get(pk=target.pk)
        return stored.status, stored.version
    return None


@pytest.fixture
def console_for(client_for):
    """A browser session of a role's user (anonymous: none)."""

    def make(role):
        client = Client()
        user = getattr(client_for(role), "user", None)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def fresh_world(world):
    """The world, and a way to file a new submitted report of an owner's sub-project (2021Q1, 2021Q2, ...)."""
    filed = dict.fromkeys(OWNERS, 0)

    def fresh_submitted(owner):
        index, filed[owner] = filed[owner], filed[owner] + 1
        period = Quarter(2021 + index // 4, 1 + index % 4)
        return report_in_status(node=world.nodes[owner], status=ReportStatus.SUBMITTED, period=period)

    world.fresh_submitted = fresh_submitted
    return world


@pytest.mark.parametrize("key", list(TWINS))
def test_console_answers_as_the_api_does(console_for, fresh_world, key):
    twin, method = TWINS[key]
    name = key.split("@")[0]
    wrong = []
    for role in sorted(ROLES, key=lambda role: role == "secretariat"):
        client = console_for(role)
        for owner in OWNERS:
            target = _target(fresh_world, key, owner)
            expected = console_expected(_api_expected(twin, role, owner), method)
            url = reverse(f"console:{name}", kwargs={"pk": target.pk})
            before = _state(target)
            if method == "GET":
                response = client.get(url)
            else:
                body = {field.format(pk=target.pk): value for field, value in BODIES.get(name, {}).items()}
                if isinstance(target, QuarterlyReport):
                    body["version"] = target.version
                response = client.post(url, body)
            if response.status_code != expected:
                wrong.append(f"{role} on {owner}'s: expected {expected}, got {response.status_code}")
            elif role == "anonymous" and (
                not response["Location"].startswith(reverse("console:login")) or _state(target) != before
            ):
                wrong.append(f"anonymous on {owner}'s: not sent to sign in, or something changed")
            elif expected in (403, 404) and before is not None and _state(target) != before:
                wrong.append(f"{role} on {owner}'s: refused, but changed it")
            elif expected == 302 and role != "anonymous" and method == "POST" and _state(target) == before:
                wrong.append(f"{role} on {owner}'s: redirected, but did nothing")

    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- nothing leaks on a page

LEAK_ROLES = [role for role in ROLES if role not in ("anonymous", "secretariat")]


def _pages(world):
    pages = ["/", "/dashboard/", "/agency/", "/plan/", f"/plans/{world.plan.pk}/"]
    pages += [f"/dashboard/?page=2&severity={severity}" for severity in ("red", "yellow")]
    for node in world.nodes.values():
        pages += [f"/projects/{node.pk}/", f"/projects/{node.pk}/reports/new/"]
    for agency in world.agencies.values():
        pages.append(f"/agency/?agency={agency.pk}")
    for report in world.reports.values():
        pages += [f"/reports/{report.pk}/", f"/reports/{report.pk}/return/"]
    for flag in world.flags.values():
        pages += [f"/flags/{flag.pk}/resolve/", f"/flags/{flag.pk}/comment/"]
    return pages


@pytest.mark.parametrize("role", LEAK_ROLES)
def test_no_page_reveals_anything_out_of_scope(console_for, world, role):
    client = console_for(role)
    hidden = set(OWNERS) - IN_SCOPE[role]
    markers = set().union(*(private_markers(owner) for owner in hidden))

    for page in _pages(world):
        response = client.get(page)
        assert response.status_code < 500, page
        text = response.content.decode()
        leaked = sorted(marker for marker in markers if marker in text)
        assert not leaked, f"{page} shows {leaked}"
        if not IN_SCOPE[role]:
            assert str(PRIVATE_VALUE.normalize()) not in text, page


def test_the_page_search_would_see_a_leak(console_for, world):
    """The secretariat's pages hold every agency's private texts: the same search finds them."""
    client = console_for("secretariat")
    everything = "\n".join(client.get(page).content.decode() for page in _pages(world))

    missing = sorted(marker for owner in OWNERS for marker in private_markers(owner) if marker not in everything)
    assert missing == []
