"""Plan revisions (計畫修正) on the pages: the lead's request form (refusing what the API refuses, next to the
field), the page where the ministry's reviewer endorses and the secretariat decides, the list of what waits,
and the sub-project's milestones with their original and current dates. Who may open each page and take each
step is the revision matrix's (tests/reviews/test_revision_permissions.py): the console answers as the API does
(``test_the_console_answers_as_the_revision_matrix``)."""

import datetime

import pytest

from reviews import services
from reviews.models import PlanRevision, RevisionStatus
from tests.reviews.factories import ministry_reviewer_for, moment
from tests.reviews.test_revision_permissions import ROWS
from tests.security.test_console_authorization import console_expected

from .test_report_form import api_errors, field_errors


def new_url(node):
    return f"/projects/{node.pk}/revisions/new/"


def request_revision(world, **changes):
    return services.revision_request(
        actor=world.lead,
        node=world.subproject,
        reason="採購流標",
        changes=changes or {"end_date": datetime.date(2026, 6, 30)},
    )


def test_the_lead_requests_a_revision_on_the_form(world, lead):
    node = world.subproject
    milestone = node.milestones.get(title="系統建置完成")
    page = lead.get(new_url(node))
    assert page.status_code == 200
    assert "計畫修正" in page.content.decode()

    response = lead.post(
        new_url(node),
        {
            "reason": "採購流標，需展延半年",
            "end_date": "2026-06-30",
            f"milestone-{milestone.pk}-planned_date": "2025-12-31",
            f"milestone-{milestone.pk}-weight": format(milestone.weight.normalize(), "f"),
        },
    )

    revision = PlanRevision.objects.get(node=node)
    assert response.status_code == 302 and response["Location"] == f"/revisions/{revision.pk}/"
    assert revision.changes == {
        "end_date": "2026-06-30",
        "milestones": [{"milestone": milestone.pk, "planned_date": "2025-12-31"}],
    }
    assert revision.requested_by == world.lead


def test_the_form_refuses_what_the_api_refuses_next_to_the_field(world, lead):
    node = world.subproject
    body = {"reason": "展延", "end_date": "2020-01-01"}

    response = lead.post(new_url(node), body)

    assert response.status_code == 400
    expected = api_errors(world.lead, {"project": node.pk, **body}, path="/api/v1/revisions/")["end_date"]
    assert field_errors(response, "end_date") == expected
    assert not PlanRevision.objects.exists()


def test_others_cannot_open_the_form(world, secretariat, other_lead, reader):
    assert secretariat.get(new_url(world.subproject)).status_code == 403
    assert other_lead.get(new_url(world.subproject)).status_code == 403
    assert reader.get(new_url(world.subproject)).status_code == 403


def test_the_secretariat_decides_on_the_page_and_the_timeline_shows_both_dates(world, lead, secretariat):
    milestone = world.subproject.milestones.get(title="系統建置完成")
    revision = request_revision(
        world,
        end_date=datetime.date(2026, 6, 30),
        milestones=[{"milestone": milestone, "planned_date": datetime.date(2025, 12, 31)}],
    )

    page = secretariat.get(f"/revisions/{revision.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "2026-06-30" in html and 'data-action="approve"' in html and 'data-action="reject"' in html
    assert 'data-action="withdraw"' not in html
    waiting = secretariat.get("/revisions/").content.decode()
    assert f"/revisions/{revision.pk}/" in waiting

    response = secretariat.post(f"/revisions/{revision.pk}/approve/", {"version": revision.version, "reason": "同意"})

    assert response.status_code == 302
    assert PlanRevision.objects.get(pk=revision.pk).status == RevisionStatus.APPROVED
    subproject = lead.get(f"/projects/{world.subproject.pk}/").content.decode()
    assert "mark--original-date" in subproject  # the original planned date on the timeline
    assert "2025-06-30" in subproject and "2025-12-31" in subproject
    assert "第 2 版" in subproject or "Version 2" in subproject


def test_the_page_as_of_a_moment_before_the_decision_shows_the_revision_as_it_stood(world, lead):
    revision = request_revision(world)
    waiting = moment()
    services.revision_approve(actor=world.secretariat, revision=revision, expected_version=revision.version)

    then = lead.get(f"/projects/{world.subproject.pk}/", {"as_of": waiting}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    now = lead.get(f"/projects/{world.subproject.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hant")

    def status_cell(response):
        table = response.content.decode().split('id="subproject-revisions"', 1)[1].split("</table>", 1)[0]
        return table.split("</td>")[1].rsplit(">", 1)[-1]

    assert (status_cell(then), status_cell(now)) == ("已申請", "核定")


def test_the_reviewer_endorses_and_a_rejection_needs_a_reason(world, endorsing, lead, reviewer, secretariat):
    revision = request_revision(world)

    page = reviewer.get(f"/revisions/{revision.pk}/").content.decode()
    assert 'data-action="endorse"' in page
    endorsed = reviewer.post(f"/revisions/{revision.pk}/endorse/", {"version": revision.version})
    assert endorsed.status_code == 302
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.ENDORSED

    without = secretariat.post(f"/revisions/{revision.pk}/reject/", {"version": revision.version, "reason": ""})
    assert PlanRevision.objects.get(pk=revision.pk).status == RevisionStatus.ENDORSED
    rejected = secretariat.post(
        f"/revisions/{revision.pk}/reject/", {"version": revision.version, "reason": "理由不足"}
    )
    assert (without.status_code, rejected.status_code) == (302, 302)
    assert PlanRevision.objects.get(pk=revision.pk).status == RevisionStatus.REJECTED


def test_the_lead_withdraws_and_a_stale_page_changes_nothing(world, lead):
    revision = request_revision(world)

    stale = lead.post(f"/revisions/{revision.pk}/withdraw/", {"version": revision.version + 5})
    assert PlanRevision.objects.get(pk=revision.pk).status == RevisionStatus.REQUESTED
    done = lead.post(f"/revisions/{revision.pk}/withdraw/", {"version": revision.version})

    assert (stale.status_code, done.status_code) == (302, 302)
    assert PlanRevision.objects.get(pk=revision.pk).status == RevisionStatus.WITHDRAWN


# The console's revision routes and the revision matrix's row each mirrors: (endpoint, method).
CONSOLE_TWINS = {
    "revision": ("detail", "GET"),
    "revision-withdraw": ("withdraw", "POST"),
    "revision-endorse": ("endorse", "POST"),
    "revision-approve": ("approve", "POST"),
    "revision-reject": ("reject", "POST"),
}
CONSOLE_ROLES = {
    "secretariat": "secretariat",
    "lead": "lead",
    "reviewer": "reviewer",
    "other_lead": "other_lead",
    "reader": "reader",
}


@pytest.mark.parametrize("route", list(CONSOLE_TWINS))
@pytest.mark.parametrize("status", ["requested", "endorsed", "approved"])
def test_the_console_answers_as_the_revision_matrix(request, world, endorsing, route, status):
    endpoint, method = CONSOLE_TWINS[route]
    reviewer_account = ministry_reviewer_for(world.subproject)
    wrong = []
    for role, column in CONSOLE_ROLES.items():
        client = request.getfixturevalue(role)
        for open_revision in PlanRevision.objects.filter(node=world.subproject, status__in=["requested", "endorsed"]):
            services.revision_withdraw(actor=world.lead, revision=open_revision, expected_version=open_revision.version)
        revision = request_revision(world)
        if status in ("endorsed", "approved"):
            revision = services.revision_endorse(
                actor=reviewer_account, revision=revision, expected_version=revision.version
            )
        if status == "approved":
            revision = services.revision_approve(
                actor=world.secretariat, revision=revision, expected_version=revision.version
            )
        url = f"/{'revisions'}/{revision.pk}/" + ("" if route == "revision" else f"{route.split('-')[1]}/")
        response = (
            client.get(url) if method == "GET" else client.post(url, {"version": revision.version, "reason": "理由"})
        )
        expected = console_expected(ROWS[(endpoint, status)][column], method)
        if response.status_code != expected:
            wrong.append(f"{role}: {response.status_code}, expected {expected}")
    assert wrong == []


def test_the_decision_page_shows_a_budget_and_a_target_as_originally_planned_now_and_proposed(world, lead, secretariat):
    from decimal import Decimal

    from projects.models import BudgetYear
    from tests.indicators.factories import IndicatorFactory

    year = world.subproject.start_date.year
    BudgetYear.objects.update_or_create(
        node=world.subproject, year=year, defaults={"appropriation": Decimal(8000), "allocation_q1": Decimal(2000)}
    )
    indicator = IndicatorFactory(node=world.subproject, plan=world.subproject.plan, targets=[(year, 0, "120")])
    first = request_revision(world, end_date=datetime.date(2026, 6, 30))  # records the original plan
    services.revision_withdraw(actor=world.lead, revision=first, expected_version=first.version, reason="重提")
    BudgetYear.objects.filter(node=world.subproject, year=year).update(appropriation=Decimal(9000))
    revision = request_revision(
        world,
        budgets=[{"year": year, "appropriation": Decimal(7000), "allocation_q1": Decimal(1000)}],
        indicator_targets=[{"indicator": indicator, "year": year, "quarter": 0, "value": Decimal(90)}],
    )

    html = secretariat.get(f"/revisions/{revision.pk}/").content.decode()

    assert "8,000 / 2,000" in html  # the original plan's appropriation and first allocation
    assert "9,000 / 2,000" in html  # the budget in force now
    assert "120.0000" in html and "<strong>90" in html  # the target originally and as proposed
