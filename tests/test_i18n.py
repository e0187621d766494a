"""The admin and the API speak Traditional Chinese (Taiwan usage) by default and English on request.

The catalogue is ``locale/zh_Hant/LC_MESSAGES/django.po``; its compiled ``django.mo``
is committed so the runtime needs no gettext tools.
"""

import ast
import gettext
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import translation
from rest_framework import exceptions as drf_exceptions
from rest_framework import fields as drf_fields
from rest_framework import relations as drf_relations
from rest_framework import serializers as drf_serializers
from rest_framework import validators as drf_validators
from rest_framework.pagination import CursorPagination
from rest_framework.test import APIClient

from accounts.services import token_issue
from reviews.models import TEXT_MAX_CHARS, FlagStatus, LagRule
from tests.accounts.factories import UserFactory
from tests.faults.test_database_unavailable import cut_this_session
from tests.hardening.test_request_limits import asgi_post
from tests.projects.factories import MilestoneFactory, make_tree
from tests.reviews.evidence_samples import pdf
from tests.reviews.factories import LagFlagFactory, report_body, report_in_status

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hant" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"

CHANGELIST = "/admin/projects/plannode/"
LOGIN = "/admin/login/?next=/admin/"

# DRF's own zh_Hant catalogue says 找不到資源。 for "Not found."
NOT_FOUND_ZH = "找不到資源。"
NOT_FOUND_EN = "Not found."


@pytest.fixture
def admin_client(db):
    user = UserFactory(username="i18n-admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tree(db):
    # group (分組) > strategy section (推動策略) > measure (推動措施) > sub-project (子計畫)
    return make_tree()


class FormFinder(HTMLParser):
    """Collects each <form>: its attributes, its inputs, its <select> options and whether a <label> wraps a select."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"attrs": attrs, "inputs": {}, "selects": {}, "labelled": set(), "buttons": 0})
        elif not self.forms:
            return
        form = self.forms[-1]
        if tag == "label":
            self._labels += 1
        elif tag == "input":
            form["inputs"][attrs.get("name")] = attrs.get("value")
        elif tag == "select":
            self._select = attrs.get("name")
            form["selects"][self._select] = []
            if self._labels or attrs.get("id") or attrs.get("aria-label"):
                form["labelled"].add(self._select)
        elif tag == "option":
            form["selects"][self._select].append(attrs)
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            form["buttons"] += 1

    def handle_endtag(self, tag):
        if tag == "label":
            self._labels -= 1


def language_forms(response):
    finder = FormFinder()
    finder.feed(response.content.decode())
    return [form for form in finder.forms if form["attrs"].get("action") == "/i18n/setlang/"]


def page(response):
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


# (a) the admin in either language -------------------------------------------------------------


@pytest.mark.parametrize("accept_language", [None, "zh-Hant", "zh-TW", "zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7"])
def test_admin_changelist_is_in_chinese_by_default(admin_client, tree, accept_language):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    html = page(admin_client.get(CHANGELIST, **headers))
    assert '<html lang="zh-hant"' in html
    assert "方案架構節點" in html  # the model's verbose name
    assert "推動策略" in html and "推動措施" in html  # kind labels; no title in the tree contains them
    assert "類型" in html and "上層節點" in html  # column headings
    assert "Strategy section" not in html and "plan-tree node" not in html.lower()
    assert "GSTP 智慧國家方案管考系統" in html


def test_admin_changelist_in_english_with_accept_language(admin_client, tree):
    html = page(admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="en"' in html
    assert "Plan-tree nodes" in html or "plan-tree nodes" in html
    assert "Strategy section" in html and "Measure" in html
    assert "方案架構節點" not in html and "推動策略" not in html
    assert "GSTP 智慧國家方案管考系統" in html  # the site header is a name, the same in both


def test_set_language_switches_the_admin_to_english_and_back(admin_client, tree):
    response = admin_client.post("/i18n/setlang/", {"language": "en", "next": CHANGELIST})
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    html = page(admin_client.get(response["Location"]))
    assert '<html lang="en"' in html and "Strategy section" in html and "推動策略" not in html

    # The cookie wins over the browser's Accept-Language.
    html = page(admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="zh-TW"))
    assert "Strategy section" in html

    response = admin_client.post("/i18n/setlang/", {"language": "zh-hant", "next": CHANGELIST})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hant"
    assert "推動策略" in page(admin_client.get(CHANGELIST))


def test_set_language_will_not_redirect_off_site(admin_client):
    response = admin_client.post("/i18n/setlang/", {"language": "en", "next": "https://example.com/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signed_in_admin_has_the_switch_among_the_user_links(admin_client, tree):
    html = page(admin_client.get(CHANGELIST))
    forms = language_forms(admin_client.get(CHANGELIST))
    assert len(forms) == 1
    assert forms[0]["inputs"]["next"] == CHANGELIST
    user_tools = html[html.index('id="user-tools"') :]
    assert user_tools.index('id="logout-form"') < user_tools.index('action="/i18n/setlang/"')


# (b) the login page ----------------------------------------------------------------------------


def test_login_page_has_the_language_switch(db):
    response = Client().get(LOGIN)
    html = page(response)
    assert "登入" in html  # Django's own admin catalogue, in zh-hant by default
    (form,) = language_forms(response)
    assert form["attrs"]["method"].lower() == "post"
    assert form["inputs"]["next"] == LOGIN
    assert form["inputs"].get("csrfmiddlewaretoken")
    assert form["buttons"] == 1
    options = form["selects"]["language"]
    assert [option["value"] for option in options] == [code for code, _name in settings.LANGUAGES]
    assert [option["value"] for option in options if "selected" in option] == ["zh-hant"]
    assert "language" in form["labelled"]
    assert "繁體中文" in html and "English" in html


def test_anonymous_user_can_switch_the_login_page_to_english(db):
    client = Client(enforce_csrf_checks=True)
    (form,) = language_forms(client.get(LOGIN))
    response = client.post(
        "/i18n/setlang/",
        {
            "language": "en",
            "next": form["inputs"]["next"],
            "csrfmiddlewaretoken": form["inputs"]["csrfmiddlewaretoken"],
        },
    )
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == LOGIN
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    response = client.get(LOGIN)
    html = page(response)
    assert '<html lang="en"' in html and "Log in" in html and "登入" not in html
    (form,) = language_forms(response)
    assert [option["value"] for option in form["selects"]["language"] if "selected" in option] == ["en"]


# (c) the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("zh-Hant", NOT_FOUND_ZH), ("zh-TW", NOT_FOUND_ZH), (None, NOT_FOUND_ZH), ("en", NOT_FOUND_EN)],
)
def test_api_not_found_message_follows_accept_language(secretariat_client, accept_language, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = secretariat_client.get("/api/v1/projects/999999/", **headers)
    assert response.status_code == 404, response.content
    assert response.json()["detail"] == expected
    assert response.json()["code"] == "not_found"
    assert response["Content-Language"] == ("en" if accept_language == "en" else "zh-hant")


def test_api_validation_error_follows_accept_language(secretariat_client):
    # A filter that is not a plan id: 400 with GSTP's own sentence and Django's field message.
    zh = secretariat_client.get("/api/v1/projects/?plan=999999", HTTP_ACCEPT_LANGUAGE="zh-Hant")
    en = secretariat_client.get("/api/v1/projects/?plan=999999", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 400, (zh.content, en.content)
    assert zh.json()["detail"] == "請求中有欄位內容不正確。"
    assert en.json()["detail"] == "The request has invalid fields."
    assert zh.json()["code"] == en.json()["code"]  # codes are for programs: never translated
    assert re.search(r"[\u4e00-\u9fff]", zh.json()["errors"]["plan"][0])
    assert en.json()["errors"]["plan"][0].startswith("Select a valid choice")


# (e) every error the schema documents, in the client's language ---------------------------------
#
# Each error is triggered for real, once with Accept-Language: zh-Hant and once with en: the zh-Hant answer's
# `detail` (and, for a 400, the field's message) is Chinese, the English one is not, and the code is the same.

CJK = re.compile(r"[\u3400-\u9fff]")
REPORTS = "/api/v1/reports/"
SESSION = "/api/v1/auth/session/"


@dataclass
class ErrorCase:
    status: int
    code: str
    send: Callable  # (scene, headers) -> response
    field: tuple = ()  # where the field's message is inside `errors`, for a 400
    prepare: Callable | None = None  # (scene) -> None, once before both requests


@pytest.fixture
def scene(agency, lead_client, reader_client, secretariat_client):
    """A sub-project of 數位發展部 with a milestone, a draft report its lead filed, an open and a resolved flag."""
    subproject = make_tree(lead_agency=agency)[3][0]
    return SimpleNamespace(
        lead=lead_client,
        reader=reader_client,
        secretariat=secretariat_client,
        subproject=subproject,
        milestone=MilestoneFactory(node=subproject),
        report=report_in_status(node=subproject, author=lead_client.user),
        open_flag=LagFlagFactory(node=subproject),
        resolved_flag=LagFlagFactory(node=subproject, rule=LagRule.LATE_REPORT, status=FlagStatus.RESOLVED),
    )


def file_report(**fields):
    """The lead files a report for the scene's sub-project, with ``fields`` changed."""
    return lambda scene, headers: scene.lead.post(
        REPORTS, report_body(scene.subproject, **fields), format="json", **headers
    )


def edit_report(**if_match):
    return lambda scene, headers: scene.lead.patch(
        f"{REPORTS}{scene.report.pk}/", {"achievements": "x"}, format="json", **if_match, **headers
    )


def session_client():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="browser-reader"))
    return client


def fail_to_sign_in(scene):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        Client().post(SESSION, {"username": "nobody", "password": "wrong"}, content_type="application/json")


def past_the_limit(scene, headers):
    """A reader's second read where one a day is allowed (gstp/throttles.py)."""
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"read": "1/day"}}):
        scene.reader.get("/api/v1/agencies/")
        return scene.reader.get("/api/v1/agencies/", **headers)


def too_large(scene, headers):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        return scene.lead.post(REPORTS, report_body(scene.subproject, achievements="x" * 200), format="json", **headers)


ERRORS = {
    # 400: DRF's field messages, GSTP's own, and bodies that are not JSON
    "decimal places": ErrorCase(400, "max_decimal_places", file_report(budget_spent="1.5"), ("budget_spent",)),
    "max digits": ErrorCase(400, "max_digits", file_report(budget_spent="1" * 16), ("budget_spent",)),
    "max length": ErrorCase(400, "max_length", file_report(achievements="x" * (TEXT_MAX_CHARS + 1)), ("achievements",)),
    "not a number": ErrorCase(400, "invalid", file_report(planned_progress="abc"), ("planned_progress",)),
    "not a string": ErrorCase(400, "invalid", file_report(achievements={"text": "x"}), ("achievements",)),
    "required": ErrorCase(
        400, "required", lambda s, h: s.lead.post(REPORTS, {"period": "2024Q3"}, format="json", **h), ("project",)
    ),
    "invalid pk": ErrorCase(400, "does_not_exist", file_report(project=999999), ("project",)),
    "pk of the wrong type": ErrorCase(400, "incorrect_type", file_report(project="abc"), ("project",)),
    "invalid date": ErrorCase(
        400,
        "invalid",
        lambda s, h: file_report(milestone_entries=[{"milestone": s.milestone.pk, "completed_on": "someday"}])(s, h),
        ("milestone_entries", 0, "completed_on"),
    ),
    "invalid choice": ErrorCase(
        400,
        "invalid_choice",
        lambda s, h: s.lead.post(
            f"/api/v1/flags/{s.open_flag.pk}/comment/", {"body": "說明", "kind": "bogus"}, format="json", **h
        ),
        ("kind",),
    ),
    "invalid period": ErrorCase(400, "invalid_period", file_report(period="Q3"), ("period",)),
    "unknown field": ErrorCase(400, "invalid", file_report(colour="red"), ("colour",)),
    "invalid filter": ErrorCase(
        400,
        "invalid",
        lambda s, h: s.lead.get("/api/v1/milestones/", {"planned_before": "someday"}, **h),
        ("planned_before",),
    ),
    "invalid page size": ErrorCase(
        400, "invalid", lambda s, h: s.lead.get("/api/v1/projects/", {"page_size": "0"}, **h), ("page_size",)
    ),
    "malformed JSON": ErrorCase(
        400, "parse_error", lambda s, h: s.lead.post(REPORTS, '{"period": ', content_type="application/json", **h)
    ),
    "invalid Idempotency-Key": ErrorCase(
        400,
        "invalid_idempotency_key",
        lambda s, h: s.lead.post(REPORTS, report_body(s.subproject), format="json", HTTP_IDEMPOTENCY_KEY="鍵", **h),
    ),
    # 401
    "no credentials": ErrorCase(401, "not_authenticated", lambda s, h: APIClient().get("/api/v1/projects/", **h)),
    "token header without a key": ErrorCase(
        401, "authentication_failed", lambda s, h: APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION="Token", **h)
    ),
    "unknown key": ErrorCase(
        401,
        "authentication_failed",
        lambda s, h: APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION="Token 0", **h),
    ),
    "nobody signed in": ErrorCase(401, "not_authenticated", lambda s, h: APIClient().get(SESSION, **h)),
    # 403
    "not a lead": ErrorCase(403, "permission_denied", lambda s, h: s.reader.post(REPORTS, {}, format="json", **h)),
    "not the secretariat": ErrorCase(
        403, "permission_denied", lambda s, h: s.lead.post(f"/api/v1/flags/{s.open_flag.pk}/acknowledge/", **h)
    ),
    "session write without CSRF": ErrorCase(
        403, "permission_denied", lambda s, h: session_client().post(REPORTS, {}, format="json", **h)
    ),
    # 404
    "no such object": ErrorCase(404, "not_found", lambda s, h: s.lead.get(f"{REPORTS}999999/", **h)),
    "no such path": ErrorCase(404, "not_found", lambda s, h: s.lead.get("/api/v1/nothing-here/", **h)),
    "invalid cursor": ErrorCase(404, "not_found", lambda s, h: s.lead.get("/api/v1/projects/", {"cursor": "zz"}, **h)),
    # 409, 412, 422, 428: the writes of reports and flags
    "report not submitted": ErrorCase(
        409,
        "invalid_transition",
        lambda s, h: s.secretariat.post(
            f"{REPORTS}{s.report.pk}/accept/", {}, format="json", HTTP_IF_MATCH=s.report.etag, **h
        ),
    ),
    "flag not open": ErrorCase(
        409,
        "invalid_transition",
        lambda s, h: s.secretariat.post(f"/api/v1/flags/{s.resolved_flag.pk}/acknowledge/", **h),
    ),
    "stale If-Match": ErrorCase(412, "precondition_failed", edit_report(HTTP_IF_MATCH='"1-999"')),
    "Idempotency-Key reused": ErrorCase(
        422,
        "idempotency_key_reused",
        lambda s, h: s.lead.post(
            REPORTS, report_body(s.subproject, period="2024Q4"), format="json", HTTP_IDEMPOTENCY_KEY="k-1", **h
        ),
        prepare=lambda s: s.lead.post(REPORTS, report_body(s.subproject), format="json", HTTP_IDEMPOTENCY_KEY="k-1"),
    ),
    "no If-Match": ErrorCase(428, "precondition_required", edit_report()),
    # 413, 415, 429
    "body too large": ErrorCase(413, "request_too_large", too_large),
    "unsupported media type": ErrorCase(
        415,
        "unsupported_media_type",
        lambda s, h: s.lead.post(REPORTS, "period=2024Q3", content_type="text/plain", **h),
    ),
    "too many failed sign-ins": ErrorCase(
        429,
        "too_many_login_attempts",
        lambda s, h: Client().post(
            SESSION, {"username": "nobody", "password": "x"}, content_type="application/json", **h
        ),
        prepare=fail_to_sign_in,
    ),
    "too many requests": ErrorCase(429, "throttled", lambda s, h: past_the_limit(s, h)),
}


def message_at(errors, path):
    for step in path:
        errors = errors[step]
    return errors[0]


# Dates and quarters written in the ROC calendar (民國113年7月1日, 113年第3季) are examples of what to type,
# the same in every language.
ROC_EXAMPLES = re.compile(r"(?:民國)?\d+年(?:第\d季|\d+月(?:\d+日)?)?")


def assert_in_each_language(zh_text, en_text):
    assert CJK.search(zh_text), f"not Chinese: {zh_text!r}"
    assert not CJK.search(ROC_EXAMPLES.sub("", en_text)), f"not English: {en_text!r}"
    assert zh_text != en_text


@pytest.mark.parametrize("name", list(ERRORS))
def test_every_error_answers_in_the_clients_language(scene, name):
    # given
    case = ERRORS[name]
    if case.prepare:
        case.prepare(scene)

    # when
    zh, en = (case.send(scene, {"HTTP_ACCEPT_LANGUAGE": language}) for language in ("zh-Hant", "en"))

    # then
    for response in (zh, en):
        assert response.status_code == case.status, response.content
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == case.code  # codes are for programs: never translated
    assert_in_each_language(zh.json()["detail"], en.json()["detail"])
    if case.field:
        assert_in_each_language(
            message_at(zh.json()["errors"], case.field), message_at(en.json()["errors"], case.field)
        )


def test_every_error_status_the_schema_documents_is_tried(secretariat_client):
    schema = secretariat_client.get("/api/v1/schema/", {"format": "json"}).json()
    documented = {
        status
        for operations in schema["paths"].values()
        for operation in operations.values()
        for status in operation["responses"]
        if status.startswith(("4", "5"))
    }

    # 503 is tried on PostgreSQL, and 411 (a large upload without its length) over ASGI, below
    assert documented == {str(case.status) for case in ERRORS.values()} | {"503", "411"}


def test_the_411_of_a_large_chunked_upload_answers_in_the_clients_language(scene, media, settings):
    big = pdf("x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("報告.pdf", big)})
    chunks = [body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]
    token = token_issue(user=scene.lead.user)
    answers = []
    for language in ("zh-Hant", "en"):
        headers = [
            (b"content-type", MULTIPART_CONTENT.encode()),
            (b"authorization", f"Token {token}".encode()),
            (b"accept-language", language.encode()),
        ]
        status, _, answer = asgi_post(f"{REPORTS}{scene.report.pk}/files/", chunks, headers)
        assert status == 411
        answers.append(json.loads(answer))

    assert [answer["code"] for answer in answers] == ["length_required"] * 2
    assert_in_each_language(answers[0]["detail"], answers[1]["detail"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_503_of_a_lost_database_session_answers_in_the_clients_language(secretariat_client):
    answers = []
    for language in ("zh-Hant", "en"):
        cut_this_session()
        try:
            answers.append(secretariat_client.get("/api/v1/projects/", HTTP_ACCEPT_LANGUAGE=language))
        finally:
            connection.close()  # a cut session stays unusable until closed

    zh, en = answers
    assert zh.status_code == en.status_code == 503, (zh.content, en.content)
    assert zh.json()["code"] == en.json()["code"] == "service_unavailable"
    assert_in_each_language(zh.json()["detail"], en.json()["detail"])


def drf_messages():
    """Every message DRF's fields, relations, exceptions, validators and cursor pages answer with."""
    classes = [
        cls
        for module in (drf_fields, drf_relations, drf_serializers, drf_validators, drf_exceptions)
        for _name, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__.startswith("rest_framework.")  # not Django's validators it imports
    ]
    messages = [
        message
        for cls in classes
        if issubclass(cls, drf_fields.Field)
        for message in getattr(cls, "default_error_messages", {}).values()
    ]
    messages += [cls.default_detail for cls in classes if issubclass(cls, drf_exceptions.APIException)]
    messages += [cls.extra_detail_singular for cls in classes if hasattr(cls, "extra_detail_singular")]
    messages += [cls.extra_detail_plural for cls in classes if hasattr(cls, "extra_detail_plural")]
    messages += [cls.message for cls in classes if getattr(cls, "message", None) is not None]
    messages.append(CursorPagination.invalid_cursor_message)
    return messages


def test_every_message_of_drf_answers_in_chinese():
    """GSTP's catalogue completes DRF's zh_Hant one (gstp/drf_messages.py names what it lacks)."""
    messages = drf_messages()
    assert len(messages) > 60

    with translation.override("zh-hant"):
        english = sorted({str(message) for message in messages if not CJK.search(str(message))})

    assert english == []


# (d) the catalogue -----------------------------------------------------------------------------


def read_po(path):
    """A tiny .po reader: a list of dicts with msgctxt, msgid, msgid_plural, msgstr (a list) and flags.

    Obsolete entries (``#~``) are left out: gettext does not compile them.
    """
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is not None and "msgid" in entry:
                finish()
                entry = None
            entry = entry or {"flags": set(), "msgstr": []}
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        keyword, _space, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = None, line
        if keyword is not None:
            if keyword in ("msgctxt", "msgid") and entry is not None and "msgid" in entry:
                finish()
                entry = None
            entry = entry or {"flags": set(), "msgstr": []}
            field = keyword
            if keyword.startswith("msgstr"):
                entry["msgstr"].append("")
            else:
                entry[field] = ""
        text = ast.literal_eval(rest)
        assert isinstance(text, str), f"{path}:{number}: {line}"
        if field.startswith("msgstr"):
            entry["msgstr"][-1] += text
        else:
            entry[field] += text
    finish()
    return entries


# %-style (GSTP's own messages) and {}-style (DRF's) placeholders
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[sdifr%]|\{\w*(?::\w+)?\}")


@pytest.fixture(scope="module")
def po_entries():
    assert PO_FILE.exists(), "run makemessages -l zh_Hant"
    return read_po(PO_FILE)


def test_catalogue_has_a_proper_header(po_entries):
    header = po_entries[0]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Content-Type: text/plain; charset=UTF-8" in header["msgstr"][0]
    assert "Language: zh_Hant" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]


def test_every_message_is_translated_and_none_is_fuzzy(po_entries):
    messages = po_entries[1:]
    assert len(messages) > 50
    untranslated = [m["msgid"] for m in messages if not all(m["msgstr"])]
    fuzzy = [m["msgid"] for m in messages if "fuzzy" in m["flags"]]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_translations_keep_their_placeholders(po_entries):
    for message in po_entries[1:]:
        # Plural forms follow msgid_plural (Chinese has one form: nplurals=1).
        expected = sorted(PLACEHOLDER.findall(message.get("msgid_plural", message["msgid"])))
        for msgstr in message["msgstr"]:
            assert sorted(PLACEHOLDER.findall(msgstr)) == expected, message["msgid"]


def test_compiled_catalogue_matches_the_po_file(po_entries):
    """django.mo is committed: it must hold exactly what django.po says (run compilemessages after editing)."""
    assert MO_FILE.exists(), "run compilemessages --ignore=.venv"
    with MO_FILE.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    for message in po_entries[1:]:
        msgid = message["msgid"]
        if "msgctxt" in message:
            msgid = f"{message['msgctxt']}\x04{msgid}"
        if "msgid_plural" in message:
            for n, msgstr in enumerate(message["msgstr"]):
                assert catalogue._catalog.get((msgid, n)) == msgstr, message["msgid"]
        else:
            assert catalogue._catalog.get(msgid) == message["msgstr"][0], f"{msgid!r} is stale in django.mo"
    compiled = {key for key in catalogue._catalog if key != ""}
    assert len(compiled) == len(po_entries) - 1, "django.mo holds messages django.po no longer has"


def test_glossary_terms(po_entries):
    """The programme's own words, as the Executive Secretariat writes them."""
    translations = {m["msgid"]: m["msgstr"][0] for m in po_entries[1:]}
    glossary = {
        "plan": "方案",
        "Group": "分組",
        "Strategy section": "推動策略",
        "Measure": "推動措施",
        "Sub-project": "子計畫",
        "sub-project": "子計畫",
        "convening agency": "召集部會",
        "Lead agency": "主辦機關",
        "Co-agency": "協辦機關",
        "Executive Secretariat": "執行秘書室",
        "agency": "機關",
        "short name": "簡稱",
        "alias": "別名",
        "milestone": "查核點",
        "planned date": "預定日期",
        "forecast date": "預估日期",
        "completed on": "完成日期",
        "critical": "關鍵",
        "indicator": "績效指標",
        "target": "目標值",
        "estimate": "預估值",
        "baseline value": "基準值",
        "dimension": "面向",
        "unit": "單位",
        "Reader": "唯讀使用者",
        "Agency project lead": "主辦機關計畫承辦人",
        "role": "角色",
        "heading number": "標題編號",
        "outline key": "大綱鍵值",
    }
    for msgid, expected in glossary.items():
        if msgid in translations:  # a string may leave the code; a new one must still follow the glossary
            assert translations[msgid] == expected, msgid
    # Taiwan usage: 臺 in 新臺幣, no simplified characters.
    text = "".join(translations.values())
    assert "台幣" not in text
    assert not set("计项机关协办门个这说时") & set(text)
