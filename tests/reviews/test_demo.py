"""The demo data: a fresh install shows red and yellow flags with their evidence and a review queue at once."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from projects.models import Milestone, PlanNode
from reviews.models import LagFlag, QuarterlyReport, ReportEvent, ReportStatus


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=io.StringIO())


def test_every_subproject_gets_dates_milestones_an_indicator_and_eight_quarters(demo):
    subprojects = PlanNode.objects.subprojects()

    assert subprojects.count() == 149
    assert not subprojects.filter(start_date__isnull=True).exists()
    assert Milestone.objects.count() == 149 * 4
    per_project = set(QuarterlyReport.objects.values("node").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_project == {8}
    assert not subprojects.filter(indicators__isnull=True).exists()


def test_latest_quarter_has_drafts_a_review_queue_and_returned_reports(demo):
    latest = dict(QuarterlyReport.objects.filter(year=2025, quarter=4).values_list("status").annotate(n=Count("id")))

    assert latest[ReportStatus.DRAFT] > 0
    assert latest[ReportStatus.SUBMITTED] > 0
    assert latest[ReportStatus.RETURNED] > 0
    assert latest[ReportStatus.ACCEPTED] > latest[ReportStatus.SUBMITTED]
    assert not QuarterlyReport.objects.exclude(year=2025, quarter=4).exclude(status=ReportStatus.ACCEPTED).exists()


def test_reports_carry_their_history_and_some_were_late(demo):
    accepted = QuarterlyReport.objects.filter(status=ReportStatus.ACCEPTED).first()

    assert list(accepted.events.order_by("at").values_list("action", flat=True)) == ["create", "submit", "accept"]
    assert ReportEvent.objects.filter(report=accepted).first().at.date() < accepted.due_on
    assert QuarterlyReport.objects.filter(submitted_on_time=False).exists()
    assert QuarterlyReport.objects.filter(submitted_on_time=True).exists()


def test_flags_show_at_once_in_red_and_yellow_with_evidence(demo):
    severities = set(LagFlag.objects.values_list("severity", flat=True))
    rules = set(LagFlag.objects.values_list("rule", flat=True))

    assert severities == {"red", "yellow"}
    assert rules == {"late_report", "milestone_overdue", "progress_gap", "budget_execution", "indicator_behind"}
    gap = LagFlag.objects.filter(rule="progress_gap", severity="yellow").first()
    assert gap.evidence["rule"] == "progress_gap"
    assert float(gap.evidence["gap"]) <= float(gap.evidence["yellow_at_or_below"])


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
