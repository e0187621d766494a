"""A favicon: the console's pages and the admin link it, and ``/favicon.ico`` (asked for by browsers wherever a
page names no icon: the API's JSON, its docs) leads to it rather than a 404."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.accounts.factories import UserFactory, secretariat_user

ICON = "/static/console/favicon.svg"
ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


def test_the_icon_is_an_svg_shipped_with_the_console():
    path = finders.find("console/favicon.svg")

    assert path is not None
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")


@pytest.mark.parametrize("path", ["/favicon.ico", "/favicon.ico?v=1"])
def test_favicon_ico_leads_to_the_icon(db, path):
    response = Client().get(path)

    assert response.status_code in (301, 302)
    assert response["Location"] == ICON


def test_console_pages_and_the_admin_link_the_icon(db):
    secretariat = Client()
    secretariat.force_login(secretariat_user("icon-secretariat"))
    admin = Client()
    admin.force_login(UserFactory(username="icon-admin", is_staff=True, is_superuser=True))

    pages = [
        Client().get("/accounts/login/"),
        secretariat.get("/dashboard/"),
        Client().get("/admin/login/"),
        admin.get("/admin/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert ICON_LINK.findall(page.content.decode()) == [ICON]
