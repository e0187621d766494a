"""The review chain on the pages: the ministry reviewer's queue (部會初核) and its endorsement or return, the
secretariat's queue of what waits for it, a lead's withdrawal and the secretariat's reopening of an accepted
report. Each refusal is the API's: out of scope 404, a visible report and a forbidden step 403, a reason
missing refused with the API's words next to the field."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from reviews import services
from reviews.models import QuarterlyReport, ReportAction, ReportEvent, ReportStatus
from reviews.periods import Quarter
from reviews.services import files
from tests.accounts.factories import UserFactory
from tests.console.conftest import report_endorsed, report_reopened, signed_in, small_pdf, upload
from tests.console.test_report_form import field_errors
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.factories import report_in_status


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def queue_ids(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="report-(\d+)" data-report="\d+">', html)]


def api_errors(user, path, body, report) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(path, body, format="json", HTTP_IF_MATCH=report.etag)
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def status_of(report) -> str:
    return QuarterlyReport.objects.get(pk=report.pk).status


# --- the reviewer's page -----------------------------------------------------------------------------------


def test_a_reviewer_lands_on_its_queue_and_finds_it_in_the_menu(reviewer, lead, secretariat, reader):
    assert reviewer.get("/")["Location"] == "/review/"

    for client, offered in ((reviewer, True), (lead, False), (secretariat, False), (reader, False)):
        html = html_of(client.get("/dashboard/"))
        assert ('href="/review/"' in html) is offered, client.user.username
    assert 'href="/review/" aria-current="page"' in html_of(reviewer.get("/review/"))


def test_the_queue_holds_the_ministry_s_reports_awaiting_endorsement_oldest_first(
    reviewer, reviewer_user, world, endorsing
):
    # given submitted reports of the ministry, of its sub-unit and of another ministry, and some in other states
    second = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 2))
    first = report_in_status(node=world.unit_subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 1))
    QuarterlyReport.objects.filter(pk=first.pk).update(submitted_at=timezone.now() - datetime.timedelta(days=9))
    report_in_status(node=world.other_subproject, status=ReportStatus.SUBMITTED)  # 經濟部's: not this ministry's
    report_in_status(node=world.subproject, status=ReportStatus.DRAFT, period=Quarter(2024, 3))
    report_endorsed(node=world.subproject, reviewer=reviewer_user, period=Quarter(2024, 4))

    # when
    html = html_of(reviewer.get("/review/"))

    # then: the submitted ones of its ministry and sub-units, the longest waiting first
    assert queue_ids(html) == [first.pk, second.pk]
    row = re.search(rf'<tr id="report-{first.pk}".*?</tr>', html, re.S).group(0)
    assert world.unit_subproject.title in row and "2024Q1" in row
    assert 'data-days="9"' in row
    assert timezone.localdate(timezone.now() - datetime.timedelta(days=9)).isoformat() in row
    assert f'href="/reports/{first.pk}/#history"' in row and f'href="/reports/{first.pk}/#review"' in row
    assert "初核" in html


def test_the_queue_shows_each_report_s_evidence_files_linking_to_the_api_download(
    reviewer, world, endorsing, evidence_storage
):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    evidence = files.report_file_add(actor=world.lead, report=report, upload=upload("第二季佐證.pdf"))
    report = QuarterlyReport.objects.get(pk=report.pk)
    services.report_submit(actor=world.lead, report=report, expected_version=report.version)

    html = html_of(reviewer.get("/review/"))

    url = f"/api/v1/reports/{report.pk}/files/{evidence.pk}/"
    assert f'<a href="{url}" download="第二季佐證.pdf"' in html and "第二季佐證.pdf</a>" in html
    # the reviewer's signed-in session downloads it from the API
    download = reviewer.get(url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == small_pdf()


@pytest.mark.parametrize("role", ["lead", "reader"])
def test_the_queue_is_refused_to_whoever_reviews_nothing(request, world, role):
    response = request.getfixturevalue(role).get("/review/")

    assert response.status_code == 403
    assert 'role="alert"' in response.content.decode()


def test_the_queue_asks_an_anonymous_visitor_to_sign_in(db):
    response = Client().get("/review/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/review/"


# --- endorsement and return by the ministry ---------------------------------------------------------------


def test_the_reviewer_endorses_from_the_report_page(reviewer, secretariat, world, endorsing):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    page = html_of(reviewer.get(f"/reports/{report.pk}/"))
    assert 'data-action="endorse"' in page and 'data-action="return"' in page
    assert 'data-action="accept"' not in page
    assert '<section class="panel" id="history"' in page  # its history, as the API's history endpoint

    response = reviewer.post(f"/reports/{report.pk}/endorse/", {"version": report.version}, follow=True)

    assert response.redirect_chain == [(f"/reports/{report.pk}/", 302)]
    assert status_of(report) == ReportStatus.ENDORSED
    html = response.content.decode()
    assert "message--success" in html and 'data-status="endorsed"' in html
    assert "初核通過" in html  # the status, and the history's step
    assert 'data-action="endorse"' not in html
    # it now waits for the secretariat, on its dashboard, with the accept button
    dashboard = html_of(secretariat.get("/dashboard/"))
    section = dashboard[dashboard.index('id="reviews"') :]
    assert f'<tr id="report-{report.pk}">' in section and 'data-action="accept"' in section
    assert queue_ids(html_of(reviewer.get("/review/"))) == []


def test_an_endorsement_from_a_stale_page_changes_nothing_and_says_why(reviewer, world, endorsing):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    response = reviewer.post(f"/reports/{report.pk}/endorse/", {"version": report.version - 1}, follow=True)

    assert status_of(report) == ReportStatus.SUBMITTED
    assert "message--error" in response.content.decode()


@pytest.mark.parametrize(("role", "expected"), [("lead", 403), ("secretariat", 403), ("reader", 404)])
def test_only_the_ministry_s_reviewer_endorses(request, world, endorsing, role, expected):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    response = request.getfixturevalue(role).post(f"/reports/{report.pk}/endorse/", {"version": report.version})

    assert response.status_code == expected
    assert status_of(report) == ReportStatus.SUBMITTED


def test_another_ministry_s_reviewer_does_not_see_the_report(world, endorsing):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)
    other = signed_in(UserFactory(username="moea-reviewer", role=Role.REVIEWER, agency=world.other_agency))

    assert other.get(f"/reports/{report.pk}/").status_code == 404
    assert other.post(f"/reports/{report.pk}/endorse/", {"version": report.version}).status_code == 404
    assert queue_ids(html_of(other.get("/review/"))) == []


def test_the_reviewer_returns_a_report_with_a_reason_the_lead_then_reads(
    reviewer, reviewer_user, lead, world, endorsing
):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)
    field = f"return-{report.pk}-reason"

    refused = reviewer.post(f"/reports/{report.pk}/return/", {"version": report.version, field: " "})

    expected = api_errors(reviewer_user, f"/api/v1/reports/{report.pk}/return/", {"reason": " "}, report)
    assert refused.status_code == 400
    assert field_errors(refused, field) == expected["reason"]
    assert status_of(report) == ReportStatus.SUBMITTED

    returned = reviewer.post(
        f"/reports/{report.pk}/return/",
        {"version": report.version, field: "累計執行數與會計報表不符", "next": f"/reports/{report.pk}/"},
    )
    assert returned.status_code == 302 and returned["Location"] == f"/reports/{report.pk}/"
    assert status_of(report) == ReportStatus.RETURNED
    page = html_of(lead.get(f"/reports/{report.pk}/"))
    assert "累計執行數與會計報表不符" in page and 'id="submit-report"' in page


def test_the_secretariat_s_queue_is_what_waits_for_it(secretariat, reviewer_user, world, endorsing):
    # given: in the endorsing plan, one report endorsed and one still with the ministry
    endorsed = report_endorsed(node=world.subproject, reviewer=reviewer_user, period=Quarter(2024, 1))
    report_in_status(node=world.unit_subproject, status=ReportStatus.SUBMITTED)
    # and in a plan without the ministry level, a submitted report
    direct_plan = PlanFactory(code="direct", name="直送方案")
    (_, _, _, (direct_node,)) = make_tree(direct_plan, lead_agency=world.other_agency, prefix="直送")
    direct = report_in_status(node=direct_node, status=ReportStatus.SUBMITTED)

    html = html_of(secretariat.get("/dashboard/"))
    section = html[html.index('id="reviews"') :]

    # the longest waiting first: since its endorsement, or since its submission
    assert re.findall(r'<tr id="report-(\d+)">', section) == [str(endorsed.pk), str(direct.pk)]
    assert f'<tr id="report-{endorsed.pk}">' in section and 'data-status="endorsed"' in section
    assert section.count('data-action="accept"') == 2

    accepted = secretariat.post(f"/reports/{endorsed.pk}/accept/", {"version": endorsed.version})
    assert accepted.status_code == 302 and status_of(endorsed) == ReportStatus.ACCEPTED


def test_the_secretariat_cannot_accept_what_waits_for_the_ministry(secretariat, world, endorsing):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    page = html_of(secretariat.get(f"/reports/{report.pk}/"))
    assert 'data-action="accept"' not in page and 'data-action="return"' not in page

    response = secretariat.post(f"/reports/{report.pk}/accept/", {"version": report.version}, follow=True)
    assert status_of(report) == ReportStatus.SUBMITTED
    assert "message--error" in response.content.decode()


def test_the_dashboard_has_no_review_queue_for_a_lead_or_a_reader(lead, reader, world):
    report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    for client in (lead, reader):
        assert 'id="reviews"' not in html_of(client.get("/dashboard/"))


# --- withdrawal ------------------------------------------------------------------------------------


def test_a_lead_withdraws_a_submitted_report_nobody_has_reviewed(lead, world, endorsing):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)
    page = html_of(lead.get(f"/reports/{report.pk}/"))
    assert 'data-action="withdraw"' in page

    response = lead.post(
        f"/reports/{report.pk}/withdraw/",
        {"version": report.version, f"withdraw-{report.pk}-reason": "預算數填錯"},
        follow=True,
    )

    assert response.redirect_chain == [(f"/reports/{report.pk}/", 302)]
    assert status_of(report) == ReportStatus.DRAFT
    html = response.content.decode()
    assert 'id="submit-report"' in html  # a draft again, to change and submit
    event = ReportEvent.objects.filter(report=report).latest("version")
    assert (event.action, event.reason) == (ReportAction.WITHDRAW, "預算數填錯")
    history = html[html.index('id="history"') :]
    assert "撤回" in history and "預算數填錯" in history


def test_an_endorsed_report_is_not_withdrawn(lead, reviewer_user, world, endorsing):
    report = report_endorsed(node=world.subproject, reviewer=reviewer_user)
    assert 'data-action="withdraw"' not in html_of(lead.get(f"/reports/{report.pk}/"))

    response = lead.post(f"/reports/{report.pk}/withdraw/", {"version": report.version}, follow=True)

    assert status_of(report) == ReportStatus.ENDORSED
    assert "message--error" in response.content.decode()


@pytest.mark.parametrize(("role", "expected"), [("secretariat", 403), ("other_lead", 404), ("reader", 404)])
def test_only_the_sub_project_s_lead_withdraws(request, world, role, expected):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    response = request.getfixturevalue(role).post(f"/reports/{report.pk}/withdraw/", {"version": report.version})

    assert response.status_code == expected and status_of(report) == ReportStatus.SUBMITTED


# --- reopening -------------------------------------------------------------------------------------


def test_the_secretariat_reopens_an_accepted_report_with_a_reason(secretariat, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED)
    field = f"reopen-{report.pk}-reason"
    page = html_of(secretariat.get(f"/reports/{report.pk}/"))
    assert 'data-action="reopen"' in page

    refused = secretariat.post(f"/reports/{report.pk}/reopen/", {"version": report.version, field: ""})
    expected = api_errors(world.secretariat, f"/api/v1/reports/{report.pk}/reopen/", {"reason": ""}, report)
    assert refused.status_code == 400
    assert field_errors(refused, field) == expected["reason"]
    assert status_of(report) == ReportStatus.ACCEPTED

    reopened = secretariat.post(
        f"/reports/{report.pk}/reopen/", {"version": report.version, field: "第一季經費執行數有誤，請更正"}
    )
    assert reopened.status_code == 302 and reopened["Location"] == f"/reports/{report.pk}/"
    stored = QuarterlyReport.objects.get(pk=report.pk)
    assert stored.status == ReportStatus.RETURNED and stored.is_reopened
    assert stored.reopen_reason == "第一季經費執行數有誤，請更正"


def test_the_reopen_page_asks_for_the_reason(secretariat, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED)

    html = html_of(secretariat.get(f"/reports/{report.pk}/reopen/"))

    assert f'name="reopen-{report.pk}-reason"' in html and 'data-action="reopen"' in html


def test_a_reopened_report_says_so_and_why_and_keeps_its_accepted_figures(lead, world):
    report = report_reopened(node=world.subproject, reason="第一季經費執行數有誤，請更正")

    html = html_of(lead.get(f"/reports/{report.pk}/"))

    notice = re.search(r'<section class="panel panel--notice" id="reopened".*?</section>', html, re.S).group(0)
    assert "重新開啟" in notice
    assert re.search(r'<dd id="reopen-reason">第一季經費執行數有誤，請更正</dd>', notice)
    assert "200,000" in notice  # the accepted budget spent, in force until the correction is accepted
    assert 'id="submit-report"' in html  # back with the lead, to correct
    history = html[html.index('id="history"') :]
    assert "重新開啟" in history and "第一季經費執行數有誤，請更正" in history
    # the sub-project's list of reports says so too
    listed = html_of(lead.get(f"/projects/{world.subproject.pk}/"))
    card = re.search(rf'<article class="flag" id="report-{report.pk}".*?</article>', listed, re.S).group(0)
    assert "已重新開啟待更正" in card and "第一季經費執行數有誤，請更正" in card


@pytest.mark.parametrize(("role", "expected"), [("lead", 403), ("reader", 403), ("reviewer", 403)])
def test_only_the_secretariat_reopens(request, world, role, expected):
    report = report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED)
    client = request.getfixturevalue(role)

    assert client.get(f"/reports/{report.pk}/reopen/").status_code == expected
    response = client.post(
        f"/reports/{report.pk}/reopen/", {"version": report.version, f"reopen-{report.pk}-reason": "請更正"}
    )

    assert response.status_code == expected and status_of(report) == ReportStatus.ACCEPTED


def test_a_report_that_is_not_accepted_is_not_reopened(secretariat, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)

    response = secretariat.post(
        f"/reports/{report.pk}/reopen/", {"version": report.version, f"reopen-{report.pk}-reason": "請更正"}
    )

    assert response.status_code == 409  # as the API answers
    assert 'role="alert"' in response.content.decode()
    assert status_of(report) == ReportStatus.SUBMITTED


# --- the words for the new steps -------------------------------------------------------------------


def test_every_step_of_the_chain_has_its_words_in_the_history(secretariat, reviewer_user, world, endorsing):
    report = report_endorsed(node=world.subproject, reviewer=reviewer_user)

    html = html_of(secretariat.get(f"/reports/{report.pk}/"))
    history = html[html.index('id="history"') :]

    assert "已送出 → 初核通過" in history
    en = html_of(secretariat.get(f"/reports/{report.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Submitted → Endorsed by the ministry" in en
