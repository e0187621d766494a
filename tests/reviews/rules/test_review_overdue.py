"""Ministry review overdue: a report waiting for its ministry's endorsement (submitted, in a plan that requires
endorsement) more than twice the plan's ``endorsement_days`` (7 by default: yellow after 14 days), red after four
times (28). Days run from the Taipei day it was submitted to the scan's day. The flag clears once the report is
endorsed, returned or withdrawn; it stands in the flag queue but leaves the sub-project's light alone."""

import datetime

import pytest

from accounts.models import Role
from projects.access import reviewing_ministries
from projects.models import AgencyRole, NodeKind, PlanNode
from reviews import services
from reviews.models import FlagResolution, FlagStatus, LagFlag, LagRule, LagSettings, QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from reviews.rules import review_overdue
from reviews.selectors import light_counts, node_list
from tests.accounts.factories import UserFactory, secretariat_user
from tests.projects.factories import AgencyFactory, NodeAgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import QuarterlyReportFactory, lead_user_for, report_in_status

from .builders import batch_of, flag, only, subprojects, taipei

pytestmark = pytest.mark.django_db

Q3 = Quarter(2024, 3)
AS_OF = datetime.date(2024, 11, 15)
ENDORSEMENT = {"endorsement_required": True}


def days_before(days: int, hour: int = 12) -> datetime.datetime:
    """Submitted at ``hour`` o'clock in Taipei, ``days`` days before the scan's day."""
    day = AS_OF - datetime.timedelta(days=days)
    return taipei(day.year, day.month, day.day, hour)


def submitted(node, *, waited: int, period: Quarter = Q3, **fields) -> QuarterlyReport:
    """A report of ``node`` submitted ``waited`` days before ``AS_OF`` and not acted on since."""
    return QuarterlyReportFactory(node=node, period=period, submitted=True, submitted_at=days_before(waited), **fields)


def evaluate(*subs, as_of=AS_OF):
    return review_overdue.evaluate(batch_of(list(subs), as_of=as_of))


@pytest.mark.parametrize(
    "waited, severity",
    [
        (7, None),  # the reviewer is reminded now; no flag yet
        (13, None),
        (14, None),  # twice the endorsement days: at the threshold, not past it
        (15, "yellow"),
        (28, "yellow"),  # four times: still yellow
        (29, "red"),
        (90, "red"),
    ],
)
def test_a_report_waiting_for_endorsement(waited, severity):
    (sub,) = subprojects(**ENDORSEMENT)
    report = submitted(sub, waited=waited)

    findings = evaluate(sub)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert (finding.node_id, finding.rule, finding.period, finding.severity) == (
        sub.pk,
        "review_overdue",
        Q3,
        severity,
    )
    assert finding.score == waited
    assert finding.evidence["report"] == report.pk
    assert finding.evidence["days_waiting"] == waited


def test_the_evidence_names_the_report_the_days_and_the_reviewing_ministry():
    # given a sub-project led by a unit of 數位發展部, whose report was submitted on 2024-10-20
    ministry = AgencyFactory(name="數位發展部")
    unit = AgencyFactory(name="數位發展部數位產業署", parent=ministry)
    plan = PlanFactory()
    subprojects(plan=plan, **ENDORSEMENT)
    _, _, _, (sub,) = make_tree(plan, lead_agency=unit)
    report = QuarterlyReportFactory(node=sub, period=Q3, submitted=True, submitted_at=taipei(2024, 10, 20))

    finding = only(evaluate(sub))

    assert finding.evidence == {
        "rule": "review_overdue",
        "period": "2024Q3",
        "report": report.pk,
        "submitted_on": "2024-10-20",
        "days_waiting": 26,
        "threshold_days": 14,
        "red_over_days": 28,
        "reminder_days": 7,
        "reviewing_ministries": [{"id": ministry.pk, "name": "數位發展部"}],
    }


def test_a_sub_project_led_under_two_ministries_names_both():
    first, second = AgencyFactory(name="數位發展部"), AgencyFactory(name="經濟部")
    (sub,) = subprojects(**ENDORSEMENT)
    sub.agency_links.all().delete()
    NodeAgencyFactory(node=sub, agency=AgencyFactory(name="經濟部產業發展署", parent=second), role=AgencyRole.LEAD)
    NodeAgencyFactory(node=sub, agency=first, role=AgencyRole.LEAD)
    submitted(sub, waited=20)

    finding = only(evaluate(sub))

    assert finding.evidence["reviewing_ministries"] == [
        {"id": first.pk, "name": "數位發展部"},
        {"id": second.pk, "name": "經濟部"},
    ]
    assert {m["id"] for m in finding.evidence["reviewing_ministries"]} == set(
        reviewing_ministries(sub).values_list("pk", flat=True)
    )


def test_days_are_counted_from_the_taipei_day_it_was_submitted():
    # given a report submitted at 07:30 on 2024-11-01 in Taipei (23:30 on 2024-10-31 in UTC)
    (sub,) = subprojects(**ENDORSEMENT)
    QuarterlyReportFactory(node=sub, period=Q3, submitted=True, submitted_at=taipei(2024, 11, 1, 7, 30))

    # then on 2024-11-15 it has waited 14 days, not 15: not flagged yet
    assert evaluate(sub, as_of=datetime.date(2024, 11, 15)) == []
    finding = only(evaluate(sub, as_of=datetime.date(2024, 11, 16)))
    assert (finding.evidence["submitted_on"], finding.evidence["days_waiting"]) == ("2024-11-01", 15)


def test_the_plans_own_endorsement_days():
    # given a plan whose reviewers have 3 days: flagged after 6, red after 12
    (sub,) = subprojects(endorsement_required=True, endorsement_days=3)
    submitted(sub, waited=7)
    (later,) = subprojects(endorsement_required=True, endorsement_days=3)
    submitted(later, waited=13)

    findings = {finding.node_id: finding for finding in evaluate(sub, later)}

    assert (findings[sub.pk].severity, findings[later.pk].severity) == ("yellow", "red")
    assert findings[sub.pk].evidence["threshold_days"] == 6
    assert findings[sub.pk].evidence["red_over_days"] == 12
    assert findings[sub.pk].evidence["reminder_days"] == 3


def test_a_plan_without_endorsement_raises_nothing_and_asks_nothing(django_assert_num_queries):
    # given a report submitted 90 days ago in a plan that sends reports straight to the secretariat
    (sub,) = subprojects(endorsement_required=False)
    submitted(sub, waited=90)
    batch = batch_of([sub], as_of=AS_OF)

    with django_assert_num_queries(0):
        assert review_overdue.evaluate(batch) == []


def test_in_a_mixed_batch_only_the_plans_requiring_endorsement_are_flagged():
    (required,) = subprojects(**ENDORSEMENT)
    (direct,) = subprojects(endorsement_required=False)
    submitted(required, waited=20)
    submitted(direct, waited=20)

    assert [finding.node_id for finding in evaluate(required, direct)] == [required.pk]


@pytest.mark.parametrize("trait", ["endorsed", "returned", "accepted", "draft"])
def test_a_report_no_longer_waiting_for_the_ministry_raises_nothing(trait):
    (sub,) = subprojects(**ENDORSEMENT)
    report = submitted(sub, waited=40)
    fields = {
        "endorsed": {
            "status": ReportStatus.ENDORSED,
            "endorsed_at": days_before(30),
            "endorsed_by": secretariat_user(),
        },
        "returned": {"status": ReportStatus.RETURNED, "returned_at": days_before(30)},
        "accepted": {
            "status": ReportStatus.ACCEPTED,
            "accepted_at": days_before(30),
            "accepted_by": secretariat_user(),
        },
        "draft": {"status": ReportStatus.DRAFT},  # withdrawn
    }[trait]
    QuarterlyReport.objects.filter(pk=report.pk).update(**fields)

    assert evaluate(sub) == []


def test_each_quarter_waiting_is_its_own_finding():
    (sub,) = subprojects(**ENDORSEMENT)
    submitted(sub, period=Quarter(2024, 2), waited=100)
    submitted(sub, period=Q3, waited=20)

    assert [(f.period, f.severity) for f in evaluate(sub)] == [(Quarter(2024, 2), "red"), (Q3, "yellow")]


def test_queries_do_not_grow_with_the_batch(django_assert_num_queries):
    # given one and twenty sub-projects, each with a report waiting 20 days for its ministry
    plan = PlanFactory()
    (one,) = subprojects(plan=plan, **ENDORSEMENT)
    twenty = subprojects(20, plan=plan, **ENDORSEMENT)
    for node in [one, *twenty]:
        submitted(node, waited=20)
    small, large = batch_of([one], as_of=AS_OF), batch_of(twenty, as_of=AS_OF)

    # then three queries for each: the reports waiting, the sub-projects' lead agencies, their ministries
    with django_assert_num_queries(3):
        assert len(review_overdue.evaluate(small)) == 1
    with django_assert_num_queries(3):
        assert len(review_overdue.evaluate(large)) == 20


def test_nothing_waiting_past_the_threshold_is_one_query(django_assert_num_queries):
    (sub,) = subprojects(**ENDORSEMENT)
    submitted(sub, waited=3)
    batch = batch_of([sub], as_of=AS_OF)

    with django_assert_num_queries(1):
        assert review_overdue.evaluate(batch) == []


# --------------------------------------------------------------------------- through the scan


def reviewer_of(node):
    (ministry,) = reviewing_ministries(node)
    return UserFactory(username=f"reviewer-{ministry.pk}", role=Role.REVIEWER, agency=ministry)


@pytest.fixture
def waiting():
    """A report filed through the services in a plan requiring endorsement, submitted 20 days before ``AS_OF``."""
    (sub,) = subprojects(**ENDORSEMENT)
    report = report_in_status(node=sub, status=ReportStatus.SUBMITTED, period=Q3)
    QuarterlyReport.objects.filter(pk=report.pk).update(submitted_at=days_before(20))
    report.refresh_from_db()
    return report


def review_overdue_flags(node):
    return LagFlag.objects.filter(node=node, rule=LagRule.REVIEW_OVERDUE)


@pytest.mark.parametrize("step", ["endorse", "return", "withdraw"])
def test_the_scan_raises_the_flag_and_clears_it_once_the_report_moves_on(waiting, step):
    # given the scan flags the report waiting 20 days
    services.lag_scan(as_of=AS_OF)
    (raised,) = review_overdue_flags(waiting.node)
    assert (raised.severity, raised.status, raised.period) == ("yellow", FlagStatus.OPEN, "2024Q3")
    assert raised.evidence["report"] == waiting.pk

    # when the ministry endorses or returns it, or the lead withdraws it
    version = waiting.version
    if step == "endorse":
        services.report_endorse(actor=reviewer_of(waiting.node), report=waiting, expected_version=version)
    elif step == "return":
        services.report_return(
            actor=reviewer_of(waiting.node), report=waiting, expected_version=version, reason="請補附佐證資料"
        )
    else:
        services.report_withdraw(actor=lead_user_for(waiting.node), report=waiting, expected_version=version)
    services.lag_scan(as_of=AS_OF)

    # then the next scan clears the flag
    (cleared,) = review_overdue_flags(waiting.node)
    assert (cleared.pk, cleared.status, cleared.resolution) == (raised.pk, FlagStatus.RESOLVED, FlagResolution.CLEARED)


def test_the_scan_raises_the_flag_to_red_past_four_times_the_days(waiting):
    services.lag_scan(as_of=AS_OF)

    services.lag_scan(as_of=AS_OF + datetime.timedelta(days=9))  # 29 days

    (raised,) = review_overdue_flags(waiting.node)
    assert (raised.severity, raised.evidence["days_waiting"]) == ("red", 29)


def test_two_quarters_running_do_not_turn_it_red(waiting):
    # given the ministry was late with the quarter before too
    flag(waiting.node, LagRule.REVIEW_OVERDUE, Quarter(2024, 2), severity="yellow", status=FlagStatus.RESOLVED)

    services.lag_scan(as_of=AS_OF)

    (raised,) = review_overdue_flags(waiting.node).filter(year=2024, quarter=3)
    assert raised.severity == "yellow"
    assert "escalated" not in raised.evidence


def test_turning_endorsement_off_clears_the_flag(waiting):
    services.lag_scan(as_of=AS_OF)
    LagSettings.objects.filter(plan=waiting.node.plan).update(endorsement_required=False)

    services.lag_scan(as_of=AS_OF)

    (cleared,) = review_overdue_flags(waiting.node)
    assert cleared.status == FlagStatus.RESOLVED


# --------------------------------------------------------------------------- the light and the queue


def test_the_flag_leaves_the_sub_projects_light_green(waiting, secretariat_client):
    services.lag_scan(as_of=AS_OF)
    node = waiting.node
    assert review_overdue_flags(node).get().severity == "yellow"
    # and red, too
    review_overdue_flags(node).update(severity="red")

    (row,) = node_list(user=secretariat_client.user).filter(pk=node.pk)
    assert row.light == "green"
    counts = light_counts(subprojects=PlanNode.objects.filter(pk=node.pk, kind=NodeKind.SUBPROJECT))
    assert (counts["red"], counts["yellow"], counts["green"]) == (0, 0, 1)
    response = secretariat_client.get("/api/v1/projects/", {"light": "green", "plan": node.plan_id})
    assert node.pk in {item["id"] for item in response.json()["results"]}


def test_another_rules_flag_still_colours_the_light(waiting, secretariat_client):
    services.lag_scan(as_of=AS_OF)
    flag(waiting.node, LagRule.PROGRESS_GAP, Quarter(2024, 2), severity="yellow")

    (row,) = node_list(user=secretariat_client.user).filter(pk=waiting.node.pk)

    assert row.light == "yellow"


def test_the_secretariat_narrows_the_queue_to_the_rule_and_one_ministry(waiting, secretariat_client):
    # given a second ministry with a report waiting as long
    (other,) = subprojects(**ENDORSEMENT)
    submitted(other, waited=20)
    services.lag_scan(as_of=AS_OF)
    (ministry,) = reviewing_ministries(waiting.node)

    response = secretariat_client.get("/api/v1/flags/", {"rule": "review_overdue", "agency": ministry.pk})

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert (item["project"], item["rule"], item["severity"]) == (waiting.node_id, "review_overdue", "yellow")
    assert item["evidence"]["reviewing_ministries"] == [{"id": ministry.pk, "name": ministry.name}]
    everyone = secretariat_client.get("/api/v1/flags/", {"rule": "review_overdue"}).json()["results"]
    assert {item["project"] for item in everyone} == {waiting.node_id, other.pk}
