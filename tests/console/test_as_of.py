"""The dashboard and the sub-project page as of a past date: the state of that moment, a banner saying so,
and no action offered."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.accounts.factories import secretariat_user
from tests.console.conftest import signed_in
from tests.projects.factories import SubprojectFactory
from tests.reviews.factories import LagFlagFactory, lead_user_for, moment, scripted_history


@pytest.fixture
def history(agency):
    return scripted_history(agency)


@pytest.fixture
def browser(db):
    return signed_in(secretariat_user("as-of-secretariat"))


def page(browser, path, **params):
    response = browser.get(path, params, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def test_the_dashboard_as_of_a_past_moment(browser, history):
    sub, _, _, flag, moments = history
    now = page(browser, "/dashboard/", plan=sub.plan_id)
    then = page(browser, "/dashboard/", plan=sub.plan_id, as_of=moments["flagged"])
    assert 'id="as-of-banner"' not in now
    assert 'id="as-of-banner"' in then and "當時的狀態" in then
    assert f'<strong data-count="{flag.severity}">1</strong>' in then
    assert f'<strong data-count="{flag.severity}">0</strong>' in now
    assert 'data-action="acknowledge"' not in then and "flag-resolve" not in then.replace("flag-resolved", "")
    assert 'id="reviews"' not in then


def test_the_sub_project_page_as_of_a_past_moment(history):
    sub, _, report, _, moments = history
    lead = signed_in(lead_user_for(sub))
    file_link = reverse("console:report-new", args=[sub.pk])
    then = page(lead, f"/projects/{sub.pk}/", as_of=moments["filed"])
    assert "2025-12-31" in then and "2026-06-30" not in then  # the end date before it moved
    assert 'id="as-of-banner"' in then
    assert file_link not in then
    assert file_link in page(lead, f"/projects/{sub.pk}/")
    later = page(lead, f"/projects/{sub.pk}/", as_of=moments["revised"])
    assert "2026-06-30" in later
    before = lead.get(f"/projects/{sub.pk}/", {"as_of": "2020-01-01"})
    assert before.status_code == 404  # it did not exist yet


def test_a_bad_date_is_said_on_the_page(browser, history):
    sub, *_ = history
    body = page(browser, "/dashboard/", plan=sub.plan_id, as_of="2999-01-01")
    assert 'id="as-of-error"' in body and "尚未" in body
    assert 'id="as-of-banner"' not in body


def test_the_dashboard_as_of_costs_no_more_for_many_flags(browser, history, agency):
    sub, _, _, _, moments = history
    LagFlagFactory(node=sub, rule="late_report")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            page(browser, "/dashboard/", plan=sub.plan_id, as_of=moment())
        return len(captured)

    one = queries()
    for index in range(4):  # under the same group and agency: the rollups' units stay the same
        other = SubprojectFactory(plan=sub.plan, parent=sub.parent, title=f"子計畫 {index}", lead_agency=agency)
        LagFlagFactory(node=other, rule="late_report")
    assert queries() == one
