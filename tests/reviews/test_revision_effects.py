"""What a plan revision sets off beside its own row: emails to who acts next and to the leads of the decision,
webhooks (``revision.requested``, ``revision.decided``), the admin's refusal to edit a frozen baseline in place,
and two approvers racing (PostgreSQL)."""

import datetime
from decimal import Decimal

import pytest

from accounts.models import Role
from indicators.models import IndicatorTarget
from projects.models import Milestone, PlanNode
from reviews import access, services, tasks
from reviews.models import Baseline, OutboxMessage, PlanRevision, ReportStatus, RevisionStatus, WebhookEvent
from reviews.services import notifications
from tests.accounts.factories import UserFactory, lead_user, reviewer_user, secretariat_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import MilestoneFactory, PlanFactory, make_tree

from .factories import LagSettingsFactory, WebhookSubscriptionFactory, report_in_status
from .test_report_concurrency import post, race, run_together

END = datetime.date(2026, 6, 30)


@pytest.fixture
def people(agency, other_agency):
    return {
        "secretariat": secretariat_user("sec", email="sec@example.org"),
        "lead": lead_user(agency, "lead-a", email="lead@example.org"),
        "reviewer": reviewer_user(agency, "moda-reviewer", email="reviewer@example.org"),
        "other_reviewer": reviewer_user(other_agency, "moea-reviewer", email="moea@example.org"),
        "other_lead": lead_user(other_agency, "lead-b", email="other@example.org"),
    }


def subproject(agency, *, endorsement: bool):
    plan = PlanFactory()
    LagSettingsFactory(plan=plan, endorsement_required=endorsement)
    return make_tree(plan, lead_agency=agency)[3][0]


def run_revision_emails() -> list:
    jobs = OutboxMessage.objects.filter(task="reviews.notify_revision_step").order_by("pk")
    return [tasks.notify_revision_step(**job.kwargs) for job in jobs]


def test_each_step_emails_who_acts_next_then_the_leads_and_reviewers(agency, people, mailoutbox):
    node = subproject(agency, endorsement=True)
    revision = services.revision_request(actor=people["lead"], node=node, reason="展延", changes={"end_date": END})
    revision = services.revision_endorse(actor=people["reviewer"], revision=revision, expected_version=1)
    services.revision_approve(actor=people["secretariat"], revision=revision, expected_version=2, reason="同意")

    assert run_revision_emails() == [True, True, True]
    assert run_revision_emails() == [False, False, False]  # once per step, however often the job runs
    to = [(sorted(mail.to), mail.subject) for mail in mailoutbox]
    assert to[0] == (["reviewer@example.org"], f"[GSTP] 計畫修正待初核：{node.title}")
    assert to[1] == (["sec@example.org"], f"[GSTP] 計畫修正待核定：{node.title}")
    assert to[2] == (["lead@example.org", "reviewer@example.org"], f"[GSTP] 計畫修正核定：{node.title}")
    assert "說明：同意" in mailoutbox[2].body and "第 2 版" in mailoutbox[2].body


def test_without_the_ministry_level_the_secretariat_hears_first_and_a_rejection_reaches_the_lead(
    agency, people, mailoutbox
):
    node = subproject(agency, endorsement=False)
    revision = services.revision_request(actor=people["lead"], node=node, reason="展延", changes={"end_date": END})
    services.revision_reject(actor=people["secretariat"], revision=revision, expected_version=1, reason="理由不足")

    run_revision_emails()

    assert [sorted(mail.to) for mail in mailoutbox] == [["sec@example.org"], ["lead@example.org"]]
    assert "駁回" in mailoutbox[1].subject and "理由不足" in mailoutbox[1].body


def test_webhooks_tell_of_the_request_and_the_decision(agency, people):
    WebhookSubscriptionFactory(events=[WebhookEvent.REVISION_REQUESTED, WebhookEvent.REVISION_DECIDED])
    node = subproject(agency, endorsement=False)
    revision = services.revision_request(actor=people["lead"], node=node, reason="展延", changes={"end_date": END})
    services.revision_approve(actor=people["secretariat"], revision=revision, expected_version=1)

    deliveries = []
    for job in OutboxMessage.objects.filter(task="reviews.fan_out_webhook").order_by("pk"):
        deliveries += notifications.webhook_fan_out(**job.kwargs)

    payloads = [
        d.payload for d in notifications.WebhookDelivery.objects.filter(pk__in=deliveries).order_by("created_at", "pk")
    ]
    assert [(p["event"], p["revision"]["status"], p["revision"]["baseline_version"]) for p in payloads] == [
        ("revision.requested", "requested", None),
        ("revision.decided", "approved", 2),
    ]
    assert payloads[0]["revision"]["project"] == node.pk


# --------------------------------------------------------------------------- the frozen baseline


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", role=Role.SECRETARIAT, is_staff=True, is_superuser=True)


def frozen_subproject(agency):
    node = subproject(agency, endorsement=False)
    MilestoneFactory(node=node, title="上線", planned_date=datetime.date(2025, 6, 30), weight=Decimal(100))
    report_in_status(node=node, status=ReportStatus.ACCEPTED)
    return node


def test_the_baseline_freezes_at_the_first_accepted_report(agency):
    node = subproject(agency, endorsement=False)
    assert not access.baseline_frozen(node)

    report_in_status(node=node, status=ReportStatus.ACCEPTED)

    assert access.baseline_frozen(node)
    assert access.baseline_frozen(node, year=2024)
    assert not access.baseline_frozen(node, year=2025)


def test_a_recorded_baseline_freezes_the_whole_sub_project(agency):
    node = subproject(agency, endorsement=False)
    Baseline.objects.create(node=node, version=1, content=services.baseline_content(node))

    assert access.baseline_frozen(node)
    assert access.baseline_frozen(node, year=2031)


def test_the_admin_refuses_to_move_a_frozen_end_date_and_points_to_revisions(client, superuser, agency):
    node = frozen_subproject(agency)
    client.force_login(superuser)
    url = f"/admin/projects/plannode/{node.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {
            "end_date": "2027-12-31",
            "agency_links-TOTAL_FORMS": "0",
            "agency_links-INITIAL_FORMS": "0",
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, with the error
    assert "/api/v1/revisions/" in response.content.decode()
    assert PlanNode.objects.get(pk=node.pk).end_date == datetime.date(2025, 12, 31)


def test_the_admin_refuses_a_frozen_milestone_date_and_weight_but_takes_its_completion(client, superuser, agency):
    node = frozen_subproject(agency)
    milestone = node.milestones.get()
    client.force_login(superuser)
    url = f"/admin/projects/milestone/{milestone.pk}/change/"
    data = {
        "node": node.pk,
        "title": milestone.title,
        "planned_date": "2026-01-31",
        "weight": "100",
        "forecast_date": "",
        "completed_on": "",
    }

    refused = client.post(url, data)
    taken = client.post(url, {**data, "planned_date": "2025-06-30", "completed_on": "2025-06-20"})

    assert refused.status_code == 200 and "/api/v1/revisions/" in refused.content.decode()
    assert taken.status_code == 302
    stored = Milestone.objects.get(pk=milestone.pk)
    assert (stored.planned_date, stored.completed_on) == (datetime.date(2025, 6, 30), datetime.date(2025, 6, 20))


def test_the_admin_refuses_a_frozen_indicator_target(client, superuser, agency):
    node = frozen_subproject(agency)
    indicator = IndicatorFactory(node=node, targets=[(2025, 0, "100")])
    target = indicator.targets.get()
    client.force_login(superuser)
    url = f"/admin/indicators/indicator/{indicator.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() if form[name].value() is not None else "" for name in form.fields}
    data["node"] = node.pk
    data["plan"] = node.plan_id
    data.update(
        {
            "targets-TOTAL_FORMS": "1",
            "targets-INITIAL_FORMS": "1",
            "targets-0-id": target.pk,
            "targets-0-indicator": indicator.pk,
            "targets-0-year": "2025",
            "targets-0-quarter": "0",
            "targets-0-value": "50",
            "actuals-TOTAL_FORMS": "0",
            "actuals-INITIAL_FORMS": "0",
        }
    )
    data = {key: ("on" if value is True else value) for key, value in data.items() if value is not False}

    response = client.post(url, data)

    assert response.status_code == 200, response.content[:300]
    assert "/api/v1/revisions/" in response.content.decode()
    assert IndicatorTarget.objects.get(pk=target.pk).value == Decimal(100)


def test_the_admin_deletes_no_milestone_of_a_frozen_baseline(client, superuser, agency):
    node = frozen_subproject(agency)
    milestone = node.milestones.get()
    client.force_login(superuser)

    refused = client.post(f"/admin/projects/milestone/{milestone.pk}/delete/", {"post": "yes"})
    page = client.get(f"/admin/projects/plannode/{node.pk}/change/")

    assert refused.status_code == 403
    assert Milestone.objects.filter(pk=milestone.pk).exists()
    assert not page.context["inline_admin_formsets"][1].formset.can_delete


def test_before_any_accepted_report_the_admin_edits_in_place(client, superuser, agency):
    node = subproject(agency, endorsement=False)
    milestone = MilestoneFactory(node=node, title="上線", weight=Decimal(100))
    client.force_login(superuser)
    data = {"node": node.pk, "title": "上線", "planned_date": "2026-01-31", "weight": "100"}

    response = client.post(f"/admin/projects/milestone/{milestone.pk}/change/", data)

    assert response.status_code == 302
    assert Milestone.objects.get(pk=milestone.pk).planned_date == datetime.date(2026, 1, 31)


# --------------------------------------------------------------------------- two approvers at once


@pytest.mark.postgres
@race
def test_two_approvers_racing_one_wins_the_other_gets_412(agency):
    node = subproject(agency, endorsement=False)
    lead = lead_user(agency, "racing-lead")
    first, second = secretariat_user("sec-1"), secretariat_user("sec-2")
    for round_ in range(3):
        end = END + datetime.timedelta(days=round_)
        revision = services.revision_request(actor=lead, node=node, reason="展延", changes={"end_date": end})
        approve = post(f"/api/v1/revisions/{revision.pk}/approve/", {}, HTTP_IF_MATCH=revision.etag)

        responses = run_together((first, approve), (second, approve))

        assert sorted(r.status_code for r in responses) == [200, 412], [r.content for r in responses]
        stored = PlanRevision.objects.get(pk=revision.pk)
        assert stored.status == RevisionStatus.APPROVED and stored.version == revision.version + 1
        assert Baseline.objects.filter(node=node).count() == round_ + 2  # one new version per approval
        assert PlanNode.objects.get(pk=node.pk).end_date == end
