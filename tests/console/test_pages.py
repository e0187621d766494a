"""What the pages show: the dashboard's lights (the same counts as ``/api/v1/lights/``), its flag queue and
filters, the review queue and the annual report downloads; a sub-project's place in the tree, milestones,
progress, budget, indicators, flags and reports; the plan's overall indicators; both languages."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import User
from reviews.models import ACTIVE_STATUSES, FlagStatus, LagFlag, LagRule, ReportStatus, Severity
from reviews.periods import Quarter
from tests.accounts.factories import secretariat_user
from tests.console.conftest import make_flag, subproject
from tests.indicators.factories import IndicatorActualFactory, IndicatorFactory
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.factories import FlagCommentFactory, report_in_status


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def table_counts(html, table_id) -> dict[int, dict[str, int]]:
    """The counts of a light table on the page, by unit id."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    rows = {}
    for unit, body in re.findall(r'<tr data-unit="(\d+)">(.*?)</tr>', table, re.S):
        rows[int(unit)] = {key: int(value) for key, value in re.findall(r'data-count="(\w+)">(\d+)<', body)}
    return rows


def flag_ids(html) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article class="flag flag--\w+" id="flag-(\d+)"', html)]


@pytest.fixture
def lit(world):
    """Red, yellow and green sub-projects under both agencies; one red flag resolved, one acknowledged."""
    more = subproject(world, "數位部第三子計畫", world.agency)
    flags = {
        "red": make_flag(world.subproject, severity=Severity.RED, rule=LagRule.LATE_REPORT),
        "yellow": make_flag(world.subproject, severity=Severity.YELLOW),
        "unit": make_flag(world.unit_subproject, severity=Severity.YELLOW, rule=LagRule.BUDGET_EXECUTION),
        "acknowledged": make_flag(
            world.other_subproject,
            severity=Severity.RED,
            status=FlagStatus.ACKNOWLEDGED,
            acknowledged_at=datetime.datetime(2025, 2, 2, tzinfo=datetime.UTC),
            opened_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        ),
        "resolved": make_flag(more, severity=Severity.RED, status=FlagStatus.RESOLVED),
    }
    return flags


# --- the dashboard ------------------------------------------------------------------------------


@pytest.mark.parametrize(("by", "table"), [("group", "lights-by-group-table"), ("agency", "lights-by-agency-table")])
def test_light_counts_are_the_api_s(secretariat, world, lit, by, table):
    api = APIClient()
    api.force_authenticate(world.secretariat)
    expected = {
        row["id"]: {key: row[key] for key in ("red", "yellow", "green", "total")}
        for row in api.get("/api/v1/lights/", {"plan": world.plan.pk, "by": by}).json()
    }

    shown = table_counts(html_of(secretariat.get("/dashboard/")), table)

    assert shown == expected
    if by == "agency":
        # the sub-unit's sub-project counts under its ministry: 數位部 has a red, a yellow and a green
        assert shown[world.agency.pk] == {"red": 1, "yellow": 1, "green": 1, "total": 3}


def test_the_lights_are_a_chart_with_words_as_well_as_colours(secretariat, world, lit):
    html = html_of(secretariat.get("/dashboard/"))

    for chart in ("lights-by-group", "lights-by-agency"):
        svg = re.search(rf'<svg class="[^"]*" id="{chart}".*?</svg>', html, re.S).group(0)
        assert 'role="img"' in svg and f'aria-labelledby="{chart}-title {chart}-desc"' in svg
        assert f'<title id="{chart}-title">' in svg
        assert re.search(r'<rect [^>]*class="seg seg--red"><title>[^<]+ [12]</title>', svg)
    # the totals say the light in words: 紅燈, 黃燈 (the catalogue's words for the flags' severities)
    totals = re.search(r'<p class="totals" id="lights-total">(.*?)</p>', html, re.S).group(1)
    assert "紅燈" in totals and "黃燈" in totals
    assert re.search(r'data-count="red">2<', totals) and re.search(r'data-count="yellow">1<', totals)


def test_the_queue_shows_active_flags_red_first_then_oldest(secretariat, lit):
    html = html_of(secretariat.get("/dashboard/"))

    assert flag_ids(html) == [lit["acknowledged"].pk, lit["red"].pk, lit["yellow"].pk, lit["unit"].pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"severity": "yellow"}, ["yellow", "unit"]),
        ({"rule": "late_report"}, ["red"]),
        ({"status": "resolved"}, ["resolved"]),
        ({"status": "acknowledged"}, ["acknowledged"]),
        ({"agency": "AGENCY"}, ["red", "yellow", "unit"]),  # the ministry with its sub-unit
        ({"agency": "SUB_UNIT"}, ["unit"]),
        ({"rule": ["late_report", "budget_execution"], "severity": "red"}, ["red"]),
    ],
)
def test_the_queue_filters_as_the_api_filters(secretariat, world, lit, query, expected):
    stand_ins = {"AGENCY": world.agency.pk, "SUB_UNIT": world.sub_unit.pk}
    query = {key: stand_ins.get(value, value) if isinstance(value, str) else value for key, value in query.items()}

    html = html_of(secretariat.get("/dashboard/", query))

    assert sorted(flag_ids(html)) == sorted(lit[name].pk for name in expected)
    api = APIClient()
    api.force_authenticate(world.secretariat)
    status = query.pop("status", list(ACTIVE_STATUSES))
    through_api = api.get("/api/v1/flags/", {**query, "status": status}).json()["results"]
    assert sorted(row["id"] for row in through_api) == sorted(flag_ids(html))


def test_a_group_filter_keeps_the_group_s_flags(secretariat, world, lit):
    html = html_of(secretariat.get("/dashboard/", {"group": world.group.pk}))

    assert len(flag_ids(html)) == 4


def test_an_invalid_filter_shows_no_flags_and_says_why(secretariat, lit):
    response = secretariat.get("/dashboard/", {"plan": "999999"})

    html = html_of(response)
    assert flag_ids(html) == []
    assert 'class="errorlist"' in html


def test_the_evidence_and_the_thread_are_shown_to_the_secretariat(secretariat, world, lit):
    FlagCommentFactory(flag=lit["red"], author=world.lead, kind="improvement_plan", body="下季補提")

    html = html_of(secretariat.get("/dashboard/"))
    card = re.search(rf'<article [^>]*id="flag-{lit["red"].pk}".*?</article>', html, re.S).group(0)

    assert "-6.5" in card  # the gap in its evidence
    assert "下季補提" in card and world.lead.username in card
    assert world.subproject.title in card and "【數位發展部】" in card


def test_the_review_queue_lists_submitted_reports_longest_waiting_first(secretariat, world):
    first = report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 1))
    second = report_in_status(node=world.other_subproject, status=ReportStatus.SUBMITTED, period=Quarter(2024, 1))
    report_in_status(node=world.unit_subproject, status=ReportStatus.DRAFT)
    report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 2))

    html = html_of(secretariat.get("/dashboard/"))
    section = html[html.index('id="reviews"') :]

    assert re.findall(r'<tr id="report-(\d+)">', section) == [str(first.pk), str(second.pk)]
    assert section.count('data-action="accept"') == 2


def test_the_annual_report_downloads_are_offered_to_the_secretariat_and_readers(request, world):
    report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 3))

    for role, offered in (("secretariat", True), ("reader", True), ("lead", False)):
        html = html_of(request.getfixturevalue(role).get("/dashboard/"))
        assert ('href="/reports/annual/2024.docx?plan=smart-nation"' in html) is offered, role
        assert ('href="/reports/annual/2024.md?plan=smart-nation"' in html) is offered, role


def test_the_annual_report_downloads_are_of_the_plan_on_the_dashboard(secretariat, world):
    # given a second plan with an accepted 2024 report of its own
    other = PlanFactory(code="digital-2030", name="數位國家創新經濟發展方案", start_year=2017, end_year=2025)
    (_, _, _, (sub,)) = make_tree(other, lead_agency=world.agency, prefix="其他")
    report_in_status(node=sub, status=ReportStatus.ACCEPTED, period=Quarter(2024, 3))
    report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 3))

    # then each plan's dashboard offers that plan's report, and the link downloads it
    for plan in (world.plan, other):
        html = html_of(secretariat.get("/dashboard/", {"plan": plan.pk}))
        link = f"/reports/annual/2024.md?plan={plan.code}"
        assert f'href="{link}"' in html
        assert plan.name in secretariat.get(link).content.decode()


@override_settings(ROOT_URLCONF="tests.console.urls_without_annual_report")
def test_the_dashboard_renders_without_the_annual_report_export(secretariat, world):
    report_in_status(node=world.subproject, status=ReportStatus.ACCEPTED, period=Quarter(2024, 3))

    html = html_of(secretariat.get("/dashboard/"))

    assert "/reports/annual/" not in html
    assert 'id="annual-report"' not in html


def test_the_dashboard_of_an_empty_installation(db):
    client = Client()
    client.force_login(secretariat_user("first-secretariat"))

    html = html_of(client.get("/dashboard/"))

    assert flag_ids(html) == [] and 'id="lights"' not in html


# --- a sub-project ---------------------------------------------------------------------------------


@pytest.fixture
def reported(world):
    """Three accepted quarters, a returned one and an indicator with targets and results."""
    node = world.subproject
    indicator = IndicatorFactory(
        node=node,
        key="usage",
        name="服務使用人次",
        unit="人次",
        is_cumulative=True,
        baseline_year=2023,
        baseline_value=Decimal(1000),
        targets=[(2025, 0, 2200)],
    )
    for quarter, planned, actual, spent in (
        (1, "20", "18", "380000"),
        (2, "40", "41", "800000"),
        (3, "60", "60", "1150000"),
    ):
        report_in_status(
            node=node,
            status=ReportStatus.ACCEPTED,
            period=Quarter(2024, quarter),
            planned_progress=Decimal(planned),
            actual_progress=Decimal(actual),
            budget_allocated=Decimal(400000 * quarter),
            budget_spent=Decimal(spent),
            delay_reasons="採購延宕" if Decimal(actual) < Decimal(planned) else "",
        )
        IndicatorActualFactory(indicator=indicator, year=2024, quarter=quarter, value=Decimal(1000 + 300 * quarter))
    returned = report_in_status(
        node=node,
        status=ReportStatus.RETURNED,
        period=Quarter(2024, 4),
        return_reason="請補充經費說明",
        planned_progress=Decimal(80),
        actual_progress=Decimal(80),
        budget_allocated=Decimal(1600000),
        budget_spent=Decimal(1500000),
    )
    return {"indicator": indicator, "returned": returned}


def test_the_sub_project_page_shows_its_place_agencies_and_milestones(secretariat, world, reported):
    html = html_of(secretariat.get(f"/projects/{world.subproject.pk}/"))

    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    titles = [
        world.plan.name,
        world.group.title,
        world.measure.parent.title,
        world.measure.title,
        world.subproject.title,
    ]
    positions = [crumbs.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "數位發展部" in html
    timeline = re.search(r'<svg [^>]*id="milestone-timeline".*?</svg>', html, re.S).group(0)
    assert "需求訪談與規劃完成" in timeline and "系統建置完成" in timeline
    assert timeline.count('class="mark--done"><title>') == 2  # not counting the legend


def test_the_sub_project_page_charts_progress_and_budget_from_accepted_reports(secretariat, world, reported):
    html = html_of(secretariat.get(f"/projects/{world.subproject.pk}/"))

    progress = re.search(r'<svg [^>]*id="progress-chart".*?</svg>', html, re.S).group(0)
    budget = re.search(r'<svg [^>]*id="budget-chart".*?</svg>', html, re.S).group(0)
    assert progress.count('class="mark--actual"><title>') == 3  # accepted quarters only, not the returned 2024Q4
    assert progress.count('class="mark--planned"><title>') == 3
    assert ">18%<" in progress and ">41%<" in progress
    assert budget.count('class="bar--spent"><title>') == 3
    assert ">95%<" in budget  # 380,000 of 400,000 in 2024Q1
    assert "2024Q4" not in progress


def test_the_sub_project_page_lists_indicators_flags_and_reports_with_history(secretariat, world, reported):
    flag = make_flag(
        world.subproject,
        severity=Severity.RED,
        rule=LagRule.BUDGET_EXECUTION,
        evidence={"rule": "budget_execution", "period": "2024Q4", "execution_rate": "72.50"},
    )
    make_flag(world.subproject, status=FlagStatus.RESOLVED, rule=LagRule.PROGRESS_GAP)

    html = html_of(secretariat.get(f"/projects/{world.subproject.pk}/", HTTP_ACCEPT_LANGUAGE="en"))

    indicators = html[html.index('id="indicators"') : html.index('id="flags"')]
    assert "服務使用人次" in indicators and "2,200" in indicators and "1,900" in indicators
    flags = html[html.index('id="flags"') : html.index('id="reports"')]
    assert f'id="flag-{flag.pk}"' in flags and "72.5" in flags
    assert "1 resolved flag" in flags
    reports = html[html.index('id="reports"') :]
    assert reports.index("2024Q4") < reports.index("2024Q1")  # the latest first
    assert "請補充經費說明" in reports
    assert reports.count('<ol class="history">') == 4


# --- the plan's overall indicators ---------------------------------------------------------------


def test_the_plan_page_shows_each_overall_indicator_against_its_target(reader, world):
    for position, (name, unit, target, result, estimate) in enumerate(
        [
            ("數位經濟規模", "兆元", "6.5", "9.3", True),
            ("數位生活服務使用普及率", "%", "80", "78.2", False),
        ]
    ):
        indicator = IndicatorFactory(
            plan=world.plan,
            key=f"overall/{position}",
            name=name,
            unit=unit,
            dimension="面向",
            position=position,
            targets=[(2025, 0, target)],
        )
        IndicatorActualFactory(indicator=indicator, year=2024, value=Decimal(result), is_estimate=estimate)

    html = html_of(reader.get(f"/plans/{world.plan.pk}/"))

    table = re.search(r'<table id="overall-indicators-table">(.*?)</table>', html, re.S).group(1)
    assert "數位經濟規模" in table and "6.5 兆元" in table and "9.3 兆元" in table
    assert re.findall(r'data-met="(\w+)"', table) == ["yes", "no"]
    chart = re.search(r'<svg [^>]*id="overall-indicators".*?</svg>', html, re.S).group(0)
    assert chart.count('class="target"><title>') == 2 and chart.count('class="bar--result"><title>') == 2
    assert "2025" in html


# --- languages -------------------------------------------------------------------------------------


def test_pages_are_in_traditional_chinese_by_default_and_english_on_request(secretariat, world, lit):
    zh = html_of(secretariat.get("/dashboard/"))
    en = html_of(secretariat.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en"))

    assert '<html lang="zh-hant">' in zh and "紅燈" in zh and "執行秘書室" in zh
    assert '<html lang="en">' in en and "Red" in en and "Green" in en and "紅燈" not in en
    # the language switch posts to Django's set_language and comes back here
    assert 'action="/i18n/setlang/"' in zh and 'name="next" value="/dashboard/"' in zh


# --- the demo data on the embedded default -------------------------------------------------------------


def test_the_demo_secretariat_signs_in_and_lands_on_the_demo_s_flags(db):
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()

    response = client.post("/accounts/login/", {"username": "secretariat", "password": "secretariat-demo"}, follow=True)

    html = html_of(response)
    assert response.redirect_chain == [("/", 302), ("/dashboard/", 302)]
    active = LagFlag.objects.filter(status__in=ACTIVE_STATUSES).count()
    assert active > 0
    assert re.search(rf'<h2 id="flags-heading">[^<]*<span class="muted">\({active}\)</span>', html)
    assert len(flag_ids(html)) == min(active, 20)
    assert html.count('data-action="accept"') > 0  # the demo's reports waiting for review
    assert User.objects.get(username="secretariat").is_staff
