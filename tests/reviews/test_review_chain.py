"""The review chain over the API: the ministry's endorsement (初核) before the secretariat's acceptance (複核),
four eyes, withdrawal, reopening for correction, the review queues and quarter locks.

Who may take each step on each status is the matrix in ``test_report_permissions``; here are the rules it
cannot show: what each step writes, what it leaves in force, races, and plans without the ministry level.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role, User
from indicators.models import IndicatorActual
from projects.models import Milestone
from reviews import access, selectors, services
from reviews.models import (
    LagFlag,
    LagRule,
    LockException,
    OutboxMessage,
    QuarterLock,
    QuarterlyReport,
    ReportAction,
    ReportKind,
    ReportStatus,
)
from reviews.periods import Quarter, today
from reviews.services.scan import lag_scan
from tests.accounts.factories import UserFactory, lead_user, reviewer_user, secretariat_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, MilestoneFactory, PlanFactory, SubprojectFactory, make_tree

from .factories import LagSettingsFactory, of_kind, report_in_status
from .test_report_concurrency import ROUND_PERIODS, client_for, post, race, run_together

# Milestone entries and indicator values are the quarterly report's alone.
QUARTERLY_ONLY = pytest.mark.parametrize("report_kind", [ReportKind.QUARTERLY])
REPORTS = "/api/v1/reports/"
LOCKS = "/api/v1/locks/"


@pytest.fixture
def plan(db):
    plan = PlanFactory(code="smart-nation")
    LagSettingsFactory(plan=plan, endorsement_required=True)
    return plan


@pytest.fixture
def node(plan, agency, report_kind):
    """A sub-project whose quarterly reports, or (``report_kind``) monthly updates, go through the chain."""
    _group, _strategy, _measure, (node,) = make_tree(plan, lead_agency=agency)
    return of_kind(node, report_kind)


def step(client, report, name, body=None, etag=None):
    return client.post(f"{REPORTS}{report.pk}/{name}/", body or {}, format="json", HTTP_IF_MATCH=etag or report.etag)


def fresh(report) -> QuarterlyReport:
    return QuarterlyReport.objects.get(pk=report.pk)


def actions(report) -> list[str]:
    return list(report.events.order_by("at", "id").values_list("action", flat=True))


# --------------------------------------------------------------------------- the chain, step by step


def test_endorsed_report_waits_for_the_secretariat_and_records_who_endorsed(node, reviewer_client, lead_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    response = step(reviewer_client, report, "endorse")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "endorsed"
    assert body["endorsed_at"] is not None
    stored = fresh(report)
    assert stored.endorsed_by == reviewer_client.user
    assert response["ETag"] == stored.etag
    assert actions(stored) == ["create", "submit", "endorse"]
    # the lead can no longer take it back
    assert step(lead_client, stored, "withdraw").status_code == 409


def test_the_secretariat_cannot_accept_what_the_ministry_has_not_endorsed(node, secretariat_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    response = step(secretariat_client, report, "accept")

    assert response.status_code == 409
    assert "初核" in response.json()["detail"] or "endorse" in response.json()["detail"]
    assert fresh(report).status == ReportStatus.SUBMITTED


def test_the_reviewer_returns_with_a_reason_and_the_lead_reads_it(node, reviewer_client, lead_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    without = step(reviewer_client, report, "return", {"reason": "  "})
    response = step(reviewer_client, report, "return", {"reason": "經費執行率與會計報表不符"})

    assert without.status_code == 400
    assert "reason" in without.json()["errors"]
    assert response.status_code == 200
    assert lead_client.get(f"{REPORTS}{report.pk}/").json()["return_reason"] == "經費執行率與會計報表不符"
    assert actions(fresh(report))[-1] == ReportAction.RETURN


def test_the_secretariats_return_goes_to_the_lead_and_the_reviewer_sees_why(node, secretariat_client, reviewer_client):
    report = report_in_status(node=node, status=ReportStatus.ENDORSED)

    response = step(secretariat_client, report, "return", {"reason": "查核點完成日期與佐證不符"})

    assert response.status_code == 200
    stored = fresh(report)
    assert stored.status == ReportStatus.RETURNED
    assert (stored.endorsed_at, stored.endorsed_by) == (None, None)  # endorsed again after the correction
    seen = reviewer_client.get(f"{REPORTS}{report.pk}/").json()
    assert seen["return_reason"] == "查核點完成日期與佐證不符"
    history = reviewer_client.get(f"{REPORTS}{report.pk}/history/").json()
    assert [(e["action"], e["from_status"], e["reason"]) for e in history][-1] == (
        "return",
        "endorsed",
        "查核點完成日期與佐證不符",
    )


def test_after_a_return_the_chain_runs_again_from_the_lead(node, lead_client, reviewer_client, secretariat_client):
    report = report_in_status(node=node, status=ReportStatus.RETURNED)

    for client, name in ((lead_client, "submit"), (reviewer_client, "endorse"), (secretariat_client, "accept")):
        response = step(client, report, name)
        assert response.status_code == 200, (name, response.content)
        report = fresh(report)

    assert report.status == ReportStatus.ACCEPTED
    assert report.return_reason == ""
    assert actions(report) == ["create", "submit", "endorse", "return", "submit", "endorse", "accept"]


def test_a_plan_without_the_ministry_level_goes_straight_to_the_secretariat(
    agency, secretariat_client, reviewer_client
):
    plan = PlanFactory(code="no-ministry-level")
    LagSettingsFactory(plan=plan, endorsement_required=False)
    _g, _s, _m, (node,) = make_tree(plan, lead_agency=agency)
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    refused = step(reviewer_client, report, "endorse")
    in_queue = [row["id"] for row in secretariat_client.get(f"{REPORTS}awaiting-review/").json()["results"]]
    accepted = step(secretariat_client, report, "accept")

    assert refused.status_code == 409
    assert in_queue == [report.pk]
    assert accepted.status_code == 200
    assert actions(fresh(report)) == ["create", "submit", "accept"]


def test_a_plan_with_no_settings_at_all_keeps_the_old_chain(agency, secretariat_client):
    _g, _s, _m, (node,) = make_tree(PlanFactory(code="never-configured"), lead_agency=agency)
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    assert step(secretariat_client, report, "accept").status_code == 200


# --------------------------------------------------------------------------- four eyes


def test_who_filed_and_submitted_a_report_cannot_endorse_it_after_becoming_a_reviewer(node, agency):
    author = lead_user(agency, "lead-then-reviewer")
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED, author=author)
    User.objects.filter(pk=author.pk).update(role=Role.REVIEWER)
    author.refresh_from_db()

    response = step(client_for(author), report, "endorse")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response.json()["detail"] == str(access.FOUR_EYES)
    assert fresh(report).status == ReportStatus.SUBMITTED


def test_who_submitted_a_report_cannot_accept_it_after_joining_the_secretariat(agency, plan):
    _g, _s, _m, (node,) = make_tree(plan, lead_agency=agency)
    filer = lead_user(agency, "filer")
    submitter = lead_user(agency, "submitter")
    report = report_in_status(node=node, status=ReportStatus.DRAFT, author=filer)
    report = services.report_submit(actor=submitter, report=report, expected_version=report.version)
    report = services.report_endorse(actor=reviewer_user(agency), report=report, expected_version=report.version)
    User.objects.filter(pk__in=[filer.pk, submitter.pk]).update(role=Role.SECRETARIAT, agency=None)

    for person in (filer, submitter):
        person.refresh_from_db()
        with pytest.raises(PermissionDenied, match=re.escape(str(access.FOUR_EYES))):
            services.report_accept(actor=person, report=fresh(report), expected_version=report.version)
    accepted = services.report_accept(actor=secretariat_user(), report=fresh(report), expected_version=report.version)
    assert accepted.status == ReportStatus.ACCEPTED


def test_a_reviewer_of_a_ministrys_sub_unit_cannot_be_created(db):
    ministry = AgencyFactory(name="教育部")
    unit = AgencyFactory(name="教育部資訊及科技教育司", parent=ministry)

    with pytest.raises(ValidationError) as refused:
        UserFactory.build(username="unit-reviewer", role=Role.REVIEWER, agency=unit).full_clean(exclude=["password"])

    assert "agency" in refused.value.message_dict
    UserFactory.build(username="ministry-reviewer", role=Role.REVIEWER, agency=ministry).full_clean(
        exclude=["password"]
    )


def test_a_reviewer_endorses_its_sub_units_sub_projects_but_not_another_ministrys(
    plan, agency, other_agency, reviewer_client
):
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    _g, _s, measure, (own,) = make_tree(plan, lead_agency=agency)
    of_unit = SubprojectFactory(parent=measure, lead_agency=unit, start_date=own.start_date, end_date=own.end_date)
    of_other = SubprojectFactory(
        parent=measure, lead_agency=other_agency, start_date=own.start_date, end_date=own.end_date
    )
    reports = {
        name: report_in_status(node=n, status=ReportStatus.SUBMITTED)
        for name, n in (("unit", of_unit), ("other", of_other))
    }

    assert step(reviewer_client, reports["unit"], "endorse").status_code == 200
    assert step(reviewer_client, reports["other"], "endorse").status_code == 404


# --------------------------------------------------------------------------- races


@pytest.mark.postgres
@race
def test_two_reviewers_endorsing_at_once_one_wins_and_the_other_gets_412(agency):
    plan = PlanFactory(code="race-plan")
    LagSettingsFactory(plan=plan, endorsement_required=True)
    _g, _s, _m, (node,) = make_tree(plan, lead_agency=agency)
    first, second = reviewer_user(agency, "reviewer-one"), reviewer_user(agency, "reviewer-two")
    for period in ROUND_PERIODS[:5]:
        report = report_in_status(node=node, status=ReportStatus.SUBMITTED, period=period)
        endorse = post(f"{REPORTS}{report.pk}/endorse/", {}, HTTP_IF_MATCH=report.etag)

        responses = run_together((first, endorse), (second, endorse))

        codes = sorted(response.status_code for response in responses)
        assert codes == [200, 412], (period, [r.content for r in responses])
        stored = fresh(report)
        assert stored.status == ReportStatus.ENDORSED
        assert stored.version == report.version + 1
        assert stored.events.filter(action=ReportAction.ENDORSE).count() == 1


# --------------------------------------------------------------------------- withdrawal


def test_a_lead_withdraws_a_submitted_report_and_files_it_again(node, lead_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)
    first_submitted = report.first_submitted_at

    response = step(lead_client, report, "withdraw", {"reason": "漏填查核點"})

    assert response.status_code == 200
    stored = fresh(report)
    assert stored.status == ReportStatus.DRAFT
    assert stored.first_submitted_at == first_submitted  # lateness is judged on the first submission
    withdrawal = stored.events.get(action=ReportAction.WITHDRAW)
    assert (withdrawal.from_status, withdrawal.to_status, withdrawal.reason) == ("submitted", "draft", "漏填查核點")
    assert step(lead_client, stored, "submit").status_code == 200


def test_withdrawing_needs_no_reason_but_refuses_unknown_fields(node, lead_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    unknown = step(lead_client, report, "withdraw", {"why": "x"})
    plain = step(lead_client, report, "withdraw")

    assert unknown.status_code == 400
    assert plain.status_code == 200


# --------------------------------------------------------------------------- reopening


@pytest.fixture
def accepted_with_actuals(node):
    milestone = MilestoneFactory(node=node, planned_date=datetime.date(2024, 3, 1))
    indicator = IndicatorFactory(node=node)
    report = report_in_status(
        node=node,
        status=ReportStatus.DRAFT,
        planned_progress=Decimal("40"),
        actual_progress=Decimal("45"),
    )
    report = services.report_update(
        actor=report.created_by,
        report=report,
        expected_version=report.version,
        data={
            "milestone_entries": [{"milestone": milestone, "completed_on": datetime.date(2024, 2, 20)}],
            "indicator_values": [{"indicator": indicator, "value": Decimal("12")}],
        },
    )
    report = services.report_submit(actor=report.created_by, report=report, expected_version=report.version)
    report = services.report_endorse(
        actor=reviewer_user(node.lead_agencies[0]), report=report, expected_version=report.version
    )
    report = services.report_accept(actor=secretariat_user(), report=report, expected_version=report.version)
    return fresh(report), milestone, indicator


@QUARTERLY_ONLY
def test_reopening_sends_an_accepted_report_back_and_keeps_what_it_applied(
    accepted_with_actuals, secretariat_client, lead_client, reader_client
):
    report, milestone, indicator = accepted_with_actuals

    without = step(secretariat_client, report, "reopen", {})
    response = step(secretariat_client, report, "reopen", {"reason": "實際進度與查核點不符，請更正"})

    assert without.status_code == 400 and "reason" in without.json()["errors"]
    assert response.status_code == 200
    body = lead_client.get(f"{REPORTS}{report.pk}/").json()
    assert body["status"] == "returned"
    assert body["reopen_reason"] == body["return_reason"] == "實際進度與查核點不符，請更正"
    assert body["reopened_at"] is not None
    assert body["endorsed_at"] is None  # the correction is endorsed anew
    # what the acceptance applied stays in force
    assert Milestone.objects.get(pk=milestone.pk).completed_on == datetime.date(2024, 2, 20)
    assert IndicatorActual.objects.get(indicator=indicator).value == Decimal("12")
    assert fresh(report).accepted_content["actual_progress"] == "45.00"
    # a reader no longer gets the figures being corrected
    assert reader_client.get(f"{REPORTS}{report.pk}/").status_code == 404


@QUARTERLY_ONLY
def test_while_corrected_the_lag_rules_read_the_accepted_figures(
    accepted_with_actuals, secretariat_client, lead_client
):
    report, _milestone, _indicator = accepted_with_actuals
    step(secretariat_client, report, "reopen", {"reason": "請更正"})
    report = fresh(report)

    edited = lead_client.patch(
        f"{REPORTS}{report.pk}/",
        {"actual_progress": "10.00", "delay_reasons": "重新盤點"},
        format="json",
        HTTP_IF_MATCH=report.etag,
    )

    assert edited.status_code == 200
    (figures,) = selectors.latest_accepted_reports([report.node_id])
    assert figures.actual_progress == Decimal("45.00")
    assert figures.pk == report.pk
    owed = selectors.reports_owed(agency=lead_client.user.agency, on=today())
    assert not any(item.report_id == report.pk for item in owed)  # a correction, not a report overdue


@QUARTERLY_ONLY
def test_a_corrected_report_accepted_again_replaces_the_figures(
    accepted_with_actuals, secretariat_client, lead_client, reviewer_client
):
    report, _milestone, _indicator = accepted_with_actuals
    step(secretariat_client, report, "reopen", {"reason": "請更正"})
    report = fresh(report)
    lead_client.patch(f"{REPORTS}{report.pk}/", {"actual_progress": "42.00"}, format="json", HTTP_IF_MATCH=report.etag)

    for client, name in ((lead_client, "submit"), (reviewer_client, "endorse"), (secretariat_client, "accept")):
        report = fresh(report)
        assert step(client, report, name).status_code == 200, name

    stored = fresh(report)
    assert stored.status == ReportStatus.ACCEPTED and stored.accepted_content is None
    assert stored.reopened_at is not None and stored.reopen_reason == ""  # the reason stays in the history
    assert stored.events.get(action=ReportAction.REOPEN).reason == "請更正"
    assert (stored.endorsed_by, stored.accepted_by) == (reviewer_client.user, secretariat_client.user)
    (figures,) = selectors.latest_accepted_reports([stored.node_id])
    assert figures.actual_progress == Decimal("42.00")
    assert actions(stored)[-5:] == ["reopen", "update", "submit", "endorse", "accept"]


@QUARTERLY_ONLY
def test_a_reopened_quarter_is_no_late_report(accepted_with_actuals, secretariat_client):
    report, _milestone, _indicator = accepted_with_actuals
    step(secretariat_client, report, "reopen", {"reason": "請更正"})

    lag_scan(as_of=report.quarter_obj.end + datetime.timedelta(days=120), node_ids=[report.node_id])

    assert not LagFlag.objects.filter(
        node=report.node, rule=LagRule.LATE_REPORT, year=report.year, quarter=report.quarter
    ).exists()


# --------------------------------------------------------------------------- review queues


def test_each_reviewer_sees_what_waits_for_it_oldest_first(
    plan, agency, other_agency, reviewer_client, other_reviewer_client, secretariat_client
):
    _g, _s, measure, (a1,) = make_tree(plan, lead_agency=agency)
    dates = {"start_date": a1.start_date, "end_date": a1.end_date}
    a2 = SubprojectFactory(parent=measure, lead_agency=agency, **dates)
    b1 = SubprojectFactory(parent=measure, lead_agency=other_agency, **dates)
    newer = report_in_status(node=a1, status=ReportStatus.SUBMITTED)
    older = report_in_status(node=a2, status=ReportStatus.SUBMITTED)
    QuarterlyReport.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - datetime.timedelta(days=9))
    of_b = report_in_status(node=b1, status=ReportStatus.SUBMITTED)
    endorsed = report_in_status(node=a1, status=ReportStatus.ENDORSED, period=Quarter(2024, 2))

    def queue(client):
        response = client.get(f"{REPORTS}awaiting-review/")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert queue(reviewer_client) == [older.pk, newer.pk]
    assert queue(other_reviewer_client) == [of_b.pk]
    assert queue(secretariat_client) == [endorsed.pk]


@pytest.mark.parametrize("client_name", ["lead_client", "reader_client"])
def test_leads_and_readers_have_no_review_queue(request, client_name):
    response = request.getfixturevalue(client_name).get(f"{REPORTS}awaiting-review/")

    assert response.status_code == 403


def test_the_review_queue_costs_the_same_queries_for_one_report_or_many(
    plan, agency, reviewer_client, django_assert_max_num_queries
):
    _g, _s, measure, (first,) = make_tree(plan, lead_agency=agency)
    report_in_status(node=first, status=ReportStatus.SUBMITTED)
    with django_assert_max_num_queries(12) as one:
        reviewer_client.get(f"{REPORTS}awaiting-review/")
    for _ in range(6):
        node = SubprojectFactory(
            parent=measure, lead_agency=agency, start_date=first.start_date, end_date=first.end_date
        )
        report_in_status(node=node, status=ReportStatus.SUBMITTED)

    with django_assert_max_num_queries(len(one.captured_queries)):
        body = reviewer_client.get(f"{REPORTS}awaiting-review/").json()

    assert body["count"] == 7


# --------------------------------------------------------------------------- quarter locks


@pytest.fixture
def lock_2024q1(plan, secretariat_client):
    response = secretariat_client.post(
        LOCKS, {"plan": plan.pk, "period": "2024Q1", "reason": "年度結算"}, format="json"
    )
    assert response.status_code == 201, response.content
    return QuarterLock.objects.get(pk=response.json()["id"])


def test_a_lock_closes_filing_and_edits_but_not_review(node, lead_client, reviewer_client, secretariat_client, plan):
    draft = report_in_status(node=node, status=ReportStatus.DRAFT)
    submitted = report_in_status(node=node, status=ReportStatus.SUBMITTED, period=Quarter(2024, 2))
    QuarterLock.objects.create(plan=plan, year=2024, quarter=2, locked_by=secretariat_client.user)
    secretariat_client.post(LOCKS, {"plan": plan.pk, "period": "2024Q1"}, format="json")

    edit = lead_client.patch(f"{REPORTS}{draft.pk}/", {"achievements": "x"}, format="json", HTTP_IF_MATCH=draft.etag)
    submit = step(lead_client, draft, "submit")
    withdraw = step(lead_client, submitted, "withdraw")
    endorse = step(reviewer_client, submitted, "endorse")

    assert (edit.status_code, submit.status_code, withdraw.status_code) == (409, 409, 409)
    assert "鎖定" in edit.json()["detail"] or "locked" in edit.json()["detail"]
    assert endorse.status_code == 200
    assert step(secretariat_client, fresh(submitted), "accept").status_code == 200
    assert fresh(draft).version == draft.version


def test_a_locked_quarter_takes_no_new_report(plan, agency, lead_client, lock_2024q1):
    _g, _s, _m, (node,) = make_tree(plan, lead_agency=agency)

    response = lead_client.post(REPORTS, {"project": node.pk, "period": "2024Q1"}, format="json")

    assert response.status_code == 409
    assert not QuarterlyReport.objects.filter(node=node).exists()


def test_an_exception_lets_one_sub_project_in_until_it_expires(node, lead_client, secretariat_client, lock_2024q1):
    draft = report_in_status(node=node, status=ReportStatus.DRAFT, period=Quarter(2024, 2))
    QuarterlyReport.objects.filter(pk=draft.pk).update(year=2024, quarter=1)
    draft = fresh(draft)

    granted = secretariat_client.post(
        f"{LOCKS}{lock_2024q1.pk}/exceptions/",
        {"project": node.pk, "expires_on": today().isoformat(), "reason": "補正查核點"},
        format="json",
    )
    inside = lead_client.patch(
        f"{REPORTS}{draft.pk}/", {"achievements": "補正"}, format="json", HTTP_IF_MATCH=draft.etag
    )
    LockException.objects.filter(pk=granted.json()["id"]).update(expires_on=today() - datetime.timedelta(days=1))
    draft = fresh(draft)
    after = lead_client.patch(
        f"{REPORTS}{draft.pk}/", {"achievements": "逾期"}, format="json", HTTP_IF_MATCH=draft.etag
    )

    assert granted.status_code == 201, granted.content
    assert inside.status_code == 200
    assert after.status_code == 409


def test_locks_are_listed_to_everyone_and_set_by_the_secretariat_alone(
    plan, lock_2024q1, lead_client, reviewer_client, reader_client, anonymous_client, secretariat_client
):
    for client in (lead_client, reviewer_client, reader_client):
        listed = client.get(LOCKS)
        assert listed.status_code == 200
        assert [(row["period"], row["plan"]) for row in listed.json()["results"]] == [("2024Q1", plan.pk)]
        assert client.post(LOCKS, {"plan": plan.pk, "period": "2024Q2"}, format="json").status_code == 403
        assert client.delete(f"{LOCKS}{lock_2024q1.pk}/").status_code == 403
    assert anonymous_client.get(LOCKS).status_code == 401
    assert QuarterLock.objects.count() == 1
    assert secretariat_client.delete(f"{LOCKS}{lock_2024q1.pk}/").status_code == 204
    assert not QuarterLock.objects.exists()


def test_bad_lock_requests_name_their_field(plan, agency, lock_2024q1, secretariat_client):
    other_plan_node = make_tree(PlanFactory(code="other"), lead_agency=agency)[3][0]
    cases = [
        (LOCKS, {"plan": plan.pk, "period": "2024Q1"}, "period"),  # locked already
        (LOCKS, {"plan": plan.pk, "period": "2024Q5"}, "period"),
        (LOCKS, {"plan": plan.pk, "period": "2040Q1"}, "period"),  # outside the plan's years
        (LOCKS, {"plan": 999999, "period": "2024Q2"}, "plan"),
        (
            f"{LOCKS}{lock_2024q1.pk}/exceptions/",
            {"project": other_plan_node.pk, "expires_on": "2099-01-01"},
            "project",
        ),
        (f"{LOCKS}{lock_2024q1.pk}/exceptions/", {"project": other_plan_node.pk, "expires_on": "2020-01-01"}, None),
        (f"{LOCKS}{lock_2024q1.pk}/exceptions/", {"project": other_plan_node.pk, "expires_on": "soon"}, "expires_on"),
    ]
    for url, body, field in cases:
        response = secretariat_client.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        if field:
            assert field in response.json()["errors"], (body, response.json())
    assert QuarterLock.objects.count() == 1 and not LockException.objects.exists()


def test_withdrawing_an_exception_closes_the_quarter_again(node, plan, lock_2024q1, secretariat_client):
    granted = secretariat_client.post(
        f"{LOCKS}{lock_2024q1.pk}/exceptions/", {"project": node.pk, "expires_on": "2099-12-31"}, format="json"
    ).json()
    assert selectors.quarter_lock(node=node, period=Quarter(2024, 1)) is None

    response = secretariat_client.delete(f"/api/v1/lock-exceptions/{granted['id']}/")

    assert response.status_code == 204
    assert selectors.quarter_lock(node=node, period=Quarter(2024, 1)) == lock_2024q1
    assert secretariat_client.delete(f"/api/v1/lock-exceptions/{granted['id']}/").status_code == 404


def test_the_ministrys_step_clears_its_overdue_flag_at_once(node, reviewer_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)
    LagFlag.objects.create(
        node=node, rule=LagRule.REVIEW_OVERDUE, year=2024, quarter=1, severity="yellow", opened_at=timezone.now()
    )

    step(reviewer_client, report, "endorse")

    assert OutboxMessage.objects.filter(task="reviews.scan_lagging", kwargs={"node_ids": [node.pk]}).exists()


def test_without_an_overdue_flag_no_scan_is_asked_for(node, reviewer_client):
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED)

    step(reviewer_client, report, "endorse")

    assert not OutboxMessage.objects.filter(task="reviews.scan_lagging").exists()
