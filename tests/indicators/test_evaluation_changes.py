"""A change of an indicator's evaluation shows in ``updated_since``, so a mirror sees it: whichever input changed
(an actual recorded, a target changed in the admin or by an approved revision, the indicator's own fields), and
the calendar itself, which the daily job follows (``indicator_statuses_refresh``).

Each test: before the change, the indicator is absent from ``?updated_since=``; after it, present with the new
evaluation. (An accepted report's actual: ``test_indicator_api.test_an_accepted_report_bumps_...``.)
"""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import account_groups_set
from indicators.models import Direction, Indicator
from indicators.services import indicator_statuses_refresh
from tests.accounts.factories import UserFactory
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import PlanFactory
from tests.reviews.test_revisions import _subproject, request, step

INDICATORS = "/api/v1/indicators/"
ON = "2025-12-31"


@pytest.fixture
def plan(db):
    return PlanFactory()


def quiet(indicator) -> str:
    """Leave the indicator unchanged for a month; the cutoff a mirror would ask with."""
    Indicator.objects.filter(pk=indicator.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    return (timezone.now() - datetime.timedelta(seconds=1)).isoformat()


def changed_since(client, cutoff, on=ON) -> dict[int, str]:
    """The indicators changed since ``cutoff``, with their status on ``on``."""
    response = client.get(INDICATORS, {"updated_since": cutoff, "on": on})
    assert response.status_code == 200, response.content
    return {row["id"]: row["evaluation"]["status"] for row in response.json()["results"]}


def status_of(client, indicator, on=ON) -> str:
    return client.get(f"{INDICATORS}{indicator.pk}/", {"on": on}).json()["evaluation"]["status"]


def test_an_actual_recorded(secretariat_client, plan):
    indicator = IndicatorFactory(plan=plan, is_cumulative=True, targets=[(2025, 0, "100")])
    cutoff = quiet(indicator)
    assert status_of(secretariat_client, indicator) == "no_data"
    assert changed_since(secretariat_client, cutoff) == {}

    response = secretariat_client.post(
        f"{INDICATORS}{indicator.pk}/actuals/",
        {"year": 2025, "quarter": 0, "value": "100", "as_of": ON, "source": "主計總處"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert changed_since(secretariat_client, cutoff) == {indicator.pk: "met"}


def admin_form_data(page) -> dict:
    """What the admin's change form posts back as it is: the object's fields and every inline's rows."""
    forms = [page.context["adminform"].form]
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {formset.management_form.add_prefix(name): value for name, value in formset.management_form.initial.items()}
        )
        forms += formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


@pytest.fixture
def admin_client(client, db):
    user = UserFactory(username="indicator-secretariat", role=Role.SECRETARIAT, is_staff=True)
    account_groups_set(user=user)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"targets-0-value": "80"}, "met", id="target"),
        pytest.param({"direction": Direction.LOWER}, "met", id="direction"),
    ],
)
def test_a_target_or_the_indicator_changed_in_the_admin(admin_client, secretariat_client, plan, change, expected):
    indicator = IndicatorFactory(plan=plan, is_cumulative=True, targets=[(2025, 0, "100")], actuals=[(2025, 0, "80")])
    cutoff = quiet(indicator)
    assert status_of(secretariat_client, indicator) == "behind"
    assert changed_since(secretariat_client, cutoff) == {}
    page = admin_client.get(f"/admin/indicators/indicator/{indicator.pk}/change/")
    assert page.status_code == 200

    response = admin_client.post(page.wsgi_request.path, {**admin_form_data(page), **change})

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert changed_since(secretariat_client, cutoff) == {indicator.pk: expected}


def test_a_target_revised_by_an_approved_revision(plan, agency, lead_client, secretariat_client):
    node = _subproject(plan, agency)
    indicator = IndicatorFactory(node=node, is_cumulative=True, targets=[(2025, 0, "100")], actuals=[(2025, 0, "80")])
    revision = request(lead_client, node, indicator_targets=[{"indicator": indicator.pk, "year": 2025, "value": "80"}])
    assert revision.status_code == 201, revision.content
    cutoff = quiet(indicator)
    assert status_of(secretariat_client, indicator) == "behind"
    assert indicator.pk not in changed_since(secretariat_client, cutoff)

    assert step(secretariat_client, revision.json()["id"], "approve").status_code == 200

    assert changed_since(secretariat_client, cutoff)[indicator.pk] == "met"


def test_the_calendar_changes_the_status_and_the_daily_job_marks_it(secretariat_client, plan):
    # given an indicator on track mid-2025, whose 2025 target will be missed once the year is over
    indicator = IndicatorFactory(
        plan=plan,
        is_cumulative=True,
        baseline_year=2024,
        baseline_value="0",
        targets=[(2025, 0, "100")],
        actuals=[(2025, 2, "60")],
    )
    untouched = IndicatorFactory(plan=plan, is_cumulative=True, targets=[(2030, 0, "100")], actuals=[(2024, 0, "1")])
    assert status_of(secretariat_client, indicator, on="2025-06-30") == "on_track"
    # the first evaluation records the status without marking anything
    assert indicator_statuses_refresh(on=datetime.date(2025, 6, 30)) == 0
    cutoff = quiet(indicator)
    quiet(untouched)
    assert indicator_statuses_refresh(on=datetime.date(2025, 7, 1)) == 0
    assert changed_since(secretariat_client, cutoff, on="2026-01-02") == {}

    # when the year is over
    assert indicator_statuses_refresh(on=datetime.date(2026, 1, 2)) == 1

    # then the indicator shows as changed, with its new status; the other, whose status stood, does not
    assert changed_since(secretariat_client, cutoff, on="2026-01-02") == {indicator.pk: "cannot_reach"}
    # and the same day again marks nothing
    assert indicator_statuses_refresh(on=datetime.date(2026, 1, 2)) == 0


def test_the_daily_job_reads_in_the_same_queries_for_one_row_or_many(django_assert_num_queries, plan):
    def behind():
        return IndicatorFactory(plan=plan, is_cumulative=True, targets=[(2025, 0, "100")], actuals=[(2025, 0, "50")])

    # the ids, the batch with its targets and actuals, then in one transaction (a savepoint here) one update per
    # status found
    behind()
    with django_assert_num_queries(7):
        assert indicator_statuses_refresh(on=datetime.date(2026, 1, 2)) == 0
    Indicator.objects.update(evaluated_status="")
    for _ in range(3):
        behind()
    with django_assert_num_queries(7):
        assert indicator_statuses_refresh(on=datetime.date(2026, 1, 2)) == 0
    assert set(Indicator.objects.values_list("evaluated_status", flat=True)) == {"cannot_reach"}
