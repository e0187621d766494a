"""The demo data: a fresh install shows red and yellow flags with their evidence and a review queue at once
(and every demo lead has a quarter to file, whatever the day it is loaded: test_demo_days.py)."""

import datetime
import functools
import hashlib
import io
import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Count, Prefetch
from django.test import Client, override_settings
from django.utils import timezone

from accounts.access import Capability, endorses_for_ministry, oversees, reviewing_agency, users_with
from accounts.models import User
from gstp.exceptions import InvalidTransition
from projects.access import leads_node, reviews_node
from projects.models import BudgetYear, Milestone, NodeKind, Plan, PlanNode
from reviews import services
from reviews.demo import demo_calendar
from reviews.models import (
    IS_FILED,
    Baseline,
    EvidenceFile,
    LagFlag,
    LagRule,
    LagSettings,
    PlanRevision,
    QuarterLock,
    QuarterlyReport,
    ReportEvent,
    ReportStatus,
    RevisionStatus,
    period_condition,
)
from reviews.models.reports import CONTENT_FIELDS
from reviews.periods import Month, Quarter, parse_period, today
from reviews.selectors import latest_accepted_reports
from tests.support.module_data import data_for_the_module

DEMO_LEADS = ["moda-lead", "moea-lead", "moe-lead", "nstc-lead", "moi-lead"]
EVERY_RULE_BUT_SLIPPAGE = {
    "late_report",
    "milestone_overdue",
    "progress_gap",
    "budget_execution",
    "indicator_behind",
    "review_overdue",
    "rebaselined",
}


@pytest.fixture(scope="module")
def loaded_demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo, loaded once for this module (tests/support/module_data.py), its evidence files alone in their
    folder. Every test here sees it: a test that loads the demo itself (on a day of its own) goes elsewhere
    (test_demo_days.py)."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("demo-media")), data_for_the_module(django_db_blocker):
        call_command("seed_demo", stdout=io.StringIO())
        yield


@pytest.fixture
def demo(loaded_demo, db):
    """The demo as loaded: what a test writes is rolled back after it."""


def calendar():
    return demo_calendar(today(), due_days=Plan.objects.get().report_due_days)


def test_every_subproject_gets_dates_milestones_an_indicator_and_eight_quarters(demo):
    subprojects = PlanNode.objects.subprojects()

    assert subprojects.count() == 150
    # but for the one whose end date two approved plan revisions moved by 210 days
    moved = subprojects.filter(revisions__status=RevisionStatus.APPROVED, revisions__changes__has_key="end_date")
    assert set(subprojects.exclude(pk__in=moved).values_list("start_date", "end_date")) == {
        (calendar().start, calendar().end)
    }
    assert set(moved.values_list("end_date", flat=True)) == {calendar().end + datetime.timedelta(days=210)}
    assert Milestone.objects.count() == 150 * 4
    quarterly = QuarterlyReport.objects.filter(month__isnull=True)  # besides the 院列管 ones' monthly updates
    per_project = set(quarterly.values("node").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_project == {8}
    reported = set(quarterly.values_list("year", "quarter"))
    assert reported == {(period.year, period.quarter) for period in calendar().reported()}
    assert not subprojects.filter(indicators__isnull=True).exists()


@pytest.mark.parametrize(
    ("day", "first", "latest", "last"),
    [
        # the latest quarter reported is the latest whose report fell due (10 days after it) before the day
        (datetime.date(2026, 12, 6), Quarter(2024, 4), Quarter(2026, 3), Quarter(2027, 3)),
        (datetime.date(2027, 1, 10), Quarter(2024, 4), Quarter(2026, 3), Quarter(2027, 3)),
        (datetime.date(2027, 1, 11), Quarter(2025, 1), Quarter(2026, 4), Quarter(2027, 4)),
        (datetime.date(2030, 7, 1), Quarter(2028, 2), Quarter(2030, 1), Quarter(2031, 1)),
    ],
)
def test_the_calendar_counts_eight_quarters_back_and_runs_on_past_the_next(day, first, latest, last):
    calendar = demo_calendar(day, due_days=10)

    assert (calendar.first, calendar.latest, calendar.last) == (first, latest, last)
    assert len(list(calendar.reported())) == 8
    assert (calendar.start, calendar.end) == (first.start, last.end)
    assert Quarter.containing(day).next() <= calendar.last


def test_latest_quarter_has_drafts_review_queues_and_returned_reports(demo):
    latest_quarter = calendar().latest
    quarterly = QuarterlyReport.objects.filter(month__isnull=True)  # the monthly updates have their own test
    in_latest = quarterly.filter(year=latest_quarter.year, quarter=latest_quarter.quarter)
    latest = dict(in_latest.values_list("status").annotate(n=Count("id")))

    assert latest[ReportStatus.DRAFT] > 0
    assert latest[ReportStatus.SUBMITTED] > 0  # the ministries' queues
    assert latest[ReportStatus.ENDORSED] > 0  # the secretariat's
    assert latest[ReportStatus.RETURNED] > 0
    assert latest[ReportStatus.ACCEPTED] > latest[ReportStatus.SUBMITTED]
    # before it, every report was accepted, but for those the secretariat reopened since
    before = quarterly.exclude(pk__in=in_latest)
    assert set(before.exclude(status=ReportStatus.ACCEPTED).values_list("status", flat=True)) == {"returned"}
    assert not before.exclude(status=ReportStatus.ACCEPTED).filter(reopened_at__isnull=True).exists()


def test_reports_carry_their_history_and_some_were_late(demo):
    accepted = QuarterlyReport.objects.filter(status=ReportStatus.ACCEPTED, files__isnull=True).first()

    assert list(accepted.events.order_by("at").values_list("action", flat=True)) == [
        "create",
        "submit",
        "endorse",
        "accept",
    ]
    assert ReportEvent.objects.filter(report=accepted).first().at.date() < accepted.due_on
    assert QuarterlyReport.objects.filter(submitted_on_time=False).exists()
    assert QuarterlyReport.objects.filter(submitted_on_time=True).exists()


def test_flags_show_at_once_in_red_and_yellow_with_evidence(demo):
    severities = set(LagFlag.objects.values_list("severity", flat=True))
    rules = set(LagFlag.objects.values_list("rule", flat=True))

    assert severities == {"red", "yellow"}
    assert rules == EVERY_RULE_BUT_SLIPPAGE
    gap = LagFlag.objects.filter(rule="progress_gap", severity="yellow").first()
    assert gap.evidence["rule"] == "progress_gap"
    assert float(gap.evidence["gap"]) <= float(gap.evidence["yellow_at_or_below"])


# Sub-projects of the demo the budget rule flagged by spent over allocated alone and no longer flags by the
# government's execution rate (payables, retentions and savings counted as executed), the year cut by a revision
# measured against its revised allocation; each judged by its control level's line (院列管 yellow below 95 %, which
# still flags four that their payables lift over the plan's 90 %).
MISFLAGGED_BY_SPENT_ALONE = 35


def test_the_budget_rules_flags_before_and_after_payables_and_savings_count(demo):
    # given each demo sub-project's latest accepted report, as the budget rule reads it
    subprojects = PlanNode.objects.filter(kind=NodeKind.SUBPROJECT)
    settings = LagSettings.objects.filter(plan=Plan.objects.get()).first() or LagSettings()
    levels = dict(subprojects.values_list("pk", "control_level"))
    reports = latest_accepted_reports(subprojects.values_list("pk", flat=True), quarterly_only=True)

    def below(report, rate):  # the yellow line of the sub-project's control level
        return rate < settings.for_level(levels[report.node_id]).budget_yellow_below

    # when judged by spent over allocated (the old rate) and by the execution rate
    old = {r.node_id for r in reports if below(r, r.budget_spent * 100 / r.budget_allocated)}
    new = {r.node_id for r in reports if below(r, r.execution_rate(places=None))}

    # then the scan flags what the execution rate says, the old rate flagged every one of them and more:
    # sub-projects on track once their payables and savings count
    flagged = set(LagFlag.objects.filter(rule=LagRule.BUDGET_EXECUTION).values_list("node", flat=True))
    assert flagged == new
    assert new < old
    print(f"budget_execution: {len(old)} flagged by spent alone, {len(new)} by the execution rate")
    assert len(old - new) == MISFLAGGED_BY_SPENT_ALONE
    # each of them has payables or savings that lift it to or above the yellow threshold
    for report in (r for r in reports if r.node_id in old - new):
        assert (report.budget_payables or 0) + (report.budget_savings or 0) > 0


def test_nothing_in_the_demo_happens_after_it_was_loaded(demo):
    now = timezone.now()

    assert not ReportEvent.objects.filter(at__gt=now).exists()
    assert not QuarterlyReport.objects.filter(submitted_at__gt=now).exists()
    assert not QuarterlyReport.objects.filter(accepted_at__gt=now).exists()
    assert not QuarterlyReport.objects.filter(returned_at__gt=now).exists()
    assert not Milestone.objects.filter(completed_on__gt=today()).exists()
    # the plan's years reach the sub-projects' last, so that their reports and annual reports fall within them
    plan = Plan.objects.get()
    assert (plan.start_year, plan.end_year) == (2021, max(2025, calendar().last.year))


def test_demo_data_is_deterministic_and_loaded_once(demo):
    figures = list(
        QuarterlyReport.objects.order_by("node__path", "year", "quarter").values_list(
            "node__title", "year", "quarter", "status", "actual_progress", "budget_spent"
        )
    )
    flags = sorted(LagFlag.objects.values_list("node__title", "rule", "severity"))

    call_command("seed_demo", stdout=io.StringIO())

    assert QuarterlyReport.objects.count() == len(figures)
    assert (
        list(
            QuarterlyReport.objects.order_by("node__path", "year", "quarter").values_list(
                "node__title", "year", "quarter", "status", "actual_progress", "budget_spent"
            )
        )
        == figures
    )
    assert sorted(LagFlag.objects.values_list("node__title", "rule", "severity")) == flags


# --- the review chain ---------------------------------------------------------------------------------

DEMO_REVIEWERS = {
    "moda-reviewer": "數位發展部",
    "moea-reviewer": "經濟部",
    "moe-reviewer": "教育部",
    "nstc-reviewer": "國家科學及技術委員會",
}
LEAD_STEPS = {"create", "add_file", "submit", "withdraw", "update"}
MAGIC = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n"}


def test_a_reviewer_of_each_demo_ministry_signs_in(demo):
    for username, ministry in DEMO_REVIEWERS.items():
        user = User.objects.get(username=username)
        client = Client()

        response = client.post("/accounts/login/", {"username": username, "password": f"{username}-demo"})

        assert response.status_code == 302, username
        assert client.session["_auth_user_id"] == str(user.pk)
        assert endorses_for_ministry(user)
        assert (reviewing_agency(user).name, reviewing_agency(user).parent_id) == (ministry, None)
        assert user.email == f"{username}@gstp.example"


def test_the_demo_plan_asks_for_the_ministries_endorsement(demo):
    plan = Plan.objects.get()

    assert LagSettings.endorsement_required_for(plan.pk)
    assert plan.lag_settings.endorsement_days == 7
    assert plan.lag_settings.changes.exclude(changes__has_key="levels").get().changes == {
        "endorsement_required": [False, True]
    }


def test_the_demo_plan_has_sub_projects_at_every_control_level_and_watches_the_executive_yuans_closer(demo):
    plan = Plan.objects.get()
    subprojects = PlanNode.objects.filter(kind=NodeKind.SUBPROJECT)
    counts = dict(subprojects.values_list("control_level").annotate(n=Count("id")).values_list("control_level", "n"))

    # about 10 %, 25 % and 65 % of each group, the largest budgets the most closely watched
    assert counts == {"executive_yuan": 16, "ministry": 38, "agency": 96}
    for group in PlanNode.objects.filter(kind=NodeKind.GROUP):
        budgets = {
            level: list(
                subprojects.filter(path__startswith=group.path, control_level=level).values_list("budget", flat=True)
            )
            for level in ("executive_yuan", "ministry", "agency")
        }
        assert budgets["executive_yuan"], group
        assert min(budgets["executive_yuan"]) >= max(budgets["ministry"] + budgets["agency"])
    # 院列管 reports monthly and is held to tighter thresholds, set before the sub-projects began
    watched = plan.lag_settings.for_level("executive_yuan")
    assert (watched.rhythm, watched.progress_gap_yellow, watched.progress_gap_red) == ("monthly", -3, -7)
    assert (watched.budget_yellow_below, watched.late_red_days_after_quarter_end) == (95, 20)
    assert plan.lag_settings.for_level("ministry").rhythm == "quarterly"
    change = plan.lag_settings.changes.get(changes__has_key="levels")
    assert change.at.date() < calendar().start
    # and the scan judged them by those: a flag of a 院列管 sub-project says its level's threshold
    flag = LagFlag.objects.filter(node__control_level="executive_yuan", rule="progress_gap").first()
    assert flag.evidence["yellow_at_or_below"] == "-3"
    late = LagFlag.objects.filter(node__control_level="executive_yuan", rule="late_report").first()
    assert (
        late.evidence["red_after"] == (parse_period(late.evidence["period"]).end + datetime.timedelta(20)).isoformat()
    )
    # some flagged by their level alone: an execution rate the plan's 90 % passes, 院列管's 95 % does not
    yellow = LagFlag.objects.filter(node__control_level="executive_yuan", rule="budget_execution", severity="yellow")
    by_level_alone = [flag.evidence for flag in yellow if Decimal(flag.evidence["execution_rate"]) >= 90]
    assert by_level_alone
    assert {evidence["yellow_below"] for evidence in by_level_alone} == {"95"}
    assert all(Decimal(evidence["execution_rate"]) < 95 for evidence in by_level_alone)


def test_the_executive_yuans_sub_projects_report_monthly_and_a_missing_update_is_flagged_by_their_level(demo):
    on = today()
    monthly = PlanNode.objects.filter(kind=NodeKind.SUBPROJECT, control_level="executive_yuan")
    updates = QuarterlyReport.objects.filter(month__isnull=False)
    # only the 院列管 sub-projects give monthly updates, each for the first two months of its quarters so far
    assert set(updates.values_list("node", flat=True)) == set(monthly.values_list("pk", flat=True))
    assert set(updates.values_list("month", flat=True)) == {1, 2, 4, 5, 7, 8, 10, 11}
    assert updates.filter(status=ReportStatus.ACCEPTED).count() > 0.9 * updates.count()
    assert all(update.due_on == update.period_obj.due_date(10) for update in updates)
    # the latest update due is missing for some: each is a late report in its quarter, red the level's 20 days
    # (not the plan's 30) after its month ended
    latest_due = max(
        month
        for month in (Month.containing(on - datetime.timedelta(days=days)) for days in range(0, 100))
        if not month.closes_quarter and month.due_date(10) < on
    )
    missing = monthly.exclude(pk__in=updates.filter(year=latest_due.year, month=latest_due.month).values("node"))
    assert missing.exists()
    quarter = latest_due.quarter
    # (in the days after a quarter's report fell due, the quarter's report covers its months: nothing is late)
    covered = QuarterlyReport.objects.filter(IS_FILED, period_condition(quarter))
    for node in missing:
        flags = LagFlag.objects.filter(node=node, rule="late_report", year=quarter.year, quarter=quarter.quarter)
        if covered.filter(node=node).exists():
            assert not flags.filter(evidence__kind="monthly").exists()
            continue
        flag = flags.get()
        assert (flag.evidence["kind"], flag.evidence["period"]) == ("monthly", str(latest_due))
        assert flag.evidence["red_after"] == (latest_due.end + datetime.timedelta(20)).isoformat()
        assert flag.severity == ("red" if on > latest_due.end + datetime.timedelta(20) else "yellow")
    # the other levels give none
    assert not updates.exclude(node__control_level="executive_yuan").exists()


def test_reports_in_every_status_withdrawn_reopened_and_endorsed_among_them(demo):
    assert set(QuarterlyReport.objects.values_list("status", flat=True)) == set(ReportStatus.values)

    # withdrawn: submitted, then taken back to a draft by its lead
    withdrawn = QuarterlyReport.objects.filter(events__action="withdraw").distinct()
    assert withdrawn.exists()
    assert set(withdrawn.values_list("status", flat=True)) == {"draft"}
    assert all(report.first_submitted_at and report.submitted_by for report in withdrawn)

    # endorsed by the reviewer of its ministry, waiting for the secretariat
    for report in QuarterlyReport.objects.filter(status=ReportStatus.ENDORSED):
        endorsement = report.events.get(action="endorse")
        assert (report.endorsed_by, report.endorsed_at) == (endorsement.actor, endorsement.at)
        assert reviews_node(report.endorsed_by, report.node)

    # reopened: accepted, then sent back by the secretariat with a reason, the accepted content kept
    reopened = QuarterlyReport.objects.filter(reopened_at__isnull=False)
    assert reopened.count() == 2
    for report in reopened:
        actions = list(report.events.order_by("version").values_list("action", flat=True))
        assert actions[3:5] == ["accept", "reopen"]
        assert report.status == ReportStatus.RETURNED and report.is_reopened
        assert report.reopen_reason == report.return_reason == report.events.get(action="reopen").reason != ""
        assert report.reopened_at == report.returned_at == report.events.get(action="reopen").at
        assert set(report.accepted_content) == set(CONTENT_FIELDS)
        assert all(value is None or isinstance(value, str) for value in report.accepted_content.values())
        update = report.events.filter(action="update").first()
        accepted_spent = update.changes["budget_spent"][0] if update else str(report.budget_spent)
        assert report.accepted_content["budget_spent"] == accepted_spent
    # one of them is being corrected: its figures differ from those accepted, which stay in force
    corrected = reopened.get(events__action="update")
    assert corrected.accepted_content["budget_spent"] != str(corrected.budget_spent)


def test_every_history_is_consistent_and_four_eyes_hold(demo):
    assert LagSettings.endorsement_required_for(Plan.objects.get().pk)

    assert_histories_consistent()


def assert_histories_consistent():
    """Every report's history: its versions, its statuses one from another, in time, each step taken by
    someone who could take it, never endorsed or accepted by who filed or submitted it, and accepted only
    once endorsed (the demo plan asks for endorsement); its fields as its last steps left them."""
    reports = QuarterlyReport.objects.select_related("node").prefetch_related(
        Prefetch("events", queryset=ReportEvent.objects.order_by("version").select_related("actor"))
    )
    leads, reviews = functools.cache(leads_node), functools.cache(reviews_node)

    for report in reports:
        events = list(report.events.all())
        # versions 1..n, the report's the last; each step from where the one before left it, one after the other
        assert [event.version for event in events] == list(range(1, report.version + 1)), report
        assert (events[0].action, events[0].from_status, events[0].to_status) == ("create", "", "draft")
        assert all(event.from_status == before.to_status for before, event in itertools.pairwise(events)), report
        assert all(before.at < event.at for before, event in itertools.pairwise(events)), report
        assert events[-1].to_status == report.status, report
        submits = [event for event in events if event.action == "submit"]
        handled = {report.created_by_id, *(event.actor_id for event in submits)}
        if submits:
            assert (report.submitted_by, report.submitted_at) == (submits[-1].actor, submits[-1].at), report
            assert report.first_submitted_at == submits[0].at, report
        for event in events:
            # by someone who could have taken the step
            if event.action in LEAD_STEPS:
                assert leads(event.actor, report.node), (report, event)
            elif event.action == "endorse" or (event.action == "return" and event.from_status == "submitted"):
                assert reviews(event.actor, report.node), (report, event)
            else:
                assert event.action in ("accept", "return", "reopen"), (report, event)
                assert oversees(event.actor), (report, event)
            # four eyes: the filer or a submitter never endorses or accepts
            if event.action in ("endorse", "accept"):
                assert event.actor_id not in handled, (report, event)
            # accepted only once its ministry endorsed it
            if event.action == "accept":
                assert event.from_status == "endorsed", (report, event)
        if report.accepted_by_id:
            assert report.accepted_by_id not in handled and report.endorsed_by_id not in handled, report


def test_reports_wait_for_endorsement_some_too_long_some_a_few_days(demo):
    assert_some_wait_too_long_some_a_few_days()
    # each in the queue of a named demo reviewer or of its ministry's stand-in
    for report in QuarterlyReport.objects.filter(status=ReportStatus.SUBMITTED):
        assert any(reviews_node(reviewer, report.node) for reviewer in users_with(Capability.ENDORSE))


def assert_some_wait_too_long_some_a_few_days():
    """Reports waiting for endorsement over twice the plan's days (the review_overdue rule's flags), and some
    for less than those days, counted in days as the rules count them."""
    days = Plan.objects.get().lag_settings.endorsement_days
    waited = [
        (today() - timezone.localdate(submitted)).days
        for submitted in QuarterlyReport.objects.filter(status=ReportStatus.SUBMITTED).values_list(
            "submitted_at", flat=True
        )
    ]
    assert any(days_waited > 2 * days for days_waited in waited), waited
    assert any(0 < days_waited < days for days_waited in waited), waited


def test_evidence_files_are_real_pdf_and_png_files_in_the_reports_histories(demo):
    files = list(EvidenceFile.objects.select_related("report"))

    assert {file.content_type for file in files} == set(MAGIC)
    for file in files:
        data = default_storage.open(file.content.name).read()
        assert hashlib.sha256(data).hexdigest() == file.sha256, file
        assert len(data) == file.size
        assert data.startswith(MAGIC[file.content_type]), file
        assert re.fullmatch(r"[\u4e00-\u9fff0-9]+\.(pdf|png)", file.name), file
        assert file.name.endswith(".pdf" if file.content_type == "application/pdf" else ".png")
        report = file.report
        assert file.uploaded_by == report.created_by
        added = report.events.get(action="add_file", changes__file__1__sha256=file.sha256)
        assert added.at == file.uploaded_at
        assert added.changes["file"][1]["name"] == file.name
        # frozen once the report was endorsed or accepted after it came
        reviewed = report.events.filter(action__in=["endorse", "accept"], at__gt=file.uploaded_at).order_by("at")
        assert file.frozen_at == (reviewed.first().at if reviewed.exists() else None), file
    assert any(file.frozen_at for file in files) and any(file.frozen_at is None for file in files)


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_loading_again_stores_no_file_and_leaves_none_behind(demo):
    recorded = set(EvidenceFile.objects.values_list("content", flat=True))
    assert stored_files() == recorded != set()

    call_command("seed_demo", stdout=io.StringIO())

    assert stored_files() == recorded == set(EvidenceFile.objects.values_list("content", flat=True))


def test_the_first_quarter_is_locked_but_for_its_reopened_report(demo):
    first = calendar().first
    lock = QuarterLock.objects.get()
    exception = lock.exceptions.get()
    reopened = QuarterlyReport.objects.get(year=first.year, quarter=first.quarter, reopened_at__isnull=False)

    assert (lock.year, lock.quarter, lock.plan) == (first.year, first.quarter, Plan.objects.get())
    assert exception.node == reopened.node
    assert lock.locked_at < exception.granted_at < timezone.now()
    assert exception.expires_on > today()
    services.ensure_quarter_open(node=reopened.node, period=first)
    other = QuarterlyReport.objects.filter(year=first.year, quarter=first.quarter).exclude(node=reopened.node).first()
    with pytest.raises(InvalidTransition):
        services.ensure_quarter_open(node=other.node, period=first)


def test_plan_revisions_moved_one_sub_project_twice_cut_a_budget_and_wait_or_were_rejected(demo):
    statuses = sorted(PlanRevision.objects.values_list("status", flat=True))
    assert statuses == ["approved", "approved", "approved", "rejected", "requested"]
    moved = PlanNode.objects.get(revisions__baseline_version=3)
    versions = list(Baseline.objects.filter(node=moved).order_by("version").values_list("version", "content__end_date"))
    original = datetime.date.fromisoformat(versions[0][1])
    assert [version for version, _end in versions] == [1, 2, 3]
    assert (moved.end_date - original).days == 210
    flag = LagFlag.objects.get(node=moved, rule="rebaselined")
    assert (flag.severity, flag.evidence["days_moved"], flag.evidence["revisions"]) == ("red", 210, 2)
    cut = PlanRevision.objects.get(status=RevisionStatus.APPROVED, changes__has_key="budgets")
    year = cut.changes["budgets"][0]["year"]
    assert BudgetYear.objects.get(node=cut.node, year=year).appropriation == Decimal(
        cut.changes["budgets"][0]["appropriation"]
    )
    pending = PlanRevision.objects.get(status=RevisionStatus.REQUESTED)
    assert pending.node.end_date != datetime.date.fromisoformat(pending.changes["end_date"])  # not applied
    for revision in PlanRevision.objects.all():
        events = list(revision.events.order_by("version").values_list("action", "actor_id"))
        assert events[0] == ("request", revision.requested_by_id)
        assert revision.requested_by_id not in [actor for action, actor in events[1:]]  # four eyes
        assert revision.requested_at <= timezone.now()
