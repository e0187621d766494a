"""The console's pages and actions in the same role x object table as the API's endpoints.

Each console page or action that names an object is the twin of an API endpoint: the sub-project page of
``GET project-detail``, a report's page of ``GET report-detail``, the accept button of ``POST report-accept``.
Its expected answer is not written a second time: it is read from the API's row (``test_authorization``'s
matrix, or the quarterly-report matrix) and translated, so the two cannot drift: the console answers 404
where the API does, 403 where the API does, a page (200) or a redirect after the action (302) where the API
answers 2xx, and the sign-in page (302) where the API answers 401. Where the API answers 409 (a step the
report's status does not allow), a button goes back to its page saying why (302) and a form's page answers 409
itself; nothing changes. A console route that names an object and is in neither table fails
``test_every_console_page_is_classified``; the evidence-file routes, whose API twins are in no table yet, are
tried against the API live.

Then the leak scan of the API, on the console: no page a role can open shows another agency's private texts.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from reviews.models import (
    EvidenceFile,
    FlagComment,
    LagFlag,
    LockException,
    QuarterLock,
    QuarterlyReport,
    ReportStatus,
)
from reviews.periods import Quarter
from reviews.services import files
from tests.console.conftest import small_pdf
from tests.reviews import test_report_permissions as report_matrix
from tests.reviews.factories import lead_user_for, report_in_status

from .conftest import IN_SCOPE, ROLES
from .test_authorization import MATRIX
from .world import OWNERS, PRIVATE_VALUE, assessment_markers, private_markers

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
    # the review chain
    "report@endorsed": (("detail", ReportStatus.ENDORSED), "GET"),
    "report-withdraw@submitted": (("withdraw", ReportStatus.SUBMITTED), "POST"),
    "report-withdraw@endorsed": (("withdraw", ReportStatus.ENDORSED), "POST"),
    "report-endorse@submitted": (("endorse", ReportStatus.SUBMITTED), "POST"),
    "report-endorse@draft": (("endorse", ReportStatus.DRAFT), "POST"),
    "report-accept@endorsed": (("accept", ReportStatus.ENDORSED), "POST"),
    "report-return@endorsed": (("return", ReportStatus.ENDORSED), "POST"),
    "report-reopen@accepted": (("reopen", ReportStatus.ACCEPTED), "POST"),
    "report-reopen@returned": (("reopen", ReportStatus.RETURNED), "POST"),
    "lock-delete": ("DELETE lock-detail", "POST"),
    "lock-exception-grant": ("POST lock-exceptions", "POST"),
    "lock-exception-revoke": ("DELETE lock-exception-detail", "POST"),
}
BODIES = {
    "flag-resolve": {"resolve-{pk}-reason": "已改善"},
    "flag-comment": {"comment-{pk}-body": "請補充改善措施", "comment-{pk}-kind": "comment"},
    "report-return": {"return-{pk}-reason": "請補充預算執行說明"},
    "report-withdraw": {"withdraw-{pk}-reason": "預算數填錯"},
    "report-reopen": {"reopen-{pk}-reason": "第一季經費執行數有誤，請更正"},
    # an exception for the sub-project the lock already lets in: granting it again moves its date
    "lock-exception-grant": lambda lock: {
        f"exception-{lock.pk}-project": lock.exceptions.get().node_id,
        f"exception-{lock.pk}-expires_on": "2099-06-30",
    },
}
# The plan revisions' pages and steps: tests/console/test_revisions.py tries them against the revision matrix
# (tests/reviews/test_revision_permissions.py), as this module does the report matrix; the request form
# (``revision-new``) is open to the sub-project's leads only.
COVERED_BY_REVISION_PAGES = {
    "revision",
    "revision-new",
    "revision-withdraw",
    "revision-endorse",
    "revision-approve",
    "revision-reject",
}
# The year's assessment's pages and steps: tests/console/test_assessments.py tries them by role and scope (the
# chain's until publication, 404 outside it) and tests/assessments the services' matrix behind them.
COVERED_BY_ASSESSMENT_PAGES = {
    "assessment",
    "assessment-return",
    "assessment-withdraw",
    "assessment-reopen",
    "assessment-file",
    "assessment-file-add",
    "assessment-file-remove",
    "assessment-year",
    "assessment-year-publish",
}
# The console routes that refuse a step the status forbids on their form's page, with the API's status.
FORM_PAGES = {"report-return", "report-reopen", "lock-exception-grant"}
REPORT_ROWS = {tuple(cell.values[:4]): cell.values[4] for cell in report_matrix.CELLS}
# Quarters of fresh reports: the plan's years but 2024 and 2025, where the world's reports and locks are.
FRESH_PERIODS = [Quarter(year, quarter) for year in (2021, 2022, 2023) for quarter in (1, 2, 3, 4)]


def _api_expected(twin, role, owner):
    if isinstance(twin, tuple):  # a row of the quarterly-report matrix, which has no API-key column
        return REPORT_ROWS[(*twin, "reader" if role == "service" else role, owner)]
    return MATRIX[twin][(role, owner)]


def console_expected(api_status: int, method: str, *, form_page: bool = False) -> int:
    """What the console answers where the API answers ``api_status``."""
    if api_status == 401:
        return 302  # to the sign-in page
    if api_status in (403, 404):
        return api_status
    if api_status == 409:  # refused for the report's status: on the form's page, or back where it was taken
        return 409 if form_page else 302
    assert 200 <= api_status < 300, api_status
    return 200 if method == "GET" else 302  # a page, or back to where the action was taken


def test_every_console_page_is_classified():
    named = set()
    for pattern in get_resolver("console.urls").url_patterns:
        if isinstance(pattern, URLPattern) and "<int:pk>" in str(pattern.pattern):
            named.add(pattern.name)
    classified = {
        key.split("@")[0] for key in (*TWINS, *LIVE_TWINS, *COVERED_BY_REVISION_PAGES, *COVERED_BY_ASSESSMENT_PAGES)
    }

    assert named == classified


def _target(world, key, owner):
    name, _, status = key.partition("@")
    if name in ("subproject", "report-new"):
        return world.nodes[owner]
    if name == "plan":
        return world.plan
    if name.startswith("flag-"):
        return world.flags[(owner, "open")]
    if name in ("lock-delete", "lock-exception-grant"):
        return world.locks[owner]
    if name == "lock-exception-revoke":
        return world.lock_exceptions[owner]
    if name != "report":
        # a fresh report each time, so a step meets it as the matrix's row has it
        return world.fresh(owner, status)
    return world.report(owner, status)


def _url(name, target):
    if isinstance(target, LockException):
        return reverse(f"console:{name}", kwargs={"pk": target.lock_id, "exception_pk": target.pk})
    return reverse(f"console:{name}", kwargs={"pk": target.pk})


def _state(target):
    if isinstance(target, LagFlag):
        stored = LagFlag.objects.get(pk=target.pk)
        return stored.status, FlagComment.objects.filter(flag=target).count()
    if isinstance(target, QuarterlyReport):
        stored = QuarterlyReport.objects.get(pk=target.pk)
        return stored.status, stored.version
    if isinstance(target, QuarterLock | LockException):
        model = type(target)
        return model.objects.filter(pk=target.pk).exists(), list(
            LockException.objects.filter(lock_id=getattr(target, "lock_id", target.pk)).values_list(
                "node_id", "expires_on"
            )
        )
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
    """The world, and a way to file a new report of an owner's sub-project in a status (2021Q1, 2021Q2, ...)."""
    filed = dict.fromkeys(OWNERS, 0)

    def fresh(owner, status):
        index, filed[owner] = filed[owner], filed[owner] + 1
        return report_in_status(node=world.nodes[owner], status=status, period=FRESH_PERIODS[index])

    world.fresh = fresh
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
            api_status = _api_expected(twin, role, owner)
            expected = console_expected(api_status, method, form_page=name in FORM_PAGES)
            url = _url(name, target)
            before = _state(target)
            if method == "GET":
                response = client.get(url)
            else:
                body = BODIES.get(name, {})
                body = body(target) if callable(body) else body
                body = {field.format(pk=target.pk): value for field, value in body.items()}
                if isinstance(target, QuarterlyReport):
                    body["version"] = target.version
                response = client.post(url, body)
            if response.status_code != expected:
                wrong.append(f"{role} on {owner}'s: expected {expected}, got {response.status_code}")
            elif role == "anonymous" and (
                not response["Location"].startswith(reverse("console:login")) or _state(target) != before
            ):
                wrong.append(f"anonymous on {owner}'s: not sent to sign in, or something changed")
            elif api_status >= 400 and before is not None and _state(target) != before:
                wrong.append(f"{role} on {owner}'s: refused, but changed it")
            elif api_status < 300 and method == "POST" and _state(target) == before:
                wrong.append(f"{role} on {owner}'s: redirected, but did nothing")

    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- evidence files, tried live
#
# The API's evidence-file endpoints are in neither table yet: for each role and owner, the API endpoint is
# called on a draft report (with a file, to remove one) and the console route on another draft in the same
# state, and the console must answer what ``console_expected`` makes of the API's answer. A draft a call
# changed is replaced by a fresh one before the next role tries.

LIVE_TWINS = {
    "report-file-add@draft": ("POST", "/api/v1/reports/{pk}/files/", "/reports/{pk}/files/"),
    "report-file-remove@draft": ("DELETE", "/api/v1/reports/{pk}/files/{file}/", "/reports/{pk}/files/{file}/remove/"),
}


def _pdf():
    return SimpleUploadedFile("佐證資料.pdf", small_pdf(), content_type="application/pdf")


def _fresh_draft(world, owner, *, with_file):
    report = world.fresh(owner, ReportStatus.DRAFT)
    values = {"pk": report.pk, "file": None}
    if with_file:
        values["file"] = files.report_file_add(actor=lead_user_for(report.node), report=report, upload=_pdf()).pk
    return values


def _draft_state(values):
    report = QuarterlyReport.objects.get(pk=values["pk"])
    return report.version, EvidenceFile.objects.filter(report=report).count()


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a directory of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.mark.parametrize("key", list(LIVE_TWINS))
def test_the_evidence_file_routes_answer_as_the_api_does(client_for, console_for, fresh_world, media, key):
    method, api_path, console_path = LIVE_TWINS[key]
    with_file = "{file}" in api_path
    wrong = []
    for owner in OWNERS:
        api_values = _fresh_draft(fresh_world, owner, with_file=with_file)
        console_values = _fresh_draft(fresh_world, owner, with_file=with_file)
        for role in sorted(ROLES, key=lambda role: role == "secretariat"):
            # over the API
            before = _draft_state(api_values)
            url = api_path.format(**api_values)
            api = client_for(role)
            if method == "POST":
                api_status = api.post(url, {"file": _pdf()}, format="multipart").status_code
            else:
                api_status = api.delete(url).status_code
            if _draft_state(api_values) != before:
                api_values = _fresh_draft(fresh_world, owner, with_file=with_file)
            expected = console_expected(api_status, "POST", form_page=method == "POST")

            # on the console
            before = _draft_state(console_values)
            body = {"version": QuarterlyReport.objects.get(pk=console_values["pk"]).version}
            if method == "POST":
                body["file"] = _pdf()
            response = console_for(role).post(console_path.format(**console_values), body)
            changed = _draft_state(console_values) != before
            if changed:
                console_values = _fresh_draft(fresh_world, owner, with_file=with_file)
            if response.status_code != expected:
                wrong.append(f"{role} on {owner}'s: API {api_status}, console {response.status_code} (not {expected})")
            elif changed is not (200 <= api_status < 300):
                wrong.append(
                    f"{role} on {owner}'s: API {api_status}, the console {'did' if changed else 'did not'} act"
                )
            elif role == "anonymous" and not response["Location"].startswith(reverse("console:login")):
                wrong.append(f"anonymous on {owner}'s: not sent to sign in")

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
    pages += ["/assessments/", f"/assessments/years/{world.assessment_scheme.pk}/"]
    pages += [f"/assessments/{assessment.pk}/" for assessment in world.assessments.values()]
    return pages


@pytest.mark.parametrize("role", LEAK_ROLES)
def test_no_page_reveals_anything_out_of_scope(console_for, world, role):
    client = console_for(role)
    hidden = set(OWNERS) - IN_SCOPE[role]
    markers = set().union(*(private_markers(owner) | assessment_markers(owner) for owner in hidden))

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

    missing = sorted(
        marker
        for owner in OWNERS
        for marker in private_markers(owner) | assessment_markers(owner)
        if marker not in everything
    )
    assert missing == []
