"""The suggested scores (``assessments.scoring``) on cases worked out by hand: the arithmetic beside each case is
what a secretariat officer would write from the evidence, and the test holds the code to it.

The year assessed is 2025, worked out on 2026-03-01 (the assessment's season) unless a case says otherwise;
the sub-projects run 2021-01-01 to 2025-12-31 and their quarterly reports are due 10 days after the quarter
(2025Q1 on 04-10, Q2 07-10, Q3 10-10, Q4 2026-01-10).
"""

import datetime
import json
import zoneinfo
from decimal import Decimal

import pytest

from assessments.scoring import suggestions
from projects.models import ControlLevel, PlanNode
from reviews import services
from reviews.models import (
    CommentKind,
    FlagStatus,
    LagRule,
    LagSettings,
    LevelSettings,
    Rhythm,
    Severity,
)
from reviews.periods import Quarter, today
from tests.accounts.factories import secretariat_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import FlagCommentFactory, LagFlagFactory, QuarterlyReportFactory, lead_user_for

pytestmark = pytest.mark.django_db

D = Decimal
YEAR = 2025
ON = datetime.date(2026, 3, 1)
Q1, Q2, Q3, Q4 = (Quarter(YEAR, quarter) for quarter in (1, 2, 3, 4))
TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")


def taipei(year, month, day, hour=12) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=TAIPEI)


def subprojects(count=1, *, plan=None, **fields):
    """``count`` sub-projects of ``plan`` (a new 2021-2025 plan with the programme's lag settings), each running
    2021-2025 unless ``fields`` say otherwise."""
    plan = plan or PlanFactory()
    LagSettings.objects.get_or_create(plan=plan)
    subs = make_tree(plan, lead_agency=AgencyFactory(), subprojects=count)[3]
    for sub in subs:
        for name, value in fields.items():
            setattr(sub, name, value)
        sub.save()
    return subs


def subproject(**fields):
    return subprojects(**fields)[0]


def suggested(sub, source, *, year=YEAR, on=ON):
    """The suggestion for one source, from the sub-project as read fresh from the database."""
    return suggestions([PlanNode.objects.get(pk=sub.pk)], year, on=on)[sub.pk][source]


def accepted(sub, period, **fields):
    return QuarterlyReportFactory(node=sub, period=period, accepted=True, **fields)


def two_places(score) -> str:
    return None if score is None else str(score)


# --- progress (計畫執行進度) --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "planned, actual, gap, score",
    [
        ("80", "72.5", "-7.5", "70.00"),  # 7.5 points behind: 100 - 4 x 7.5 = 70
        ("45.25", "40", "-5.25", "79.00"),  # 100 - 4 x 5.25 = 79
        ("60", "65", "5", "100.00"),  # ahead of plan: full marks
        ("50", "50", "0", "100.00"),  # on plan
        ("90", "60", "-30", "0.00"),  # 100 - 4 x 30 = -20: no lower than 0
    ],
)
def test_progress_is_4_points_off_per_point_behind_plan(planned, actual, gap, score):
    sub = subproject()
    report = accepted(sub, Q4, planned_progress=D(planned), actual_progress=D(actual))

    suggestion = suggested(sub, "progress")

    assert two_places(suggestion.score) == score
    assert suggestion.evidence == {
        "basis": "accepted_report",
        "report": report.pk,
        "period": "2025Q4",
        "baseline_version": 1,
        "planned_progress": planned,
        "actual_progress": actual,
        "gap": gap,
        "points_per_point_behind": "4",
    }


def test_progress_reads_the_years_last_report_in_force_when_q4_is_not_accepted():
    # given the 2025 Q4 report still with the secretariat, Q3 accepted, and accepted reports of other years
    sub = subproject()
    accepted(sub, Quarter(2024, 4), planned_progress=D(100), actual_progress=D(100))
    q3 = accepted(sub, Q3, planned_progress=D(70), actual_progress=D(68))
    QuarterlyReportFactory(node=sub, period=Q4, submitted=True, planned_progress=D(90), actual_progress=D(20))
    accepted(sub, Quarter(2026, 1), planned_progress=D(10), actual_progress=D(10))

    suggestion = suggested(sub, "progress")

    # Q3's figures: 2 points behind, 100 - 4 x 2 = 92
    assert two_places(suggestion.score) == "92.00"
    assert (suggestion.evidence["report"], suggestion.evidence["period"]) == (q3.pk, "2025Q3")


def test_a_reopened_report_stands_by_the_figures_it_was_accepted_with():
    # given Q4 reopened for a correction that now says 50: its accepted figures (80 planned, 76 actual) stand
    sub = subproject()
    QuarterlyReportFactory(
        node=sub,
        period=Q4,
        returned=True,
        planned_progress=D(80),
        actual_progress=D(50),
        reopened_at=taipei(2026, 2, 1),
        accepted_content={"planned_progress": "80.00", "actual_progress": "76.00", "budget_spent": "200000"},
    )

    suggestion = suggested(sub, "progress")

    # 4 points behind: 100 - 4 x 4 = 84
    assert two_places(suggestion.score) == "84.00"
    assert suggestion.evidence["actual_progress"] == "76"


def test_without_an_accepted_report_of_the_year_progress_and_budget_have_no_score():
    # given a draft and a submitted report of 2025, and an accepted one of 2024
    sub = subproject()
    accepted(sub, Quarter(2024, 4))
    QuarterlyReportFactory(node=sub, period=Q3)
    QuarterlyReportFactory(node=sub, period=Q4, submitted=True)

    found = suggestions([sub], YEAR, on=ON)[sub.pk]

    assert found["progress"].score is None
    assert found["progress"].evidence == {"basis": "no_accepted_report"}
    assert found["budget"].score is None
    assert found["budget"].evidence == {"basis": "no_accepted_report"}


def test_the_evidence_names_the_baseline_version_in_force_at_the_years_end():
    # given a sub-project of this year whose end date was moved by an approved revision today (version 2)
    year = today().year
    plan = PlanFactory(start_year=year - 1, end_year=year + 1)
    sub = subproject(plan=plan, start_date=datetime.date(year - 1, 1, 1), end_date=datetime.date(year, 12, 31))
    accepted(sub, Quarter(year - 1, 4), planned_progress=D(30), actual_progress=D(30))
    accepted(sub, Quarter(year, 1), planned_progress=D(40), actual_progress=D(40))
    revision = services.revision_request(
        actor=lead_user_for(sub), node=sub, reason="展延", changes={"end_date": datetime.date(year + 1, 6, 30)}
    )
    services.revision_approve(actor=secretariat_user(), revision=revision, expected_version=revision.version)

    # then this year is read against version 2; last year ended before the revision, against the original
    assert suggested(sub, "progress", year=year, on=today()).evidence["baseline_version"] == 2
    assert suggested(sub, "progress", year=year - 1, on=today()).evidence["baseline_version"] == 1


# --- budget (經費執行) -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spent, payables, savings, rate, score",
    [
        # (7,000,000 + 500,000 + 0) / 9,000,000 x 100 = 83.333… -> 83.33; 100 - 2 x (90 - 83.33) = 86.66
        ("7000000", "500000", None, "83.33", "86.66"),
        # (8,000,000 + 0 + 100,000) / 9,000,000 x 100 = 90: at the line, full marks
        ("8000000", None, "100000", "90", "100.00"),
        # 9,500,000 / 9,000,000 x 100 = 105.555… -> 105.56: above the line, full marks
        ("9500000", None, None, "105.56", "100.00"),
        # 7,650,000 / 9,000,000 x 100 = 85; 100 - 2 x 5 = 90
        ("7000000", "600000", "50000", "85", "90.00"),
        # 2,700,000 / 9,000,000 x 100 = 30; 100 - 2 x 60 = -20: no lower than 0
        ("2700000", None, None, "30", "0.00"),
    ],
)
def test_budget_is_full_marks_from_the_yellow_line_and_2_points_off_per_point_below(
    spent, payables, savings, rate, score
):
    # given the Q4 report of a sub-project allocated 9,000,000 to date; the plan's yellow line is 90 %
    sub = subproject()
    report = accepted(
        sub,
        Q4,
        budget_allocated=D(9000000),
        budget_spent=D(spent),
        budget_payables=payables and D(payables),
        budget_savings=savings and D(savings),
    )

    suggestion = suggested(sub, "budget")

    assert two_places(suggestion.score) == score
    assert suggestion.evidence == {
        "basis": "accepted_report",
        "report": report.pk,
        "period": "2025Q4",
        "budget_spent": spent,
        "budget_payables": payables or "0",
        "budget_savings": savings or "0",
        "budget_allocated": "9000000",
        "execution_rate": rate,
        "full_marks_from": "90",
        "points_per_point_below": "2",
    }


def test_budget_reads_the_line_the_control_level_tightens():
    # given a ministry-controlled sub-project whose level raises the yellow line to 95 %
    sub = subproject(control_level=ControlLevel.MINISTRY)
    LevelSettings.objects.create(
        lag_settings=LagSettings.objects.get(plan=sub.plan),
        level=ControlLevel.MINISTRY,
        rhythm=Rhythm.QUARTERLY,
        budget_yellow_below=D(95),
    )
    accepted(sub, Q4, budget_allocated=D(9000000), budget_spent=D(7500000))

    suggestion = suggested(sub, "budget")

    # 7,500,000 / 9,000,000 x 100 = 83.33; 100 - 2 x (95 - 83.33) = 76.66
    assert two_places(suggestion.score) == "76.66"
    assert suggestion.evidence["full_marks_from"] == "95"


@pytest.mark.parametrize("allocated, shown", [(D(0), "0"), (None, None)])
def test_budget_without_an_allocation_has_no_score(allocated, shown):
    # given a ledger allocating nothing to date (0 cannot be divided by), or no ledger for the year at all
    sub = subproject()
    report = accepted(sub, Q4, budget_allocated=allocated, budget_spent=D(1000))

    suggestion = suggested(sub, "budget")

    assert suggestion.score is None
    assert suggestion.evidence == {
        "basis": "no_allocation",
        "report": report.pk,
        "period": "2025Q4",
        "budget_spent": "1000",
        "budget_payables": "0",
        "budget_savings": "0",
        "budget_allocated": shown,
    }


# --- targets (目標達成) ------------------------------------------------------------------------------------


def test_targets_are_the_share_of_the_years_indicators_met():
    sub = subproject()
    # per year: 300 + 400 + 350 = 1,050 in 2025's quarters against 1,000: met
    quarterly = IndicatorFactory(
        node=sub,
        name="服務人次",
        targets=[(2025, 0, "1000")],
        actuals=[(2025, 1, "300"), (2025, 2, "400"), (2025, 3, "350")],
    )
    # cumulative: 520 at the end of 2025 against 500: met (2026's actual is not 2025's)
    cumulative = IndicatorFactory(
        node=sub,
        name="累計開放資料集",
        is_cumulative=True,
        targets=[(2024, 0, "300"), (2025, 0, "500")],
        actuals=[(2024, 0, "310"), (2025, 0, "520"), (2026, 0, "900")],
    )
    # lower is better: 7 days against at most 5: not met
    lower = IndicatorFactory(
        node=sub, name="平均處理天數", direction="lower", targets=[(2025, 0, "5")], actuals=[(2025, 0, "7")]
    )
    # no target for 2025 (2026's only), and a qualitative one: not counted
    IndicatorFactory(node=sub, targets=[(2026, 0, "10")], actuals=[(2025, 0, "1")])
    IndicatorFactory(node=sub, measure="qualitative", targets=[(2025, 0, "1")])

    suggestion = suggested(sub, "targets")

    # 2 met of 3: 100 x 2 / 3 = 66.666… -> 66.67
    assert two_places(suggestion.score) == "66.67"
    assert suggestion.evidence == {
        "basis": "indicators",
        "with_target": 3,
        "met": 2,
        "indicators": [
            {
                "indicator": quarterly.pk,
                "name": "服務人次",
                "lower_is_better": False,
                "target": "1000",
                "actual": "1050",
                "met": True,
            },
            {
                "indicator": cumulative.pk,
                "name": "累計開放資料集",
                "lower_is_better": False,
                "target": "500",
                "actual": "520",
                "met": True,
            },
            {
                "indicator": lower.pk,
                "name": "平均處理天數",
                "lower_is_better": True,
                "target": "5",
                "actual": "7",
                "met": False,
            },
        ],
    }


def test_an_indicator_without_an_actual_for_the_year_is_not_met():
    sub = subproject()
    IndicatorFactory(node=sub, targets=[(2025, 0, "10")], actuals=[(2025, 0, "12")])
    silent = IndicatorFactory(node=sub, targets=[(2025, 0, "10")], actuals=[(2024, 0, "9")])

    suggestion = suggested(sub, "targets")

    # 1 met of 2: 100 x 1 / 2 = 50
    assert two_places(suggestion.score) == "50.00"
    assert suggestion.evidence["indicators"][1] == {
        "indicator": silent.pk,
        "name": silent.name,
        "lower_is_better": False,
        "target": "10",
        "actual": None,
        "met": False,
    }


def test_targets_without_an_indicator_with_a_target_for_the_year_have_no_score():
    sub = subproject()
    IndicatorFactory(node=sub, targets=[(2024, 0, "10")], actuals=[(2025, 0, "12")])

    suggestion = suggested(sub, "targets")

    assert suggestion.score is None
    assert suggestion.evidence == {"basis": "no_indicator_with_target"}


# --- reports and flags, for 作業管理 (test_scoring_management) and the cases below -------------------------


def on_time(sub, *quarters):
    for quarter in quarters:
        accepted(sub, quarter)  # first submitted on its due date, at 09:00


def late(sub, quarter, *, submitted_at):
    accepted(sub, quarter, submitted_at=submitted_at, submitted_on_time=False)


def flag(sub, period, severity, *, rule=LagRule.PROGRESS_GAP, opened_at, resolved_at=None, plan=False):
    status = FlagStatus.RESOLVED if resolved_at else FlagStatus.OPEN
    made = LagFlagFactory(
        node=sub,
        rule=rule,
        period=period,
        severity=severity,
        status=status,
        opened_at=opened_at,
        resolved_at=resolved_at,
    )
    FlagCommentFactory(flag=made, kind=CommentKind.COMMENT)  # a plain comment is no improvement plan
    if plan:
        FlagCommentFactory(flag=made, kind=CommentKind.IMPROVEMENT_PLAN, author=lead_user_for(sub), body="改善措施")
    return made


# --- all of them at once ---------------------------------------------------------------------------------


def a_full_year(sub):
    """Something for each source: four reports (Q4 accepted), an indicator, flags with a thread."""
    on_time(sub, Q1, Q2, Q3)
    accepted(
        sub, Q4, planned_progress=D(90), actual_progress=D(85), budget_allocated=D(4000000), budget_spent=D(3500000)
    )
    IndicatorFactory(node=sub, targets=[(2025, 0, "10")], actuals=[(2025, 0, "12")])
    flag(sub, Q2, Severity.RED, opened_at=taipei(2025, 5, 20), plan=True)


@pytest.mark.parametrize("count", [1, 4])
def test_suggestions_read_a_fixed_number_of_queries_however_many_sub_projects(count, django_assert_num_queries):
    plan = PlanFactory()
    subs = subprojects(count, plan=plan)
    for sub in subs:
        a_full_year(sub)
    # one without dates runs its plan's years: read from the plan fetched with the settings, not one by one
    PlanNode.objects.filter(pk=subs[-1].pk).update(start_date=None, end_date=None)
    nodes = list(PlanNode.objects.filter(pk__in=[sub.pk for sub in subs]))

    # the year's reports, baselines, the plan's settings (2), indicators (3), quarterly reports, flags
    with django_assert_num_queries(9):
        found = suggestions(nodes, YEAR, on=ON)

    assert set(found) == {sub.pk for sub in subs}
    for by_source in found.values():
        assert list(by_source) == ["progress", "budget", "targets", "management"]
        # 5 behind: 100 - 4 x 5 = 80; 3,500,000 / 4,000,000 = 87.5 %: 100 - 2 x 2.5 = 95; 1 of 1 met: 100
        assert [two_places(suggestion.score) for suggestion in by_source.values()][:3] == ["80.00", "95.00", "100.00"]
        json.dumps([suggestion.evidence for suggestion in by_source.values()])  # JSON-able as stored


def test_suggestions_of_no_sub_project_read_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert suggestions([], YEAR) == {}
