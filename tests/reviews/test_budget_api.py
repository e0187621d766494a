"""``/api/v1/budgets/``: sub-projects' budgets by year, read by everyone who reads the plan tree, set by the
Executive Secretariat until a report of the year is accepted; reports show their allocation from it."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import BudgetYear
from reviews.models import ReportStatus
from reviews.periods import Quarter
from reviews.services.budgets import budget_validate
from tests.accounts.factories import UserFactory
from tests.projects.factories import AgencyFactory, BudgetYearFactory, PlanFactory, make_tree
from tests.reviews.factories import QuarterlyReportFactory, report_in_status

BUDGETS = "/api/v1/budgets/"
REPORTS = "/api/v1/reports/"
D = Decimal
LEDGER = {
    "appropriation": "8000000",
    "allocation_q1": "1000000",
    "allocation_q2": "2000000",
    "allocation_q3": "3000000",
    "allocation_q4": "1500000",
}


@pytest.fixture
def subproject(agency):
    _, _, _, (sub,) = make_tree(PlanFactory(), lead_agency=agency)
    return sub


@pytest.fixture
def foreign_subproject(other_agency):
    _, _, _, (sub,) = make_tree(PlanFactory(code="other"), lead_agency=other_agency, prefix="乙")
    return sub


@pytest.fixture
def ledger(subproject):
    return BudgetYearFactory(node=subproject, year=2024, **{name: D(value) for name, value in LEDGER.items()})


def test_everyone_signed_in_reads_every_budget_as_the_plan_tree(
    lead_client, reader_client, reviewer_client, secretariat_client, anonymous_client, ledger, foreign_subproject
):
    foreign = BudgetYearFactory(node=foreign_subproject, year=2024)

    for client in (lead_client, reader_client, reviewer_client, secretariat_client):
        response = client.get(BUDGETS)
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [ledger.pk, foreign.pk]
    assert anonymous_client.get(BUDGETS).status_code == 401
    assert anonymous_client.get(f"{BUDGETS}{ledger.pk}/").status_code == 401


def test_one_budget_with_its_etag(reader_client, ledger):
    response = reader_client.get(f"{BUDGETS}{ledger.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": ledger.pk,
        "project": ledger.node_id,
        "plan": ledger.node.plan_id,
        "year": 2024,
        **LEDGER,
        "allocated": "7500000",  # 1,000,000 + 2,000,000 + 3,000,000 + 1,500,000
        "frozen": False,
        "etag": ledger.etag,
        "created_at": response.json()["created_at"],
        "updated_at": response.json()["updated_at"],
    }
    assert response["ETag"] == ledger.etag


def test_a_budget_that_does_not_exist_is_404(reader_client, ledger):
    assert reader_client.get(f"{BUDGETS}{ledger.pk + 1}/").status_code == 404
    assert reader_client.patch(f"{BUDGETS}{ledger.pk + 1}/", {}, format="json", HTTP_IF_MATCH="*").status_code == 404


def test_filters(reader_client, ledger, foreign_subproject, other_agency):
    later = BudgetYearFactory(node=ledger.node, year=2025)
    foreign = BudgetYearFactory(node=foreign_subproject, year=2025)

    def ids(**params):
        return [row["id"] for row in reader_client.get(BUDGETS, params).json()["results"]]

    assert ids(year=2025) == [later.pk, foreign.pk]
    assert ids(project=ledger.node_id) == [ledger.pk, later.pk]
    assert ids(plan=foreign_subproject.plan_id) == [foreign.pk]
    assert ids(agency=other_agency.pk) == [foreign.pk]
    assert ids(agency=other_agency.pk, year=2024) == []


def test_the_list_costs_the_same_queries_for_one_row_as_for_many(reader_client, ledger, django_assert_num_queries):
    QuarterlyReportFactory(node=ledger.node, period=Quarter(2024, 1), accepted=True, budget_allocated=None)
    with CaptureQueriesContext(connection) as one:
        assert len(reader_client.get(BUDGETS).json()["results"]) == 1

    _, _, _, subs = make_tree(PlanFactory(code="more"), subprojects=12, prefix="丙", lead_agency=AgencyFactory())
    for sub in subs:
        BudgetYearFactory(node=sub, year=2024)
        BudgetYearFactory(node=sub, year=2025)
        QuarterlyReportFactory(node=sub, period=Quarter(2024, 2), accepted=True, budget_allocated=None)

    with django_assert_num_queries(len(one)):
        rows = reader_client.get(BUDGETS, {"page_size": 100}).json()["results"]
    assert len(rows) == 25
    assert sum(row["frozen"] for row in rows) == 13  # each 2024 with its accepted report


# --- writes ---------------------------------------------------------------------------------------


def test_the_secretariat_sets_a_budget(secretariat_client, subproject):
    response = secretariat_client.post(BUDGETS, {"project": subproject.pk, "year": 2024, **LEDGER}, format="json")

    assert response.status_code == 201, response.json()
    ledger = BudgetYear.objects.get()
    assert (ledger.node, ledger.year, ledger.allocated_to(2), ledger.appropriation) == (
        subproject,
        2024,
        D(3_000_000),
        D(8_000_000),
    )
    assert response["Location"] == f"{BUDGETS}{ledger.pk}/"
    assert response["ETag"] == response.json()["etag"] == ledger.etag


def test_leads_reviewers_and_readers_may_not_set_budgets(lead_client, reviewer_client, reader_client, ledger):
    for client in (lead_client, reviewer_client, reader_client):
        created = client.post(
            BUDGETS, {"project": ledger.node_id, "year": 2025, **LEDGER}, format="json", HTTP_ACCEPT_LANGUAGE="en"
        )
        changed = client.patch(
            f"{BUDGETS}{ledger.pk}/", {"appropriation": "9000000"}, format="json", HTTP_IF_MATCH=ledger.etag
        )
        assert (created.status_code, changed.status_code) == (403, 403)
        assert created.json()["detail"] == "Only the Executive Secretariat sets sub-projects' budgets."
    assert BudgetYear.objects.get().appropriation == D(8_000_000)


@pytest.mark.parametrize(
    ("body", "field", "language", "message"),
    [
        ({"allocation_q4": "2000001"}, "appropriation", "en", "add up to 8,000,001, more than the appropriation"),
        ({"allocation_q4": "2000001"}, "appropriation", "zh-Hant", "四季分配數合計 8,000,001，超過預算數"),
        ({"allocation_q1": "-1"}, "allocation_q1", "en", "greater than or equal to 0"),
        ({"year": 2019}, "year", "en", "2019 is outside the sub-project's years (2021 to 2025)."),
        ({"year": 2019}, "year", "zh-Hant", "2019 年不在子計畫期程內（2021 至 2025 年）。"),
        ({"year": 2024}, "year", "en", "The sub-project already has a budget for 2024: change that one."),
        ({"colour": "red"}, "colour", "en", "Unknown or read-only field."),
        ({"frozen": True}, "frozen", "en", "Unknown or read-only field."),
    ],
)
def test_bad_budgets_are_refused_by_name(secretariat_client, ledger, body, field, language, message):
    body = {"project": ledger.node_id, "year": 2025, **LEDGER, **body}

    response = secretariat_client.post(BUDGETS, body, format="json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == [field]
    assert message in response.json()["errors"][field][0]
    assert BudgetYear.objects.count() == 1


def test_an_appropriation_below_what_a_report_executed_is_refused(secretariat_client, ledger):
    QuarterlyReportFactory(
        node=ledger.node, period=Quarter(2024, 1), budget_allocated=None, budget_spent=D(900_000), budget_savings=D(1)
    )

    response = secretariat_client.patch(
        f"{BUDGETS}{ledger.pk}/",
        {
            "appropriation": "900000",
            "allocation_q1": "900000",
            "allocation_q2": "0",
            "allocation_q3": "0",
            "allocation_q4": "0",
        },
        format="json",
        HTTP_IF_MATCH=ledger.etag,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "900,001 spent, payables and savings" in response.json()["errors"]["appropriation"][0]


def test_a_change_needs_the_current_etag(secretariat_client, ledger):
    url = f"{BUDGETS}{ledger.pk}/"
    change = {"allocation_q4": "2000000"}

    missing = secretariat_client.patch(url, change, format="json")
    changed = secretariat_client.patch(url, change, format="json", HTTP_IF_MATCH=ledger.etag)
    stale = secretariat_client.patch(url, {"allocation_q4": "0"}, format="json", HTTP_IF_MATCH=ledger.etag)

    assert (missing.status_code, changed.status_code, stale.status_code) == (428, 200, 412)
    assert changed.json()["allocated"] == "8000000"
    assert changed["ETag"] != ledger.etag
    again = secretariat_client.patch(url, {"allocation_q4": "0"}, format="json", HTTP_IF_MATCH=changed["ETag"])
    assert again.status_code == 200
    assert BudgetYear.objects.get().allocation_q4 == 0


def test_a_retried_post_with_its_idempotency_key_sets_one_budget(secretariat_client, subproject):
    body = {"project": subproject.pk, "year": 2024, **LEDGER}

    first = secretariat_client.post(BUDGETS, body, format="json", HTTP_IDEMPOTENCY_KEY="budget-2024")
    retry = secretariat_client.post(BUDGETS, body, format="json", HTTP_IDEMPOTENCY_KEY="budget-2024")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert BudgetYear.objects.count() == 1


# --- once a report of the year is accepted --------------------------------------------------------------


@pytest.mark.parametrize("status", [ReportStatus.ACCEPTED, "reopened"])
def test_an_accepted_report_freezes_its_years_budget(secretariat_client, ledger, status):
    # given a 2024 report accepted (and maybe reopened for correction since)
    QuarterlyReportFactory(
        node=ledger.node,
        period=Quarter(2024, 1),
        budget_allocated=None,
        **({"accepted": True} if status == ReportStatus.ACCEPTED else {"returned": True, "accepted_content": {}}),
    )
    url = f"{BUDGETS}{ledger.pk}/"

    response = secretariat_client.patch(
        url, {"allocation_q4": "0"}, format="json", HTTP_IF_MATCH=ledger.etag, HTTP_ACCEPT_LANGUAGE="en"
    )
    translated = secretariat_client.patch(
        url, {"allocation_q4": "0"}, format="json", HTTP_IF_MATCH=ledger.etag, HTTP_ACCEPT_LANGUAGE="zh-Hant"
    )

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "2024 has an accepted report: its budget changes only through a plan revision (/api/v1/revisions/)."
    )
    assert translated.json()["detail"] == (
        "2024 年已有複核通過的季報：該年度預算只能經由計畫修正（/api/v1/revisions/）變更。"
    )
    assert secretariat_client.get(url).json()["frozen"] is True
    assert BudgetYear.objects.get().allocation_q4 == D(1_500_000)


def test_a_year_with_an_accepted_report_gets_no_new_budget_either(secretariat_client, subproject):
    QuarterlyReportFactory(node=subproject, period=Quarter(2024, 1), accepted=True, budget_allocated=None)

    response = secretariat_client.post(BUDGETS, {"project": subproject.pk, "year": 2024, **LEDGER}, format="json")

    assert response.status_code == 409
    assert "/api/v1/revisions/" in response.json()["detail"]
    assert not BudgetYear.objects.exists()


def test_other_years_stay_open(secretariat_client, ledger):
    QuarterlyReportFactory(node=ledger.node, period=Quarter(2024, 1), accepted=True, budget_allocated=None)
    later = BudgetYearFactory(node=ledger.node, year=2025)

    response = secretariat_client.patch(
        f"{BUDGETS}{later.pk}/", {"allocation_q4": "0"}, format="json", HTTP_IF_MATCH="*"
    )

    assert response.status_code == 200


# --- reports show the ledger's allocation ---------------------------------------------------------------


def test_a_report_shows_its_allocation_and_rate_from_the_ledger(lead_client, ledger):
    report = report_in_status(
        node=ledger.node,
        period=Quarter(2024, 2),
        budget_allocated=None,
        budget_spent=D(2_400_000),
        budget_payables=D(300_000),
        budget_savings=D(30_000),
    )

    body = lead_client.get(f"{REPORTS}{report.pk}/").json()

    # allocated to 2024Q2: 1,000,000 + 2,000,000 = 3,000,000;
    # rate: (2,400,000 + 300,000 + 30,000) / 3,000,000 x 100 = 2,730,000 / 3,000,000 x 100 = 91.0
    assert (body["budget_allocated"], body["execution_rate"]) == ("3000000", "91.0")


def test_the_report_list_reads_allocations_without_a_query_per_report(
    secretariat_client, ledger, django_assert_num_queries
):
    QuarterlyReportFactory(node=ledger.node, period=Quarter(2024, 1), budget_allocated=None)
    with CaptureQueriesContext(connection) as one:
        assert [r["budget_allocated"] for r in secretariat_client.get(REPORTS).json()["results"]] == ["1000000"]

    for period in (Quarter(2024, 2), Quarter(2024, 3), Quarter(2024, 4), Quarter(2025, 1)):
        QuarterlyReportFactory(node=ledger.node, period=period, budget_allocated=None)

    with django_assert_num_queries(len(one)):
        rows = secretariat_client.get(REPORTS).json()["results"]
    assert [(row["period"], row["budget_allocated"]) for row in rows] == [
        ("2025Q1", None),  # no 2025 ledger
        ("2024Q4", "7500000"),
        ("2024Q3", "6000000"),
        ("2024Q2", "3000000"),
        ("2024Q1", "1000000"),
    ]


def test_budgets_export_as_other_collections(reader_client, ledger):
    response = reader_client.get("/api/v1/exports/budgets/", {"year": 2024})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(int(row["id"]), row["appropriation"], row["allocation_q3"]) for row in rows] == [
        (ledger.pk, "8000000", "3000000")
    ]


# --- the admin ------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def admin_form(ledger, **changes):
    return {
        "node": ledger.node_id,
        "year": ledger.year,
        **{name: str(getattr(ledger, name)) for name in LEDGER},
        **changes,
    }


def test_the_admin_changes_an_open_year_through_the_same_checks(admin_client, ledger):
    url = f"/admin/projects/budgetyear/{ledger.pk}/change/"

    too_much = admin_client.post(url, admin_form(ledger, allocation_q4="2000001"))
    saved = admin_client.post(url, admin_form(ledger, allocation_q4="2000000"))

    assert too_much.status_code == 200  # the form again, with the error by its field
    assert "8,000,001" in too_much.content.decode()
    assert saved.status_code == 302
    assert BudgetYear.objects.get().allocation_q4 == D(2_000_000)


def test_the_admin_refuses_a_frozen_year_and_points_to_revisions(admin_client, ledger):
    QuarterlyReportFactory(node=ledger.node, period=Quarter(2024, 1), accepted=True, budget_allocated=None)
    url = f"/admin/projects/budgetyear/{ledger.pk}/change/"

    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    posted = admin_client.post(url, admin_form(ledger, allocation_q4="0"))
    added = admin_client.post(
        "/admin/projects/budgetyear/add/", {**admin_form(ledger), "node": ledger.node_id, "year": 2024}
    )

    assert "/api/v1/revisions/" in page.content.decode()
    assert 'name="allocation_q4"' not in page.content.decode()  # read-only
    assert posted.status_code == 403
    assert added.status_code == 200 and "/api/v1/revisions/" in added.content.decode()
    assert BudgetYear.objects.get().allocation_q4 == D(1_500_000)


def test_a_budget_outside_the_years_with_a_bad_figure_names_both_fields(secretariat_client, db):
    _, _, _, (sub,) = make_tree()
    sub.start_date, sub.end_date = datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)
    sub.save()
    ledger = BudgetYear(node=sub, year=2031, appropriation=Decimal("-1"))

    with pytest.raises(ValidationError) as refused:
        budget_validate(ledger)

    assert {"year", "appropriation"} <= set(refused.value.message_dict)
