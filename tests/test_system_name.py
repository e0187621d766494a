"""The system names itself one way, GSTP 智慧國家方案管考系統, in both languages: the console's pages, the
admin, the API schema, the sender of its emails and the annual report it drafts."""

import re
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.test import Client

from reviews.services import notifications
from tests.accounts.factories import UserFactory, secretariat_user
from tests.projects.factories import PlanFactory, make_tree

NAME = "GSTP 智慧國家方案管考系統"  # written out: the test pins the name itself
OTHER_NAMES = ["科技計畫管理系統"]
REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.S)


def title_of(response) -> str:
    return PAGE_TITLE.search(response.content.decode()).group(1)


@pytest.fixture
def secretariat_browser(db):
    browser = Client()
    browser.force_login(secretariat_user("named-secretariat"))
    return browser


@pytest.mark.parametrize(
    ("language", "lede"), [("zh-Hant", f"{NAME}，供執行秘書室"), ("en", f"{NAME}, for the")], ids=["zh-Hant", "en"]
)
def test_the_console_names_the_system(secretariat_browser, language, lede):
    sign_in = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language)
    dashboard = secretariat_browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE=language)

    for page in (sign_in, dashboard):
        assert page.status_code == 200
        assert f'<a class="brand" href="/">{NAME}</a>' in page.content.decode()
        assert title_of(page).endswith(f"| {NAME}")
    assert lede in sign_in.content.decode()


@pytest.mark.parametrize("language", ["zh-Hant", "en"])
def test_the_admin_names_the_system(db, language):
    admin = Client()
    admin.force_login(UserFactory(username="named-admin", is_staff=True, is_superuser=True))

    login = Client().get("/admin/login/", HTTP_ACCEPT_LANGUAGE=language)
    index = admin.get("/admin/", HTTP_ACCEPT_LANGUAGE=language)

    for page in (login, index):
        assert page.status_code == 200
        assert f'<a href="/admin/">{NAME}</a>' in page.content.decode()
        assert title_of(page).endswith(f"| {NAME}")


def test_the_annual_report_names_the_system(secretariat_browser):
    plan = PlanFactory(code="smart-nation", name="智慧國家方案")
    make_tree(plan)

    response = secretariat_browser.get("/reports/annual/2024.md", {"plan": "smart-nation"})

    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert f"本草稿由 {NAME}依已審查之季報" in text
    assert not any(other in text for other in OTHER_NAMES)


def test_the_api_schema_names_the_system(secretariat_client):
    info = secretariat_client.get("/api/v1/schema/", {"format": "json"}).json()["info"]

    assert info["title"] == f"{NAME} API"
    assert info["description"].startswith(f"{NAME}: ")


@pytest.mark.parametrize(
    ("configured", "sent_as"),
    [
        ("gstp@example.gov.tw", f"{NAME} <gstp@example.gov.tw>"),
        ("管考小組 <gstp@example.gov.tw>", "管考小組 <gstp@example.gov.tw>"),  # a name of the deployment's own
    ],
    ids=["address", "named"],
)
def test_emails_come_from_the_system(db, settings, mailoutbox, configured, sent_as):
    settings.DEFAULT_FROM_EMAIL = configured

    notifications.send_once(key="name", subject="[GSTP] 測試", body="本文", recipients=["sec@example.gov.tw"])

    (message,) = mailoutbox
    assert message.from_email == sent_as
    assert str(make_header(decode_header(message.message()["From"]))) == sent_as


def test_no_other_name_is_left_in_the_sources():
    sources = [
        path
        for folder in ("accounts", "console", "gstp", "indicators", "projects", "reviews", "templates", "locale")
        for path in (REPO_ROOT / folder).rglob("*")
        if path.suffix in {".py", ".html", ".txt", ".po", ".md", ".css", ".js", ".svg"}
    ]
    sources.append(REPO_ROOT / "README.md")

    assert sources
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not any(other in text for other in OTHER_NAMES), path
