"""A report's budget figures against its year's ledger and its last accepted quarter of the year: a 400 naming
the field, in the client's language, and nothing written."""

from decimal import Decimal

import pytest

from reviews.models import QuarterlyReport, ReportEvent, ReportStatus
from reviews.periods import Quarter
from tests.projects.factories import BudgetYearFactory, PlanFactory, make_tree
from tests.reviews.factories import QuarterlyReportFactory, report_in_status

REPORTS = "/api/v1/reports/"
D = Decimal


@pytest.fixture
def subproject(agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    # 2024: appropriation 6,000,000, allocated 1,500,000 a quarter
    BudgetYearFactory(
        node=sub,
        year=2024,
        appropriation=D(6_000_000),
        allocation_q1=D(1_500_000),
        allocation_q2=D(1_500_000),
        allocation_q3=D(1_500_000),
        allocation_q4=D(1_500_000),
    )
    return sub


def body_for(subproject, **figures):
    return {
        "project": subproject.pk,
        "period": "2024Q3",
        "planned_progress": "60",
        "actual_progress": "60",
        "budget_spent": "3000000",
        **figures,
    }


def refused(client, body, language):
    before = (QuarterlyReport.objects.count(), ReportEvent.objects.count())
    response = client.post(REPORTS, body, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400, response.json()
    assert (QuarterlyReport.objects.count(), ReportEvent.objects.count()) == before
    return response.json()["errors"]


ABOVE = {"en": "Above the appropriation of 6,000,000 for 2024.", "zh-Hant": "超過 2024 年度預算數 6,000,000。"}


@pytest.mark.parametrize("language", ["en", "zh-Hant"])
@pytest.mark.parametrize("field", ["budget_spent", "budget_payables", "budget_savings"])
def test_a_figure_above_the_appropriation_is_refused(lead_client, subproject, language, field):
    errors = refused(lead_client, body_for(subproject, **{"budget_spent": "0", field: "6000001"}), language)

    assert errors == {field: [ABOVE[language]]}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Spent, payables and savings add up to 6,100,000, above the appropriation of 6,000,000 for 2024."),
        ("zh-Hant", "實支數、應付未付數與節餘數合計 6,100,000，超過 2024 年度預算數 6,000,000。"),
    ],
)
def test_spent_payables_and_savings_together_above_the_appropriation_are_refused(
    lead_client, subproject, language, message
):
    # 4,000,000 + 1,500,000 + 600,000 = 6,100,000 > 6,000,000, each alone within it
    body = body_for(subproject, budget_spent="4000000", budget_payables="1500000", budget_savings="600000")

    assert refused(lead_client, body, language) == {"budget_spent": [message]}


def test_up_to_the_appropriation_is_taken(lead_client, subproject):
    # 4,000,000 + 1,500,000 + 500,000 = 6,000,000: the whole appropriation
    body = body_for(subproject, budget_spent="4000000", budget_payables="1500000", budget_savings="500000")

    response = lead_client.post(REPORTS, body, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["budget_allocated"], response.json()["execution_rate"]) == ("4500000", "133.3")


@pytest.mark.parametrize(
    ("language", "figures", "message"),
    [
        (
            "en",
            {"budget_spent": "2900000", "budget_payables": "600000", "budget_savings": "100000"},
            "Cumulative spent (2,900,000) is lower than the 3,000,000 accepted for 2024Q2: explain why.",
        ),
        (
            "zh-Hant",
            {"budget_spent": "2900000", "budget_payables": "600000", "budget_savings": "100000"},
            "累計實支數（2,900,000）低於 2024Q2 複核通過的 3,000,000：請說明原因。",
        ),
        (
            "en",
            {"budget_spent": "3000000", "budget_payables": "400000", "budget_savings": "100000"},
            "Cumulative spent and payables (3,400,000) is lower than the 3,500,000 accepted for 2024Q2: explain why.",
        ),
        (
            "zh-Hant",
            {"budget_spent": "3000000", "budget_payables": "400000", "budget_savings": "100000"},
            "累計實支數加應付未付數（3,400,000）低於 2024Q2 複核通過的 3,500,000：請說明原因。",
        ),
        (
            "en",
            {"budget_spent": "3100000", "budget_payables": "500000", "budget_savings": "0"},
            "Cumulative savings (0) is lower than the 100,000 accepted for 2024Q2: explain why.",
        ),
        (
            "zh-Hant",
            {"budget_spent": "3100000", "budget_payables": "500000", "budget_savings": "0"},
            "累計節餘數（0）低於 2024Q2 複核通過的 100,000：請說明原因。",
        ),
    ],
)
def test_a_cumulative_figure_lower_than_the_last_accepted_quarter_needs_an_explanation(
    lead_client, subproject, language, figures, message
):
    # given 2024Q2 accepted with 3,000,000 spent, 500,000 payables and 100,000 savings
    report_in_status(
        node=subproject,
        status=ReportStatus.ACCEPTED,
        period=Quarter(2024, 2),
        budget_allocated=None,
        budget_spent=D(3_000_000),
        budget_payables=D(500_000),
        budget_savings=D(100_000),
    )

    errors = refused(lead_client, body_for(subproject, **figures), language)
    explained = lead_client.post(
        REPORTS, body_for(subproject, **figures, budget_explanation="部分款項經核減，改列節餘。"), format="json"
    )

    assert errors == {"budget_explanation": [message]}
    assert explained.status_code == 201, explained.json()


def test_a_lower_figure_than_last_year_needs_no_explanation(lead_client, subproject):
    # given 2023Q4 accepted with 5,000,000 spent: a new year starts again from its own figures
    QuarterlyReportFactory(
        node=subproject, period=Quarter(2023, 4), accepted=True, budget_allocated=None, budget_spent=D(5_000_000)
    )

    response = lead_client.post(REPORTS, body_for(subproject, budget_spent="100000"), format="json")

    assert response.status_code == 201, response.json()


def test_an_edit_is_checked_too_and_writes_nothing(lead_client, subproject):
    created = lead_client.post(REPORTS, body_for(subproject), format="json")
    url = f"{REPORTS}{created.json()['id']}/"

    response = lead_client.patch(
        url, {"budget_payables": "3500000", "achievements": "新成果"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )

    # 3,000,000 + 3,500,000 = 6,500,000 > 6,000,000
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"budget_spent"}
    report = QuarterlyReport.objects.get()
    assert (report.version, report.budget_payables, report.achievements) == (1, None, "")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The allocation to date comes from the sub-project's budget ledger (/api/v1/budgets/)"),
        ("zh-Hant", "累計分配數取自子計畫年度預算（/api/v1/budgets/）"),
    ],
)
def test_a_client_sending_the_allocation_is_told_where_it_comes_from(lead_client, subproject, language, message):
    errors = refused(lead_client, body_for(subproject, budget_allocated="4500000"), language)

    assert list(errors) == ["budget_allocated"]
    assert errors["budget_allocated"][0].startswith(message)


@pytest.mark.parametrize(("language", "word"), [("en", "less than or equal to 100"), ("zh-Hant", "100")])
def test_the_forecast_rate_is_a_percentage(lead_client, subproject, language, word):
    errors = refused(lead_client, body_for(subproject, budget_forecast_rate="100.5"), language)

    assert list(errors) == ["budget_forecast_rate"] and word in errors["budget_forecast_rate"][0]
