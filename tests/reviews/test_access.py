"""``reviews.access``: the decisions that changed when access was written once, and the object permissions
the module registers, which answer as its predicates do."""

import pytest

from accounts.access import Capability, capabilities
from accounts.models import Role
from reviews import access, services
from reviews.models import QuarterlyReport, ReportStatus
from tests.accounts.factories import UserFactory
from tests.projects.factories import make_tree
from tests.reviews.factories import LagSettingsFactory, report_in_status

REPORTS = "/api/v1/reports/"


@pytest.fixture
def accepted(agency):
    node = make_tree(lead_agency=agency)[3][0]
    return report_in_status(node=node, status=ReportStatus.ACCEPTED)


@pytest.mark.django_db
def test_an_accepted_reports_history_is_the_secretariats_and_its_leads(
    accepted, secretariat_client, lead_client, other_lead_client, reader_client
):
    # given: a report every signed-in user may read
    missing = accepted.pk + 999_999
    for client in (secretariat_client, lead_client, other_lead_client, reader_client):
        assert client.get(f"{REPORTS}{accepted.pk}/").status_code == 200

    # then: its history (draft values, return reasons) only to the secretariat and the sub-project's leads
    assert [event["action"] for event in secretariat_client.get(f"{REPORTS}{accepted.pk}/history/").json()][-1] == (
        "accept"
    )
    assert lead_client.get(f"{REPORTS}{accepted.pk}/history/").status_code == 200
    for client in (other_lead_client, reader_client):
        hidden = client.get(f"{REPORTS}{accepted.pk}/history/")
        absent = client.get(f"{REPORTS}{missing}/history/")
        assert hidden.status_code == absent.status_code == 404
        assert hidden.content == absent.content
        assert hidden.get("ETag") is None


@pytest.mark.django_db
def test_registered_permissions_answer_as_the_predicates(accepted, agency, other_agency):
    users = [
        UserFactory(username="s", role=Role.SECRETARIAT),
        UserFactory(username="l", role=Role.LEAD, agency=agency),
        UserFactory(username="o", role=Role.LEAD, agency=other_agency),
        UserFactory(username="r", role=Role.READER),
    ]
    report_rules = {
        "reviews.edit_report": access.can_edit_report,
        "reviews.submit_report": access.can_submit_report,
        "reviews.return_report": access.can_return_report,
        "reviews.accept_report": access.can_accept_report,
        "reviews.view_history_of_report": access.can_see_report_history,
    }
    answers = {}
    for user in users:
        for name, predicate in report_rules.items():
            assert user.has_perm(name, accepted) == predicate(user, accepted), (user.username, name)
            answers[(user.username, name)] = predicate(user, accepted)
        assert user.has_perm("reviews.download_annual_report") == access.can_download_annual_report(user)

    # and the answers are the README's
    assert answers[("s", "reviews.accept_report")] and not answers[("l", "reviews.accept_report")]
    assert answers[("l", "reviews.edit_report")] and not answers[("o", "reviews.edit_report")]
    assert answers[("l", "reviews.view_history_of_report")] and not answers[("r", "reviews.view_history_of_report")]


@pytest.mark.django_db
def test_actions_join_role_and_status(agency):
    node = make_tree(lead_agency=agency)[3][0]
    lead = UserFactory(username="l", role=Role.LEAD, agency=agency)
    secretariat = UserFactory(username="s", role=Role.SECRETARIAT)
    draft = report_in_status(node=node, status=ReportStatus.DRAFT)

    assert access.report_actions(lead, draft) == {"edit", "submit"}
    assert access.report_actions(secretariat, draft) == set()

    submitted = report_in_status(node=node, status=ReportStatus.SUBMITTED, period=draft.quarter_obj.next())
    assert access.report_actions(lead, submitted) == {"withdraw"}
    assert access.report_actions(secretariat, submitted) == {"return", "accept"}
    accepted = report_in_status(node=node, status=ReportStatus.ACCEPTED, period=submitted.quarter_obj.next())
    assert access.report_actions(secretariat, accepted) == {"reopen"}
    assert access.report_actions(lead, accepted) == set()


@pytest.mark.django_db
def test_with_the_ministry_level_the_reviewer_acts_before_the_secretariat(agency):
    node = make_tree(lead_agency=agency)[3][0]
    LagSettingsFactory(plan=node.plan, endorsement_required=True)
    reviewer = UserFactory(username="m", role=Role.REVIEWER, agency=agency)
    secretariat = UserFactory(username="s", role=Role.SECRETARIAT)
    submitted = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    assert access.report_actions(reviewer, submitted) == {"endorse", "return"}
    assert access.report_actions(secretariat, submitted) == set()

    endorsed = report_in_status(node=node, status=ReportStatus.ENDORSED, period=submitted.quarter_obj.next())
    assert access.report_actions(reviewer, endorsed) == set()
    assert access.report_actions(secretariat, endorsed) == {"return", "accept"}
    # four eyes: a reviewer who submitted the report itself may return it, never endorse it
    submitter = UserFactory(username="m2", role=Role.REVIEWER, agency=agency)
    QuarterlyReport.objects.filter(pk=submitted.pk).update(submitted_by=submitter)
    submitted.refresh_from_db()
    assert access.report_actions(submitter, submitted) == {"return"}


@pytest.mark.django_db
def test_a_lead_without_an_agency_and_an_inactive_account_can_do_nothing(agency):
    lead = UserFactory(username="l", role=Role.LEAD, agency=agency)
    assert capabilities(lead) == {Capability.FILE}

    lead.agency = None
    assert capabilities(lead) == frozenset()
    node = make_tree(lead_agency=agency)[3][0]
    report_in_status(node=node, status=ReportStatus.ACCEPTED)
    assert access.reports_for(lead).exists()  # an accepted report, which every signed-in account reads
    lead.is_active = False
    assert capabilities(lead) == frozenset()
    assert not access.reports_for(lead).exists()


@pytest.mark.django_db
def test_a_report_returned_then_accepted_keeps_its_return_reason_in_the_history_only(
    agency, secretariat_client, reader_client, other_lead_client
):
    node = make_tree(lead_agency=agency)[3][0]
    report = report_in_status(node=node, status=ReportStatus.RETURNED, return_reason="RETURN-REASON-7q")
    lead = report.created_by
    report = services.report_submit(actor=lead, report=report, expected_version=report.version)
    secretariat = UserFactory(username="s", role=Role.SECRETARIAT)
    services.report_accept(actor=secretariat, report=report, expected_version=report.version)

    for client in (reader_client, other_lead_client):
        body = client.get(f"{REPORTS}{report.pk}/").content.decode()
        assert "RETURN-REASON-7q" not in body
    history = secretariat_client.get(f"{REPORTS}{report.pk}/history/").content.decode()
    assert "RETURN-REASON-7q" in history


@pytest.mark.django_db
def test_rules_asked_without_an_object_say_no_for_object_rules(agency):
    lead = UserFactory(username="l", role=Role.LEAD, agency=agency)

    assert not lead.has_perm("reviews.edit_report")
    assert not lead.has_perm("reviews.view_history_of_report")
    assert not lead.has_perm("reviews.comment_on_flag")
    assert lead.has_perm("reviews.see_owed")
