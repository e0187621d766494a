"""Rebaselined: drift from the original plan (原計畫) through approved revisions. The end date moved more than
the plan's yellow days (90) from the original is yellow; more than the red days (180), or the red count of
approved revisions (3), is red. The thresholds are the plan's; the evidence gives both end dates, the days moved
and the revisions approved."""

import datetime

import pytest

from reviews import services
from reviews.models import LagFlag, LagRule, LagSettings, Severity
from reviews.rules import rebaselined
from reviews.services.scan import lag_scan
from tests.accounts.factories import lead_user, secretariat_user
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree

from .builders import batch_of, only

pytestmark = pytest.mark.django_db

ORIGINAL_END = datetime.date(2025, 12, 31)
AS_OF = datetime.date(2025, 3, 15)


def revised(*moves, plan=None, **thresholds):
    """A sub-project (ending 2025-12-31) whose end date approved revisions moved by ``moves`` days, in turn."""
    plan = plan or PlanFactory()
    LagSettings.objects.update_or_create(plan=plan, defaults=thresholds)
    agency = AgencyFactory()
    _group, _strategy, _measure, (node,) = make_tree(plan, lead_agency=agency)
    lead, secretariat = lead_user(agency), secretariat_user(f"secretariat-{node.pk}")
    for days in moves:
        revision = services.revision_request(
            actor=lead, node=node, reason="展延", changes={"end_date": ORIGINAL_END + datetime.timedelta(days=days)}
        )
        services.revision_approve(actor=secretariat, revision=revision, expected_version=revision.version)
    node.refresh_from_db()
    return node


def evaluate(*subs):
    return rebaselined.evaluate(batch_of(list(subs), as_of=AS_OF))


@pytest.mark.parametrize(
    ("days", "severity"),
    [(89, None), (90, None), (91, Severity.YELLOW), (180, Severity.YELLOW), (181, Severity.RED), (-181, Severity.RED)],
)
def test_the_days_the_end_date_moved_from_the_original(days, severity):
    node = revised(days)

    findings = evaluate(node)

    if severity is None:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == severity
    assert finding.rule == LagRule.REBASELINED
    assert finding.evidence["original_end_date"] == "2025-12-31"
    assert finding.evidence["current_end_date"] == node.end_date.isoformat()
    assert finding.evidence["days_moved"] == abs(days)
    assert finding.evidence["revisions"] == 1


def test_a_third_approved_revision_is_red_however_little_it_moved():
    two = revised(10, 20)
    three = revised(10, 20, 30)

    findings = evaluate(two, three)

    assert only(findings).node_id == three.pk
    assert only(findings).severity == Severity.RED
    assert only(findings).evidence["red_because"] == ["revisions"]
    assert only(findings).evidence["revisions"] == 3


def test_the_thresholds_are_the_plans():
    strict = revised(40, rebaselined_yellow_days=30, rebaselined_red_days=60, rebaselined_red_revisions=5)
    lenient = revised(100, 100, rebaselined_yellow_days=120, rebaselined_red_revisions=5)

    findings = evaluate(strict, lenient)

    assert only(findings).node_id == strict.pk
    assert only(findings).evidence["yellow_over_days"] == 30


def test_the_original_is_measured_against_not_the_previous_version():
    # two revisions of 60 days each: 120 days from the original, though each moved it only 60
    node = revised(60, 120)

    assert only(evaluate(node)).evidence["days_moved"] == 120


def test_never_revised_sub_projects_are_not_flagged_and_the_batch_costs_two_queries(django_assert_num_queries):
    quiet = make_tree(PlanFactory(), lead_agency=AgencyFactory())[3][0]
    LagSettings.objects.get_or_create(plan=quiet.plan)
    moved = [revised(200) for _ in range(3)]
    batch = batch_of([quiet, *moved], as_of=AS_OF)

    with django_assert_num_queries(2):
        findings = rebaselined.evaluate(batch)

    assert sorted(f.node_id for f in findings) == sorted(node.pk for node in moved)


def test_the_scan_raises_the_flag():
    node = revised(200)

    lag_scan(as_of=AS_OF, node_ids=[node.pk])

    flag = LagFlag.objects.get(node=node, rule=LagRule.REBASELINED)
    assert flag.severity == Severity.RED
    assert flag.evidence["days_moved"] == 200
