"""The year's assessment in the admin: the secretariat opens a plan's year and changes its criteria, grade
bands and calendar through the services (refused as they refuse, nothing half-written), each change in history;
assessments are shown, never changed there."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from accounts.access import SECRETARIAT_GROUP
from accounts.models import Role
from accounts.services import admin_groups_sync
from assessments import services
from assessments.models import AssessmentScheme, Criterion, GradeBand
from tests.accounts.factories import UserFactory
from tests.projects.factories import make_tree

from .factories import chain, open_scheme

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client):
    """The secretariat as it works in the admin: staff, in its admin group."""
    admin_groups_sync()
    user = UserFactory(username="secretariat-staff", role=Role.SECRETARIAT, is_staff=True)
    user.groups.add(Group.objects.get(name=SECRETARIAT_GROUP))
    client.force_login(user)
    client.user = user
    return client


def change_data(scheme, *, criteria=None, bands=None, **calendar) -> dict:
    """The change form as the browser sends it: the calendar, each criterion and each grade band."""
    criteria = criteria or {c.key: {} for c in scheme.criteria.all()}
    existing = {c.key: c for c in scheme.criteria.all()}
    data = {name: getattr(scheme, name).isoformat() for name in services.CALENDAR_FIELDS}
    data.update(calendar)
    data.update({"criteria-TOTAL_FORMS": len(criteria), "criteria-INITIAL_FORMS": len(existing)})
    for index, (key, changes) in enumerate(criteria.items()):
        criterion = existing[key]
        row = {
            "id": criterion.pk,
            "scheme": scheme.pk,
            "position": criterion.position,
            "key": key,
            "name": criterion.name,
            "weight": criterion.weight,
            "source": criterion.source,
            "description": criterion.description,
            **changes,
        }
        data.update({f"criteria-{index}-{name}": value for name, value in row.items()})
    saved = list(scheme.bands.all())
    bands = bands or {band.name: band.minimum for band in saved}
    data.update({"bands-TOTAL_FORMS": len(saved), "bands-INITIAL_FORMS": len(saved)})
    for index, band in enumerate(saved):
        data.update(
            {
                f"bands-{index}-id": band.pk,
                f"bands-{index}-scheme": scheme.pk,
                f"bands-{index}-name": band.name,
                f"bands-{index}-minimum": bands[band.name],
            }
        )
    return data


def test_the_secretariat_opens_a_year_in_the_admin(desk, agency):
    _group, _strategy, _measure, subs = make_tree(lead_agency=agency, subprojects=2)
    plan = subs[0].plan

    response = desk.post(
        "/admin/assessments/assessmentscheme/add/",
        {
            "plan": plan.pk,
            "year": 2024,
            "self_due": "2025-02-10",
            "review_due": "2025-03-10",
            "final_due": "2025-04-10",
            "publish_on": "2025-04-30",
        },
    )

    scheme = AssessmentScheme.objects.get(plan=plan, year=2024)
    assert response.status_code == 302
    assert scheme.self_due == datetime.date(2025, 2, 10)
    assert [c.name for c in scheme.criteria.all()] == ["計畫執行進度", "經費執行", "目標達成", "作業管理"]
    assert scheme.assessments.count() == 2


def test_criteria_and_bands_change_through_the_service_and_are_recorded(desk, agency):
    scheme, _assessments = open_scheme(agency=agency)
    before = Criterion.history.count()

    response = desk.post(
        f"/admin/assessments/assessmentscheme/{scheme.pk}/change/",
        change_data(
            scheme,
            criteria={"progress": {"weight": "40"}, "budget": {"weight": "10"}, "targets": {}, "management": {}},
            bands={"優等": "90", "甲等": "82", "乙等": "70", "丙等": "0"},
            publish_on="2025-05-05",
        ),
    )

    assert response.status_code == 302
    scheme.refresh_from_db()
    assert scheme.publish_on == datetime.date(2025, 5, 5) and scheme.version == 2
    assert {c.key: c.weight for c in scheme.criteria.all()}["progress"] == Decimal("40")
    assert GradeBand.objects.get(scheme=scheme, name="甲等").minimum == Decimal("82")
    assert Criterion.history.count() > before
    assert desk.get(f"/admin/assessments/assessmentscheme/{scheme.pk}/history/").status_code == 200


def test_a_change_the_service_refuses_changes_nothing_and_says_why(desk, agency):
    scheme, _assessments = open_scheme(agency=agency)

    response = desk.post(
        f"/admin/assessments/assessmentscheme/{scheme.pk}/change/",
        change_data(scheme, criteria={"progress": {"weight": "50"}, "budget": {}, "targets": {}, "management": {}}),
        follow=True,
    )

    assert "考評項目的權重合計須為 100。" in response.content.decode()
    assert {c.key: c.weight for c in scheme.criteria.all()}["progress"] == Decimal("30")
    scheme.refresh_from_db()
    assert scheme.version == 1


def test_a_published_year_and_the_assessments_are_not_changed_in_the_admin(desk, agency):
    people = chain(agency=agency, to="finalized")
    services.scheme_publish(actor=people.secretariat, scheme=people.scheme)

    response = desk.post(f"/admin/assessments/assessmentscheme/{people.scheme.pk}/change/", change_data(people.scheme))

    assert response.status_code == 403
    assert desk.get(f"/admin/assessments/assessment/{people.assessment.pk}/change/").status_code == 200
    assert desk.post(f"/admin/assessments/assessment/{people.assessment.pk}/change/", {}).status_code == 403
