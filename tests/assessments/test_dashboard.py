"""The dashboard shows the plan's latest published grades by group and by lead agency, as charts and tables;
nothing of an assessment that is not published."""

import re

import pytest
from django.test import Client

from assessments import services
from tests.accounts.factories import reader_user, secretariat_user

from .factories import open_scheme
from .test_annual_chapter import finalize_all

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_published_grades_only(agency):
    scheme, assessments = open_scheme(agency=agency, subprojects=3)
    finalize_all(agency, scheme, assessments, ("100", "70", "20"))  # 優等, 甲等, 丙等
    reader = signed_in(reader_user("reader"))
    secretariat = signed_in(secretariat_user())
    for client in (reader, secretariat):
        html = client.get(f"/dashboard/?plan={scheme.plan.pk}").content.decode()
        assert 'id="grades"' not in html

    services.scheme_publish(actor=secretariat_user(), scheme=scheme)
    for client in (reader, secretariat):
        html = client.get(f"/dashboard/?plan={scheme.plan.pk}").content.decode()
        section = re.search(r'<section class="panel" id="grades".*?</section>', html, re.S).group(0)
        table = re.search(r'<table id="grades-by-group-table">(.*?)</table>', section, re.S).group(1)
        cells = re.findall(r'<td class="number">(\d+)</td>', table)
        assert cells == ["1", "1", "0", "1"]
        agencies = re.search(r'<table id="grades-by-agency-table">(.*?)</table>', section, re.S).group(1)
        assert "數位發展部" in agencies
        chart = re.search(r'<svg [^>]*id="grades-by-group".*?</svg>', section, re.S).group(0)
        assert len(re.findall(r'class="seg grade--\d"><title>', chart)) == 3  # three grades with a sub-project each
        assert "優等 1" in chart and "丙等 1" in chart
