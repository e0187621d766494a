"""Filing a quarterly report on the page: a draft, its edits, its submission, a returned report fixed.

The page refuses what the API refuses with the API's own words, and puts each message next to its field:
every case below sends the same figures to ``/api/v1/reports/`` and compares the messages.
"""

import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
from rest_framework.test import APIClient

from reviews.models import QuarterlyReport, ReportAction, ReportKind, ReportStatus
from reviews.periods import Quarter
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import BudgetYearFactory
from tests.reviews.factories import of_kind, report_in_status


def field_errors(response, name) -> list[str]:
    """The messages shown next to a field (Django's error list, tied to the field by its id)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{re.escape(name)}_error">(.*?)</ul>', html, re.S)
    return [unescape(item) for item in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)] if match else []


def api_errors(user, body, path="/api/v1/reports/", **headers) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(path, body, format="json", **headers)
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def new_report_url(node):
    return f"/projects/{node.pk}/reports/new/"


FIGURES = {
    "planned_progress": "50",
    "actual_progress": "55",
    "budget_spent": "1900000",
    "budget_payables": "50000",
    "achievements": "完成資料盤點",
}


# --- the API's messages, next to the fields --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"planned_progress": "60", "actual_progress": "40"}, "delay_reasons"),  # behind plan, no reasons
        ({"planned_progress": "abc"}, "planned_progress"),  # not a number
        ({"actual_progress": "150"}, "actual_progress"),  # over 100 %
        ({"budget_spent": "-1"}, "budget_spent"),  # negative money
        ({"budget_payables": "4000001"}, "budget_payables"),  # above the year's appropriation
        ({"budget_forecast_rate": "101"}, "budget_forecast_rate"),  # over 100 %
        ({"achievements": "字" * 10_001}, "achievements"),  # longer than a report field holds
    ],
)
def test_a_draft_is_refused_with_the_api_s_message_next_to_the_field(lead, world, typed, field):
    BudgetYearFactory(node=world.subproject, year=2024)  # 4,000,000 appropriated
    body = {**FIGURES, **typed}

    response = lead.post(new_report_url(world.subproject), {"period": "2024Q2", "action": "save", **body})

    expected = api_errors(world.lead, {"project": world.subproject.pk, "period": "2024Q2", **body})
    assert response.status_code == 400
    assert field_errors(response, field) == expected[field]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not QuarterlyReport.objects.exists()


def test_a_quarter_outside_the_sub_project_is_refused_as_the_api_refuses_it(lead, world):
    response = lead.post(new_report_url(world.subproject), {"period": "2023Q4", "action": "save", **FIGURES})

    expected = api_errors(world.lead, {"project": world.subproject.pk, "period": "2023Q4", **FIGURES})
    assert field_errors(response, "period") == expected["period"]


def test_submitting_without_the_figures_names_each_missing_one(lead, world):
    # given a draft with words but no figures
    lead.post(new_report_url(world.subproject), {"period": "2024Q1", "action": "save", "achievements": "開始執行"})
    report = QuarterlyReport.objects.get()

    # when it is submitted
    response = lead.post(
        f"/reports/{report.pk}/", {"version": report.version, "achievements": "開始執行", "action": "submit"}
    )

    # then each figure says it is required, in the API's words
    client = APIClient()
    client.force_authenticate(world.lead)
    report.refresh_from_db()
    api = client.post(f"/api/v1/reports/{report.pk}/submit/", {}, format="json", HTTP_IF_MATCH=report.etag)
    assert api.status_code == 400
    for name in ("planned_progress", "actual_progress", "budget_spent"):
        assert field_errors(response, name) == api.json()["errors"][name]
    assert QuarterlyReport.objects.get().status == ReportStatus.DRAFT


def test_lower_progress_than_the_last_accepted_quarter_needs_an_explanation(lead, world):
    report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 1))
    body = {**FIGURES, "planned_progress": "40", "actual_progress": "41"}  # 45 % was accepted for 2024Q1

    response = lead.post(new_report_url(world.subproject), {"period": "2024Q2", "action": "save", **body})

    expected = api_errors(world.lead, {"project": world.subproject.pk, "period": "2024Q2", **body})
    assert field_errors(response, "progress_explanation") == expected["progress_explanation"]


def test_a_milestone_date_that_is_not_a_date_is_refused_next_to_that_milestone(lead, world):
    milestone = world.subproject.milestones.order_by("planned_date").last()
    typed = {f"milestone-{milestone.pk}-completed_on": "2025-13-01"}

    response = lead.post(new_report_url(world.subproject), {"period": "2025Q2", "action": "save", **FIGURES, **typed})

    expected = api_errors(
        world.lead,
        {
            "project": world.subproject.pk,
            "period": "2025Q2",
            **FIGURES,
            "milestone_entries": [{"milestone": milestone.pk, "completed_on": "2025-13-01"}],
        },
    )
    assert (
        field_errors(response, f"milestone-{milestone.pk}-completed_on")
        == expected["milestone_entries"][0]["completed_on"]
    )


# --- the lifecycle ----------------------------------------------------------------------------------------


def test_a_lead_files_edits_and_submits_a_report(lead, world):
    milestone = world.subproject.milestones.order_by("planned_date").last()
    indicator = IndicatorFactory(
        node=world.subproject,
        key="usage",
        name="服務使用人次",
        unit="人次",
        is_cumulative=True,
        targets=[(2025, 0, 1000)],
    )

    # the form lists the sub-project's milestones and indicators, each field with its label
    form = lead.get(new_report_url(world.subproject), {"period": "2025Q2"})
    html = form.content.decode()
    assert form.status_code == 200
    assert f'<label for="id_milestone-{milestone.pk}-completed_on"' in html
    assert f'<label for="id_indicator-{indicator.pk}-value"' in html
    assert '<option value="2025Q2" selected>' in html

    # a draft is saved
    created = lead.post(
        new_report_url(world.subproject),
        {
            "period": "2025Q2",
            "action": "save",
            **FIGURES,
            f"milestone-{milestone.pk}-completed_on": "2025-06-20",
            f"indicator-{indicator.pk}-value": "640",
        },
    )
    report = QuarterlyReport.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/reports/{report.pk}/"
    assert (report.period, report.status, report.actual_progress) == ("2025Q2", ReportStatus.DRAFT, Decimal("55"))
    assert report.milestone_entries.get().completed_on == datetime.date(2025, 6, 20)
    assert report.indicator_values.get().value == Decimal("640")

    # the page shows the draft in its form, with the version it was read at
    page = lead.get(f"/reports/{report.pk}/").content.decode()
    assert f'name="version" value="{report.version}"' in page
    assert 'value="2025-06-20"' in page and 'value="640"' in page

    # an edit, then the submission, from the same form
    edited = lead.post(
        f"/reports/{report.pk}/",
        {
            "version": report.version,
            "action": "submit",
            **FIGURES,
            "actual_progress": "52",
            f"milestone-{milestone.pk}-completed_on": "2025-06-20",
            f"indicator-{indicator.pk}-value": "640",
        },
    )
    assert edited.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    assert report.actual_progress == Decimal("52")
    assert list(report.events.order_by("version").values_list("action", flat=True)) == [
        ReportAction.CREATE,
        ReportAction.UPDATE,
        ReportAction.SUBMIT,
    ]

    # a submitted report is the secretariat's: the lead sees it, without the form
    page = lead.get(f"/reports/{report.pk}/").content.decode()
    assert 'id="submit-report"' not in page and 'data-status="submitted"' in page


def test_saving_an_unchanged_report_writes_nothing(lead, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    typed = {
        "planned_progress": "40",
        "actual_progress": "45",
        "budget_spent": "200000",
        "achievements": "完成資料盤點",
    }

    response = lead.post(f"/reports/{report.pk}/", {"version": report.version, "action": "save", **typed})

    assert response.status_code == 302
    assert QuarterlyReport.objects.get(pk=report.pk).version == report.version


def test_a_stale_page_does_not_overwrite_a_newer_edit(lead, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)

    response = lead.post(
        f"/reports/{report.pk}/", {"version": report.version - 1, "action": "save", **FIGURES, "actual_progress": "99"}
    )

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert QuarterlyReport.objects.get(pk=report.pk).actual_progress == Decimal("45")


def test_a_returned_report_shows_why_and_is_fixed_and_submitted_again(lead, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.RETURNED, return_reason="請補充經費執行說明")

    page = lead.get(f"/reports/{report.pk}/")
    assert "請補充經費執行說明" in page.content.decode()
    assert 'id="submit-report"' in page.content.decode()

    fixed = lead.post(
        f"/reports/{report.pk}/",
        {
            "version": report.version,
            "action": "submit",
            "planned_progress": "40",
            "actual_progress": "45",
            "budget_spent": "450000",
            "achievements": "完成資料盤點；經費已依進度核銷",
        },
    )

    assert fixed.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED and report.budget_spent == Decimal("450000")


def test_quarters_already_filed_are_not_offered_again(lead, world):
    report_in_status(node=world.subproject, status=ReportStatus.DRAFT, period=Quarter(2024, 1))

    html = lead.get(new_report_url(world.subproject)).content.decode()

    assert '<option value="2024Q1"' not in html
    assert '<option value="2024Q2"' in html


def test_the_secretariat_reviews_on_the_report_page(secretariat, world):
    report = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)
    html = secretariat.get(f"/reports/{report.pk}/").content.decode()
    assert 'data-action="accept"' in html and 'data-action="return"' in html

    # a return without a reason is refused with the API's message
    refused = secretariat.post(
        f"/reports/{report.pk}/return/", {"version": report.version, f"return-{report.pk}-reason": "  "}
    )
    expected = api_errors(
        world.secretariat, {"reason": "  "}, path=f"/api/v1/reports/{report.pk}/return/", HTTP_IF_MATCH=report.etag
    )
    assert refused.status_code == 400
    assert field_errors(refused, f"return-{report.pk}-reason") == expected["reason"]
    assert QuarterlyReport.objects.get(pk=report.pk).status == ReportStatus.SUBMITTED

    # an accept from a stale page changes nothing and says why
    stale = secretariat.post(f"/reports/{report.pk}/accept/", {"version": report.version - 1}, follow=True)
    assert QuarterlyReport.objects.get(pk=report.pk).status == ReportStatus.SUBMITTED
    assert "message--error" in stale.content.decode()

    accepted = secretariat.post(f"/reports/{report.pk}/accept/", {"version": report.version})
    assert accepted.status_code == 302
    assert QuarterlyReport.objects.get(pk=report.pk).status == ReportStatus.ACCEPTED


# --- monthly updates (月報) ------------------------------------------------------------------------


def test_a_monthly_update_is_filed_on_its_own_form_and_charted_with_the_quarters(lead, secretariat, world):
    # given a 院列管 sub-project, which reports monthly between its quarterly reports
    node = of_kind(world.subproject, ReportKind.MONTHLY)
    page = lead.get(f"/projects/{node.pk}/")
    html = page.content.decode()
    assert "院列管 · 每月" in html
    link = re.search(r'<a class="button button--secondary" href="([^"]+)" id="file-monthly-link">', html).group(1)
    assert link == new_report_url(node) + "?period=2024-01"

    # when the lead opens it: the update's form asks no milestone, indicator, payables or forecast
    form = lead.get(link).content.decode()
    assert "填報月報" in form
    assert 'name="period"' in form and '<option value="2024-01" selected>' in form
    assert '<option value="2024Q1"' not in form
    for absent in ("milestone-", "budget_payables", "budget_forecast_rate", "indicator-"):
        assert absent not in form, absent

    # and files and submits it
    typed = {
        "planned_progress": "10",
        "actual_progress": "10",
        "budget_spent": "100000",
        "achievements": "完成需求訪談",
    }
    response = lead.post(new_report_url(node), {"period": "2024-02", "action": "submit", **typed})
    update = QuarterlyReport.objects.get(node=node, month=2)
    assert response.status_code == 302 and response["Location"] == f"/reports/{update.pk}/"
    assert (update.kind, update.status, update.due_on) == (
        "monthly",
        ReportStatus.SUBMITTED,
        datetime.date(2024, 3, 10),
    )

    # then, accepted, its figures are on the sub-project's charts beside the quarterly report's
    api = APIClient()
    api.force_authenticate(world.secretariat)
    accepted = api.post(f"/api/v1/reports/{update.pk}/accept/", {}, format="json", HTTP_IF_MATCH=update.etag)
    assert accepted.status_code == 200, accepted.content
    report_in_status(node=node, status=ReportStatus.ACCEPTED, period=Quarter(2024, 1))
    charts = lead.get(f"/projects/{node.pk}/").content.decode()
    progress = re.search(r'id="progress-chart".*?</svg>', charts, re.S).group(0)
    assert progress.index("2024-02") < progress.index("2024Q1")
