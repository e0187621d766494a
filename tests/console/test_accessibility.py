"""Accessibility basics on every page: each form field has a label, actions are real buttons and links
(usable from the keyboard, no script), ids are unique, charts have a name and a description, and a light
is always a word as well as a colour."""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from reviews.models import LagRule, QuarterLock, ReportStatus, Severity
from reviews.periods import Quarter
from reviews.services import files
from tests.console.conftest import make_flag, report_endorsed, report_reopened, upload
from tests.reviews.factories import LagSettingsFactory, report_in_status

CONTROLS = {"input", "select", "textarea"}
NOT_FIELDS = {"hidden", "submit", "button", "reset"}


class Page(HTMLParser):
    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict] = []
        self.forms: list[dict] = []
        self.problems: list[str] = []
        self.svgs: list[dict] = []
        self.lights: list[str] = []
        self._labels = 0
        self._light_depth = 0
        self._light_text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if any(name.startswith("on") for name in attrs):
            self.problems.append(f"<{tag}> has a script handler")
        if tag == "label":
            self._labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag == "form":
            self.forms.append({"attrs": attrs, "buttons": 0})
        elif tag == "button" and self.forms:
            if attrs.get("type", "submit") == "submit":
                self.forms[-1]["buttons"] += 1
        elif tag in CONTROLS and attrs.get("type") not in NOT_FIELDS:
            self.controls.append({"tag": tag, "attrs": attrs, "wrapped": self._labels > 0})
        elif tag == "a" and "href" not in attrs:
            self.problems.append("a link without href")
        elif tag == "a" and attrs.get("href") in ("#", "javascript:void(0)"):
            self.problems.append("a link that goes nowhere")
        elif tag == "svg":
            self.svgs.append(attrs)
        if tag == "span" and "light" in attrs.get("class", "").split():
            self._light_depth = 1
            self._light_text = ""
        elif self._light_depth:
            self._light_depth += 1

    def handle_endtag(self, tag):
        if tag == "label":
            self._labels -= 1
        if self._light_depth:
            self._light_depth -= 1 if tag == "span" else 0
            if self._light_depth == 0:
                self.lights.append(self._light_text.strip())

    def handle_data(self, data):
        if self._light_depth:
            self._light_text += data


def check(html: str) -> Page:
    page = Page(html)
    assert not page.problems, page.problems
    duplicates = {value for value in page.ids if page.ids.count(value) > 1}
    assert not duplicates, f"ids used twice: {duplicates}"
    for control in page.controls:
        attrs = control["attrs"]
        named = (
            control["wrapped"]
            or attrs.get("id") in page.label_for
            or attrs.get("aria-label")
            or attrs.get("aria-labelledby")
        )
        assert named, f"{control['tag']} {attrs.get('name')!r} has no label"
    for form in page.forms:
        assert form["buttons"] >= 1, f"a form without a submit button: {form['attrs']}"
    for svg in page.svgs:
        if svg.get("role") == "img":
            for part in svg["aria-labelledby"].split():
                assert part in page.ids, f"chart names a missing {part}"
    for light in page.lights:
        shape_and_word = light.split()
        assert len(shape_and_word) >= 2 and re.search(r"\w", shape_and_word[-1]), f"a light without a word: {light!r}"
    return page


@pytest.fixture
def busy(world):
    make_flag(world.subproject, severity=Severity.RED, rule=LagRule.LATE_REPORT)
    make_flag(world.other_subproject, severity=Severity.YELLOW)
    submitted = report_in_status(node=world.other_subproject, status=ReportStatus.SUBMITTED)
    draft = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    accepted = report_in_status(node=world.unit_subproject, status=ReportStatus.ACCEPTED)
    return {"submitted": submitted, "draft": draft, "accepted": accepted}


def pages(world, busy):
    flag = world.subproject.flags.get()
    return {
        "secretariat": [
            "/dashboard/",
            f"/projects/{world.subproject.pk}/",
            f"/reports/{busy['submitted'].pk}/",
            f"/reports/{busy['submitted'].pk}/return/",
            f"/flags/{flag.pk}/resolve/",
            f"/flags/{flag.pk}/comment/",
            f"/agency/?agency={world.agency.pk}",
            f"/plans/{world.plan.pk}/",
        ],
        "lead": [
            "/dashboard/",
            "/agency/",
            f"/projects/{world.subproject.pk}/",
            f"/projects/{world.subproject.pk}/reports/new/",
            f"/reports/{busy['draft'].pk}/",
            f"/flags/{flag.pk}/comment/",
        ],
        "reader": ["/dashboard/", f"/projects/{world.unit_subproject.pk}/", f"/reports/{busy['accepted'].pk}/"],
    }


@pytest.mark.parametrize("role", ["secretariat", "lead", "reader"])
def test_every_page_passes_the_basics(request, world, busy, role):
    client = request.getfixturevalue(role)
    checked = 0
    for path in pages(world, busy)[role]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = check(response.content.decode())
        checked += len(page.controls)
    assert checked > 10


def test_the_sign_in_page_passes_the_basics(db):
    page = check(Client().get("/accounts/login/").content.decode())

    assert {control["attrs"]["name"] for control in page.controls} == {"username", "password", "language"}


def test_a_refused_form_ties_each_message_to_its_field(lead, world):
    response = lead.post(
        f"/projects/{world.subproject.pk}/reports/new/",
        {"period": "2024Q2", "action": "save", "planned_progress": "60", "actual_progress": "40"},
    )
    html = response.content.decode()

    check(html)
    field = re.search(r'<textarea [^>]*name="delay_reasons"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="id_delay_reasons_error"' in field
    assert 'id="id_delay_reasons_error"' in html
    assert 'role="alert"' in html


def test_the_lights_are_words_in_every_language(secretariat, world, busy):
    for language, words in (("zh-hant", {"紅燈", "黃燈"}), ("en", {"Red", "Yellow", "Green"})):
        page = check(secretariat.get("/dashboard/", HTTP_ACCEPT_LANGUAGE=language).content.decode())
        assert words <= {light.split()[-1] for light in page.lights}, language


def test_every_page_has_a_skip_link_and_a_main_landmark(secretariat):
    html = secretariat.get("/dashboard/").content.decode()

    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html


# --- the review chain's pages: the reviewer's queue and report page, withdrawal, reopening, files, locks


@pytest.fixture
def chain(world, reviewer_user, evidence_storage):
    """Reports at each step of the chain, one with an evidence file, and a locked quarter with an exception."""
    # accepted before the plan asked for the ministry's endorsement, as existing data is
    reopened = report_reopened(node=world.unit_subproject, period=Quarter(2024, 2))
    accepted = report_in_status(node=world.other_subproject, status=ReportStatus.ACCEPTED)
    LagSettingsFactory(plan=world.plan, endorsement_required=True)
    with_file = report_in_status(node=world.subproject, status=ReportStatus.DRAFT, period=Quarter(2024, 1))
    files.report_file_add(actor=world.lead, report=with_file, upload=upload("第一季佐證.pdf"))
    awaiting = report_in_status(node=world.unit_subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 1))
    submitted = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 2))
    endorsed = report_endorsed(node=world.subproject, reviewer=reviewer_user, period=Quarter(2024, 3))
    lock = QuarterLock.objects.create(plan=world.plan, year=2025, quarter=1, locked_by=world.secretariat)
    lock.exceptions.create(node=world.subproject, expires_on=datetime.date(2099, 1, 1), granted_by=world.secretariat)
    return {
        "with_file": with_file,
        "awaiting": awaiting,
        "submitted": submitted,
        "endorsed": endorsed,
        "reopened": reopened,
        "accepted": accepted,
    }


def chain_pages(chain):
    return {
        "reviewer": ["/review/", f"/reports/{chain['awaiting'].pk}/", f"/reports/{chain['with_file'].pk}/"],
        "lead": [f"/reports/{chain['with_file'].pk}/", f"/reports/{chain['submitted'].pk}/", "/locks/"],
        "secretariat": [
            "/dashboard/",
            "/locks/",
            f"/reports/{chain['endorsed'].pk}/",
            f"/reports/{chain['accepted'].pk}/",
            f"/reports/{chain['accepted'].pk}/reopen/",
            f"/reports/{chain['reopened'].pk}/",
        ],
    }


@pytest.mark.parametrize("role", ["reviewer", "lead", "secretariat"])
def test_the_review_chain_s_pages_pass_the_basics(request, chain, role):
    client = request.getfixturevalue(role)
    for path in chain_pages(chain)[role]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        check(html)
        assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html, path


def test_each_step_is_a_real_button_in_a_form_of_its_own(request, chain):
    """Endorse, return, withdraw, reopen, add and remove a file: each a submit button in a form that posts to
    its own address, so the keyboard alone takes every step, in the order the page reads."""
    steps = {
        ("reviewer", "awaiting"): ["endorse", "return"],
        ("lead", "submitted"): ["withdraw"],
        ("lead", "with_file"): ["remove-file"],
        ("secretariat", "endorsed"): ["accept", "return"],
        ("secretariat", "accepted"): ["reopen"],
    }
    for (role, report), actions in steps.items():
        html = request.getfixturevalue(role).get(f"/reports/{chain[report].pk}/").content.decode()
        positions = []
        for action in actions:
            button = re.search(
                rf'<form method="post" action="[^"]+"[^>]*>(?:(?!</form>).)*?<button type="submit"[^>]*data-action="{action}"',
                html,
                re.S,
            )
            assert button, (role, report, action)
            positions.append(button.start())
        assert positions == sorted(positions), (role, report)
    lead_page = request.getfixturevalue("lead").get(f"/reports/{chain['with_file'].pk}/").content.decode()
    assert re.search(r'<label for="id_file"', lead_page) and 'enctype="multipart/form-data"' in lead_page


def test_the_reviewer_s_menu_marks_its_page(reviewer, chain):
    html = reviewer.get("/review/").content.decode()

    assert 'href="/review/" aria-current="page"' in html
