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

import datetime
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, URLPattern, get_resolver, resolve, reverse
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_issue
from reviews.models import (
    EvidenceFile,
    FlagComment,
    LagFlag,
    LagSettings,
    QuarterLock,
    QuarterlyReport,
    ReportStatus,
)
from reviews.periods import Quarter
from reviews.services import files
from tests.accounts.factories import UserFactory, secretariat_user
from tests.console.conftest import small_pdf
from tests.reviews import test_report_permissions as report_matrix
from tests.reviews.factories import lead_user_for, report_in_status

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
    classified = {key.split("@")[0] for key in (*TWINS, *LIVE_TWINS)}

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


# --------------------------------------------------------------------------- the review chain's routes
#
# The console routes of the review chain (endorse, withdraw, reopen, evidence files, quarter locks) are tried
# against their API twins live: for each role and owner, the twin endpoint is called over the API on an object
# in the given state and the console route on another one in the same state, and the console must answer what
# ``console_expected`` makes of the API's answer. An object a call changed is replaced by a fresh one before the
# next role tries. A route whose twin the API does not route yet is skipped, saying so.

# The ministry reviewer of A (數位發展部), who reviews A's and U's sub-projects, where the shared roles have none.
REVIEWER = "reviewer"
LIVE_ROLES = ROLES if REVIEWER in ROLES else (*ROLES, REVIEWER)
REASON = "第一季經費執行數有誤，請更正"


@dataclass(frozen=True)
class LiveTwin:
    status: str  # the report's status, or "lock" / "exception" for a quarter lock or one of its exceptions
    api: str  # the API's method and path, "{pk}" (and "{exception}") filled in
    console: str  # the console's path
    api_body: dict = field(default_factory=dict)
    console_body: dict = field(default_factory=dict)  # "{pk}" in a field's name is the report's id
    endorsing: bool = False  # the plan asks for the ministry's endorsement
    form: bool = False  # the console refuses a step the status forbids on the form's page, with the API's status


LIVE_TWINS = {
    "report-withdraw@submitted": LiveTwin(
        ReportStatus.SUBMITTED, "POST /api/v1/reports/{pk}/withdraw/", "/reports/{pk}/withdraw/"
    ),
    "report-endorse@submitted": LiveTwin(
        ReportStatus.SUBMITTED, "POST /api/v1/reports/{pk}/endorse/", "/reports/{pk}/endorse/", endorsing=True
    ),
    "report-return@endorsing": LiveTwin(
        ReportStatus.SUBMITTED,
        "POST /api/v1/reports/{pk}/return/",
        "/reports/{pk}/return/",
        {"reason": REASON},
        {"return-{pk}-reason": REASON},
        endorsing=True,
        form=True,
    ),
    "report-reopen@accepted": LiveTwin(
        ReportStatus.ACCEPTED,
        "POST /api/v1/reports/{pk}/reopen/",
        "/reports/{pk}/reopen/",
        {"reason": REASON},
        {"reopen-{pk}-reason": REASON},
        form=True,
    ),
    "report-file-add@draft": LiveTwin(
        ReportStatus.DRAFT, "POST /api/v1/reports/{pk}/files/", "/reports/{pk}/files/", form=True
    ),
    "report-file-remove@draft": LiveTwin(
        ReportStatus.DRAFT, "DELETE /api/v1/reports/{pk}/files/{file}/", "/reports/{pk}/files/{file}/remove/"
    ),
    "lock-delete": LiveTwin("lock", "DELETE /api/v1/locks/{pk}/", "/locks/{pk}/unlock/"),
    "lock-exception-grant": LiveTwin(
        "lock",
        "POST /api/v1/locks/{pk}/exceptions/",
        "/locks/{pk}/exceptions/",
        {"project": "{project}", "expires_on": "2099-12-31"},
        {"exception-{pk}-project": "{project}", "exception-{pk}-expires_on": "2099-12-31"},
    ),
    "lock-exception-revoke": LiveTwin(
        "exception", "DELETE /api/v1/locks/{pk}/exceptions/{exception}/", "/locks/{pk}/exceptions/{exception}/withdraw/"
    ),
}
# Quarters for fresh objects: the plan's years, but 2024, where the world's reports are.
FRESH_PERIODS = [Quarter(year, quarter) for year in (2021, 2022, 2023, 2025) for quarter in (1, 2, 3, 4)]


class Fresh:
    """Objects in a twin's state, each of a quarter no other object of its sub-project (or lock) holds."""

    def __init__(self, world):
        self.world = world
        self.used = {owner: 0 for owner in OWNERS} | {"lock": 0}

    def _period(self, key):
        index, self.used[key] = self.used[key], self.used[key] + 1
        return FRESH_PERIODS[index]

    def __call__(self, twin, owner):
        if twin.status in ("lock", "exception"):
            period = self._period("lock")
            lock = QuarterLock.objects.create(
                plan=self.world.plan, year=period.year, quarter=period.quarter, locked_by=secretariat_user()
            )
            if twin.status == "lock":
                return {"pk": lock.pk, "project": self.world.nodes[owner].pk, "object": lock}
            exception = lock.exceptions.create(
                node=self.world.nodes[owner], expires_on=datetime.date(2099, 12, 31), granted_by=secretariat_user()
            )
            return {"pk": lock.pk, "exception": exception.pk, "object": exception}
        report = report_in_status(node=self.world.nodes[owner], status=twin.status, period=self._period(owner))
        values = {"pk": report.pk, "object": report}
        if "{file}" in twin.api:
            evidence = files.report_file_add(actor=lead_user_for(report.node), report=report, upload=_pdf())
            values.update(file=evidence.pk, object=evidence)
        return values


def _pdf():
    return SimpleUploadedFile("佐證資料.pdf", small_pdf(), content_type="application/pdf")


def _live_state(target):
    model = type(target)
    stored = model.objects.filter(pk=target.pk).first()
    if stored is None:
        return "gone"
    if isinstance(stored, QuarterlyReport):
        return stored.status, stored.version, stored.files.count()
    if isinstance(stored, QuarterLock):
        return stored.exceptions.count()
    return "there"


def _fill(template, values):
    return {
        key.format(**values): value.format(**values) if isinstance(value, str) else value
        for key, value in template.items()
    }


@pytest.fixture
def live_clients(client_for, world):
    """The API client and the browser session of each of ``LIVE_ROLES``."""

    def make(role):
        if role == REVIEWER and REVIEWER not in ROLES:
            user = UserFactory(username="reviewer-a", role=Role.REVIEWER, agency=world.agencies["A"])
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
        else:
            api = client_for(role)
            user = getattr(api, "user", None)
        browser = Client()
        if user is not None:
            browser.force_login(user)
        return api, browser

    return make


def _api_call(client, twin, values):
    method, path = twin.api.split(" ")
    url = path.format(**values)
    target = values["object"]
    headers = {"HTTP_IF_MATCH": target.etag} if isinstance(target, QuarterlyReport) else {}
    if isinstance(target, EvidenceFile):
        headers = {"HTTP_IF_MATCH": QuarterlyReport.objects.get(pk=values["pk"]).etag}
    if "/files/" in path and method == "POST":
        return client.post(url, {"file": _pdf()}, format="multipart", **headers)
    return getattr(client, method.lower())(url, _fill(twin.api_body, values), format="json", **headers)


def _console_call(browser, twin, values):
    body = _fill(twin.console_body, values)
    report = QuarterlyReport.objects.filter(pk=values["pk"]).first() if "/reports/" in twin.console else None
    if report is not None:
        body["version"] = report.version
    if twin.console.endswith("/files/"):
        body["file"] = _pdf()
    return browser.post(twin.console.format(**values), body)


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a directory of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.mark.parametrize("key", list(LIVE_TWINS))
def test_the_review_chain_s_console_routes_answer_as_the_api_does(live_clients, fresh_world, media, key):
    twin = LIVE_TWINS[key]
    method, path = twin.api.split(" ")
    try:
        resolve(path.format(pk=1, file=1, exception=1))
    except Resolver404:
        pytest.skip(f"the API does not route {twin.api} yet")
    if twin.endorsing:
        LagSettings.objects.update_or_create(plan=fresh_world.plan, defaults={"endorsement_required": True})
    fresh = Fresh(fresh_world)
    wrong = []
    for owner in OWNERS:
        api_values, console_values = fresh(twin, owner), fresh(twin, owner)
        for role in sorted(LIVE_ROLES, key=lambda role: role == "secretariat"):
            api, browser = live_clients(role)
            before = _live_state(api_values["object"])
            api_status = _api_call(api, twin, api_values).status_code
            if _live_state(api_values["object"]) != before:
                api_values = fresh(twin, owner)
            if api_status == 400:
                wrong.append(f"{role} on {owner}'s: the API refused what the twin sends: {api_status}")
                continue
            if api_status in (409, 412):  # the step is not for this status: refused, nothing changed
                expected = api_status if twin.form else 302
            else:
                expected = console_expected(api_status, "POST")

            before = _live_state(console_values["object"])
            response = _console_call(browser, twin, console_values)
            changed = _live_state(console_values["object"]) != before
            if changed:
                console_values = fresh(twin, owner)
            if response.status_code != expected:
                wrong.append(f"{role} on {owner}'s: API {api_status}, console {response.status_code} (not {expected})")
            elif expected == 302 and (role == "anonymous") != response["Location"].startswith(reverse("console:login")):
                wrong.append(f"{role} on {owner}'s: redirected to {response['Location']}")
            elif changed is not (200 <= api_status < 300):
                wrong.append(
                    f"{role} on {owner}'s: API {api_status}, and the console {'did' if changed else 'did not'} change it"
                )

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
        pages += [f"/reports/{report.pk}/", f"/reports/{report.pk}/return/", f"/reports/{report.pk}/reopen/"]
    pages += ["/review/", "/locks/"]
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
