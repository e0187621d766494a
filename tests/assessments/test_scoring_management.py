"""The suggested score for 作業管理 (``assessments.scoring.management``) on cases worked out by hand: half for the
year's quarterly reports on time, half for its lag flags. The year, the day it is worked out and the sub-projects
are those of ``test_scoring``."""

import datetime

import pytest

from assessments.scoring import Suggestion, suggestions
from reviews.models import LagRule, Severity
from reviews.periods import Quarter
from tests.reviews.factories import QuarterlyReportFactory

from .test_scoring import ON, Q1, Q2, Q3, Q4, YEAR, flag, late, on_time, subproject, suggested, taipei, two_places

pytestmark = pytest.mark.django_db


def test_management_a_late_report_and_a_red_flag_with_its_improvement_plan():
    # the example of assessments.scoring's docstring
    sub = subproject()
    on_time(sub, Q1, Q2, Q4)
    late(sub, Q3, submitted_at=taipei(2025, 10, 15))
    red = flag(sub, Q2, Severity.RED, opened_at=taipei(2025, 5, 20), resolved_at=taipei(2025, 8, 3), plan=True)
    yellow = flag(
        sub,
        Q3,
        Severity.YELLOW,
        rule=LagRule.BUDGET_EXECUTION,
        opened_at=taipei(2025, 10, 1),
        resolved_at=taipei(2025, 10, 21),
    )

    suggestion = suggested(sub, "management")

    # reports: 3 of 4 on time, 50 x 3 / 4 = 37.5
    # flags: red 05-20 to 08-03 = 75 days (2 whole months), yellow 10-01 to 10-21 = 20 days (0);
    #        50 - 5 (red) - 2 (yellow) - 0 (the red one has its plan) - 2 (months open) = 41
    # 37.5 + 41 = 78.5
    assert two_places(suggestion.score) == "78.50"
    assert suggestion.evidence == {
        "basis": "reports_and_flags",
        "reports_due": 4,
        "reports_on_time": 3,
        "reports_points": "37.5",
        "reports": [
            {"period": "2025Q1", "due_on": "2025-04-10", "first_submitted_on": "2025-04-10", "on_time": True},
            {"period": "2025Q2", "due_on": "2025-07-10", "first_submitted_on": "2025-07-10", "on_time": True},
            {"period": "2025Q3", "due_on": "2025-10-10", "first_submitted_on": "2025-10-15", "on_time": False},
            {"period": "2025Q4", "due_on": "2026-01-10", "first_submitted_on": "2026-01-10", "on_time": True},
        ],
        "red_flags": 1,
        "yellow_flags": 1,
        "red_flags_without_improvement_plan": 0,
        "months_open": 2,
        "flags_points": "41",
        "flags": [
            {
                "flag": red.pk,
                "rule": "progress_gap",
                "period": "2025Q2",
                "severity": "red",
                "status": "resolved",
                "days_open": 75,
                "improvement_plan": True,
            },
            {
                "flag": yellow.pk,
                "rule": "budget_execution",
                "period": "2025Q3",
                "severity": "yellow",
                "status": "resolved",
                "days_open": 20,
                "improvement_plan": False,
            },
        ],
        "worked_out_on": "2026-03-01",
    }


def test_management_a_red_flag_without_an_improvement_plan_still_open():
    sub = subproject()
    on_time(sub, Q1, Q2, Q3, Q4)
    red = flag(sub, Q4, Severity.RED, opened_at=taipei(2026, 1, 15))
    # not counted: the ministry late with its review, and a flag of another year
    flag(sub, Q4, Severity.RED, rule=LagRule.REVIEW_OVERDUE, opened_at=taipei(2026, 1, 20))
    flag(sub, Quarter(2024, 4), Severity.RED, opened_at=taipei(2025, 1, 15))

    suggestion = suggested(sub, "management")

    # reports: 4 of 4, 50
    # flags: open 01-15 to the day worked out, 03-01 = 45 days (1 whole month);
    #        50 - 5 (red) - 10 (no improvement plan) - 1 (months open) = 34
    # 50 + 34 = 84
    assert two_places(suggestion.score) == "84.00"
    assert [row["flag"] for row in suggestion.evidence["flags"]] == [red.pk]
    assert suggestion.evidence["flags"][0]["days_open"] == 45
    assert (suggestion.evidence["red_flags_without_improvement_plan"], suggestion.evidence["flags_points"]) == (1, "34")


def test_management_late_and_missing_reports_in_a_year_with_no_flags():
    sub = subproject()
    on_time(sub, Q1, Q2)
    late(sub, Q3, submitted_at=taipei(2025, 10, 11))  # a day after it was due
    # Q4: none filed by its due date, 2026-01-10 (a draft is no filing)
    QuarterlyReportFactory(node=sub, period=Q4)

    suggestion = suggested(sub, "management")

    # reports: 2 of 4 on time, 50 x 2 / 4 = 25; flags: none, 50; 25 + 50 = 75
    assert two_places(suggestion.score) == "75.00"
    assert suggestion.evidence["reports"][2:] == [
        {"period": "2025Q3", "due_on": "2025-10-10", "first_submitted_on": "2025-10-11", "on_time": False},
        {"period": "2025Q4", "due_on": "2026-01-10", "first_submitted_on": None, "on_time": False},
    ]
    assert (suggestion.evidence["flags"], suggestion.evidence["flags_points"]) == ([], "50")


def test_management_counts_only_the_reports_due_by_the_day_worked_out():
    # given the year still running: Q4's report is due on 2026-01-10, after 2025-11-15
    sub = subproject()
    on_time(sub, Q1, Q2, Q3)

    suggestion = suggested(sub, "management", on=datetime.date(2025, 11, 15))

    # reports: 3 of the 3 due, 50; flags: none, 50; 100
    assert two_places(suggestion.score) == "100.00"
    assert (suggestion.evidence["reports_due"], suggestion.evidence["reports_on_time"]) == (3, 3)


def test_management_counts_the_quarters_the_sub_project_runs_in_the_year():
    # given a sub-project starting in July 2025, its Q3 report late and Q4's on time
    sub = subproject(start_date=datetime.date(2025, 7, 1))
    late(sub, Q3, submitted_at=taipei(2025, 10, 20))
    on_time(sub, Q4)

    suggestion = suggested(sub, "management")

    # reports: 1 of 2, 50 x 1 / 2 = 25; flags: none, 50; 75
    assert two_places(suggestion.score) == "75.00"
    assert [row["period"] for row in suggestion.evidence["reports"]] == ["2025Q3", "2025Q4"]


def test_management_flags_take_no_more_than_their_half():
    sub = subproject()
    on_time(sub, Q1, Q2, Q3, Q4)
    for quarter in (Q1, Q2, Q3):
        for rule in (LagRule.PROGRESS_GAP, LagRule.BUDGET_EXECUTION):
            flag(
                sub, quarter, Severity.RED, rule=rule, opened_at=taipei(2025, 12, 20), resolved_at=taipei(2025, 12, 21)
            )

    suggestion = suggested(sub, "management")

    # flags: 50 - 6 x 5 (red) - 6 x 10 (no improvement plan) - 0 = -40: no lower than 0; 50 + 0 = 50
    assert two_places(suggestion.score) == "50.00"
    assert suggestion.evidence["flags_points"] == "0"


def test_a_sub_project_not_running_in_the_year_has_no_suggestion():
    sub = subproject(end_date=datetime.date(2024, 12, 31))

    found = suggestions([sub], YEAR, on=ON)[sub.pk]

    assert found["management"] == Suggestion(None, {"basis": "not_running_in_year"})
    assert {source: suggestion.score for source, suggestion in found.items()} == {
        "progress": None,
        "budget": None,
        "targets": None,
        "management": None,
    }


def test_a_report_returned_after_it_came_in_on_time_stays_on_time():
    # given Q1 first submitted on time, then returned and still with the lead
    sub = subproject()
    QuarterlyReportFactory(node=sub, period=Q1, returned=True)
    on_time(sub, Q2, Q3, Q4)

    suggestion = suggested(sub, "management")

    # 4 of 4 on time: a return does not undo a first submission on time (the flags count what follows)
    assert suggestion.evidence["reports_on_time"] == 4
