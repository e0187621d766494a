"""A year's budget written while a report of the year is accepted (real PostgreSQL: row locks, concurrent
transactions). Acceptance freezes the year's ledger; the two take turns on the sub-project's row, so a change
is either made before the acceptance or refused after it, never saved once the year stood frozen."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from projects.models import BudgetYear
from reviews.models import QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.accounts.factories import UserFactory
from tests.projects.factories import allocate

from .factories import report_in_status
from .test_report_concurrency import (  # noqa: F401 (fixtures)
    REPORTS,
    patch,
    post,
    race,
    run_together,
    secretary,
    subproject,
)

BUDGETS = "/api/v1/budgets/"
YEARS = range(2021, 2026)  # one round a year, each on its own ledger


@pytest.mark.postgres
@race
def test_a_budget_change_racing_an_acceptance_is_made_before_it_or_refused(subproject, secretary):  # noqa: F811
    colleague = UserFactory(username="secretariat-budget", role=Role.SECRETARIAT)
    reader = APIClient()
    reader.force_authenticate(colleague)
    for year in YEARS:
        report = report_in_status(node=subproject, status=ReportStatus.SUBMITTED, period=Quarter(year, 1))
        ledger = allocate(subproject, year, 1, "1000000")
        etag = reader.get(f"{BUDGETS}{ledger.pk}/")["ETag"]

        accepted, changed = run_together(
            (secretary, post(f"{REPORTS}{report.pk}/accept/", {}, HTTP_IF_MATCH=report.etag)),
            (colleague, patch(f"{BUDGETS}{ledger.pk}/", {"allocation_q2": "500000"}, HTTP_IF_MATCH=etag)),
        )

        assert accepted.status_code == 200, accepted.content
        assert changed.status_code in (200, 409), changed.content
        accepted_at = QuarterlyReport.objects.get(pk=report.pk).accepted_at
        last_write = BudgetYear.history.filter(id=ledger.pk).latest("history_date").history_date
        assert last_write < accepted_at, (year, changed.status_code)
        stored = BudgetYear.objects.get(pk=ledger.pk)
        assert stored.allocation_q2 == (Decimal(500000) if changed.status_code == 200 else ledger.allocation_q2)
