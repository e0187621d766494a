"""The annual report and corrections: a report the secretariat reopened stays in the report with the figures and
words it was accepted with, and a line saying it is being corrected and why; nothing of the correction in
progress shows. Once accepted again, its new figures show, with a short line that it was corrected.

The reports go through the services (accept, reopen, the lead's edits), as the application writes them.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviews import services
from reviews.access import reports_for, reports_in_force_for
from reviews.annual import annual_report_build, publication_reader
from reviews.annual.markdown import render_markdown
from reviews.models import QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.accounts.factories import secretariat_user
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import lead_user_for, report_in_status

pytestmark = pytest.mark.django_db

YEAR = 2024
REASON = "經費支用數與會計報告不符，請更正"
ACCEPTED_LINE = (
    "執行進度（2024Q2 季報）：預定累計進度 40%，實際累計進度 45%（超前 5 個百分點）；"
    "經費執行率 40%（累計實支 200,000 元、應付未付 0 元、節餘 0 元／累計分配 500,000 元）。"
)


@pytest.fixture
def node(db):
    plan = PlanFactory(code="smart-nation")
    _, _, _, (sub,) = make_tree(plan, lead_agency=AgencyFactory(name="數位發展部"))
    return sub


@pytest.fixture
def accepted(node):
    """The sub-project's 2024Q2 report, accepted with 45% actual progress and 200,000 spent of 500,000."""
    return report_in_status(
        node=node, status=ReportStatus.ACCEPTED, period=Quarter(YEAR, 2), achievements="完成資料盤點"
    )


def reopen(report, reason=REASON) -> QuarterlyReport:
    return services.report_reopen(
        actor=secretariat_user(), report=report, expected_version=report.version, reason=reason
    )


def correct(report, **data) -> QuarterlyReport:
    """The lead's edit of a reopened report: a draft correction, not yet submitted."""
    return services.report_update(
        actor=lead_user_for(report.node), report=report, expected_version=report.version, data=data
    )


def annual_text(node, user=None) -> str:
    return render_markdown(annual_report_build(plan=node.plan, year=YEAR, user=user or publication_reader()))


def test_an_accepted_report_is_shown_as_accepted(node, accepted):
    text = annual_text(node)

    assert ACCEPTED_LINE in text
    assert "重新開啟更正" not in text


def test_a_reopened_report_keeps_its_accepted_figures_and_says_it_is_being_corrected(node, accepted):
    # given the secretariat reopened the report and the lead has started correcting it
    reopened = reopen(accepted)
    correct(
        reopened,
        actual_progress=Decimal("42.00"),
        budget_spent=Decimal("350000"),
        achievements="更正中之草稿文字",
        delay_reasons="更正中之落後原因",
    )
    assert QuarterlyReport.objects.get(pk=accepted.pk).status == ReportStatus.RETURNED

    # when the annual report is built as the public reads it
    text = annual_text(node)

    # then the report is there with the figures and words it was accepted with
    assert ACCEPTED_LINE in text
    assert "推動成果：完成資料盤點" in text
    # and a line says it is reopened for correction, when and why
    day = timezone.localdate(reopened.reopened_at)
    assert (
        f"本季報已於 {day.year} 年 {day.month} 月 {day.day} 日重新開啟更正（原因：{REASON}），以上為更正前經審查之數據。"
        in text
    )
    # and nothing of the draft correction leaks
    for draft in ("42%", "350,000", "更正中之草稿文字", "更正中之落後原因"):
        assert draft not in text
    assert "尚無經審查之季報" not in text


def test_the_reopened_report_counts_as_reported(node, accepted):
    reopen(accepted)

    text = annual_text(node)

    assert "其中 1 項已有 2024 年經審查之季報" in text


def test_the_secretariat_builds_the_same_report(node, accepted):
    correct(reopen(accepted), actual_progress=Decimal("42.00"))

    assert annual_text(node, user=secretariat_user()) == annual_text(node)


def test_a_report_accepted_again_shows_its_new_figures_and_that_it_was_corrected(node, accepted):
    # given the report was reopened, corrected, submitted and accepted again
    reopened = reopen(accepted)
    corrected = correct(reopened, budget_spent=Decimal("350000"), achievements="完成資料盤點（更正）")
    lead = lead_user_for(node)
    corrected = services.report_submit(actor=lead, report=corrected, expected_version=corrected.version)
    services.report_accept(actor=secretariat_user(), report=corrected, expected_version=corrected.version)

    text = annual_text(node)

    assert "經費執行率 70%（累計實支 350,000 元、應付未付 0 元、節餘 0 元／累計分配 500,000 元）" in text
    assert "推動成果：完成資料盤點（更正）" in text
    day = timezone.localdate(reopened.reopened_at)
    assert f"本季報於 {day.year} 年 {day.month} 月 {day.day} 日重新開啟更正，以上為更正後經審查之數據。" in text
    # the reason, like a return's, stays in the report's history once it is accepted again
    assert REASON not in text


def test_a_later_accepted_quarter_takes_the_place_of_a_reopened_one(node, accepted):
    reopen(accepted)
    report_in_status(node=node, status=ReportStatus.ACCEPTED, period=Quarter(YEAR, 3))

    text = annual_text(node)

    assert "執行進度（2024Q3 季報）" in text
    assert "重新開啟更正" not in text


def test_a_reopened_report_of_another_year_is_not_this_years(node):
    reopen(report_in_status(node=node, status=ReportStatus.ACCEPTED, period=Quarter(YEAR - 1, 4)))

    assert "執行進度：2024 年尚無經審查之季報。" in annual_text(node)


def test_readers_see_a_reopened_report_only_as_in_force(node, accepted):
    reopened = reopen(accepted)
    reader = publication_reader()

    assert reopened.pk not in reports_for(reader).values_list("pk", flat=True)
    assert reopened.pk in reports_in_force_for(reader).values_list("pk", flat=True)
    draft = report_in_status(node=node, period=Quarter(YEAR, 3))
    assert draft.pk not in reports_in_force_for(reader).values_list("pk", flat=True)
    assert not reports_in_force_for(None).exists()


def test_a_reopened_report_costs_no_query_more(node, accepted):
    plan = node.plan
    with CaptureQueriesContext(connection) as before:
        render_markdown(annual_report_build(plan=plan, year=YEAR, user=publication_reader()))

    correct(reopen(accepted), actual_progress=Decimal("42.00"))

    with CaptureQueriesContext(connection) as after:
        render_markdown(annual_report_build(plan=plan, year=YEAR, user=publication_reader()))
    assert len(after) == len(before)


def test_the_reader_downloads_the_reopened_report_with_its_accepted_figures(node, accepted, reader_client):
    correct(reopen(accepted), actual_progress=Decimal("42.00"))

    response = reader_client.get(f"/reports/annual/{YEAR}.md", {"plan": node.plan.code})

    assert response.status_code == 200
    text = response.content.decode()
    assert ACCEPTED_LINE in text
    assert f"（原因：{REASON}）" in text
    assert "實際累計進度 42%" not in text


def test_the_date_of_reopening_is_taipeis(node, accepted):
    # given the report reopened at 07:30 on 2024-08-01 in Taipei (23:30 on 2024-07-31 in UTC)
    reopened = reopen(accepted)
    moment = datetime.datetime(2024, 7, 31, 23, 30, tzinfo=datetime.UTC)
    QuarterlyReport.objects.filter(pk=reopened.pk).update(reopened_at=moment)

    assert "本季報已於 2024 年 8 月 1 日重新開啟更正" in annual_text(node)
