"""Quarter locks (鎖定) on their page: the secretariat locks a plan's quarter, lets a sub-project in again until a
date (例外), withdraws the exception and unlocks; everyone signed in sees the locks, as over the API. What was
typed is checked by the API's serializers and the services, and refused next to its field in their words."""

import datetime
import re

import pytest
from rest_framework.test import APIClient

from reviews.models import LockException, QuarterLock, QuarterlyReport
from reviews.periods import today
from tests.console.test_report_form import field_errors


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def api_errors(user, path, body) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(path, body, format="json")
    assert response.status_code == 400, response.content
    return response.json()["errors"]


@pytest.fixture
def lock(world):
    return QuarterLock.objects.create(
        plan=world.plan, year=2024, quarter=3, reason="年度結算", locked_by=world.secretariat
    )


def later(days=30) -> str:
    return (today() + datetime.timedelta(days=days)).isoformat()


def test_the_menu_offers_the_locks_to_the_secretariat_only(secretariat, lead, reviewer, reader):
    for client, offered in ((secretariat, True), (lead, False), (reviewer, False), (reader, False)):
        assert ('href="/locks/"' in html_of(client.get("/dashboard/"))) is offered


def test_the_secretariat_locks_a_quarter(secretariat, world):
    page = html_of(secretariat.get("/locks/"))
    assert 'name="lock-period"' in page

    response = secretariat.post("/locks/", {"plan": world.plan.pk, "lock-period": "2024Q3", "lock-reason": "年度結算"})

    assert response.status_code == 302 and response["Location"] == f"/locks/?plan={world.plan.pk}"
    lock = QuarterLock.objects.get()
    assert (lock.plan, lock.period, lock.reason, lock.locked_by) == (
        world.plan,
        "2024Q3",
        "年度結算",
        world.secretariat,
    )
    html = html_of(secretariat.get(response["Location"]))
    assert re.search(rf'<article class="flag" id="lock-{lock.pk}" data-period="2024Q3"', html)
    assert "年度結算" in html


def test_a_locked_quarter_closes_filing_on_the_report_page(secretariat, lead, world, lock):
    response = lead.post(
        f"/projects/{world.subproject.pk}/reports/new/",
        {"period": "2024Q3", "action": "save", "planned_progress": "50", "actual_progress": "55"},
    )

    assert response.status_code == 400
    assert "2024Q3" in response.content.decode() and "執行秘書室" in response.content.decode()
    assert not QuarterlyReport.objects.exists()


@pytest.mark.parametrize("period", ["2024Q5", "", "明年"])
def test_a_quarter_that_is_not_one_is_refused_with_the_api_s_message(secretariat, world, period):
    response = secretariat.post("/locks/", {"plan": world.plan.pk, "lock-period": period})

    expected = api_errors(world.secretariat, "/api/v1/locks/", {"plan": world.plan.pk, "period": period})
    assert response.status_code == 400
    assert field_errors(response, "lock-period") == expected["period"]
    assert not QuarterLock.objects.exists()


def test_a_quarter_locked_already_is_said_so(secretariat, world, lock):
    response = secretariat.post("/locks/", {"plan": world.plan.pk, "lock-period": "2024Q3"})

    assert response.status_code == 400
    assert field_errors(response, "lock-period") == ["2024Q3 已鎖定。"]
    assert QuarterLock.objects.count() == 1


def test_the_secretariat_grants_an_exception_then_withdraws_it(secretariat, world, lock):
    prefix = f"exception-{lock.pk}"
    response = secretariat.post(
        f"/locks/{lock.pk}/exceptions/",
        {f"{prefix}-project": world.subproject.pk, f"{prefix}-expires_on": later(), f"{prefix}-reason": "補正資料"},
    )

    assert response.status_code == 302
    exception = LockException.objects.get()
    assert (exception.node, exception.expires_on.isoformat(), exception.reason) == (
        world.subproject,
        later(),
        "補正資料",
    )
    html = html_of(secretariat.get(response["Location"]))
    item = re.search(rf'<li id="exception-{exception.pk}">.*?</li>', html, re.S).group(0)
    assert world.subproject.title in item and later() in item

    withdrawn = secretariat.post(f"/locks/{lock.pk}/exceptions/{exception.pk}/withdraw/")
    assert withdrawn.status_code == 302 and not LockException.objects.exists()


def test_an_exception_lets_the_sub_project_file_the_locked_quarter(secretariat, lead, world, lock):
    prefix = f"exception-{lock.pk}"
    secretariat.post(
        f"/locks/{lock.pk}/exceptions/", {f"{prefix}-project": world.subproject.pk, f"{prefix}-expires_on": later()}
    )

    response = lead.post(
        f"/projects/{world.subproject.pk}/reports/new/",
        {"period": "2024Q3", "action": "save", "planned_progress": "50", "actual_progress": "55"},
    )

    assert response.status_code == 302
    assert QuarterlyReport.objects.get().period == "2024Q3"


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"expires_on": "2020-01-01"}, "expires_on"),  # passed already: the service's message
        ({"expires_on": "not a date"}, "expires_on"),  # the serializer's
        ({"project": ""}, "project"),
    ],
)
def test_an_exception_is_refused_next_to_its_field(secretariat, world, lock, typed, field):
    prefix = f"exception-{lock.pk}"
    body = {"project": world.subproject.pk, "expires_on": later(), **typed}

    response = secretariat.post(
        f"/locks/{lock.pk}/exceptions/", {f"{prefix}-{key}": value for key, value in body.items()}
    )

    assert response.status_code == 400
    client = APIClient()
    client.force_authenticate(world.secretariat)
    api = client.post(f"/api/v1/locks/{lock.pk}/exceptions/", body, format="json")
    assert api.status_code == 400
    assert field_errors(response, f"{prefix}-{field}") == api.json()["errors"][field]
    assert '<details class="action" open>' in response.content.decode()
    assert not LockException.objects.exists()


def test_the_secretariat_unlocks_a_quarter(secretariat, lock):
    response = secretariat.post(f"/locks/{lock.pk}/unlock/")

    assert response.status_code == 302
    assert not QuarterLock.objects.exists()


@pytest.mark.parametrize("role", ["lead", "reviewer", "reader"])
def test_others_see_the_locks_but_set_none(request, world, lock, role):
    client = request.getfixturevalue(role)
    exception = LockException.objects.create(
        lock=lock, node=world.subproject, expires_on=today(), granted_by=world.secretariat
    )

    html = html_of(client.get("/locks/"))
    assert f'id="lock-{lock.pk}"' in html and world.subproject.title in html
    assert '<form method="post"' not in html.split('<main id="main"', 1)[1]

    prefix = f"exception-{lock.pk}"
    attempts = [
        client.post("/locks/", {"plan": world.plan.pk, "lock-period": "2024Q4"}),
        client.post(f"/locks/{lock.pk}/unlock/"),
        client.post(
            f"/locks/{lock.pk}/exceptions/",
            {f"{prefix}-project": world.unit_subproject.pk, f"{prefix}-expires_on": later()},
        ),
        client.post(f"/locks/{lock.pk}/exceptions/{exception.pk}/withdraw/"),
    ]
    assert [response.status_code for response in attempts] == [403, 403, 403, 403]
    assert QuarterLock.objects.count() == 1 and LockException.objects.count() == 1


def test_a_lock_or_an_exception_that_does_not_exist_is_404(secretariat, lock):
    assert secretariat.post(f"/locks/{lock.pk + 1000}/unlock/").status_code == 404
    assert secretariat.post(f"/locks/{lock.pk}/exceptions/{1000}/withdraw/").status_code == 404
