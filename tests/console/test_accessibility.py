"""Accessibility basics on every page: each form field has a label, actions are real buttons and links
(usable from the keyboard, no script), ids are unique, charts have a name and a description, and a light
is always a word as well as a colour."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from reviews.models import LagRule, ReportStatus, Severity
from tests.console.conftest import make_flag
from tests.reviews.factories import report_in_status

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
