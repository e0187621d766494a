"""Every list on a page costs the same number of queries for one row as for many."""

import datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import services
from reviews.models import LagRule, QuarterLock, ReportStatus, Severity
from reviews.periods import Quarter
from reviews.services import files
from tests.console.conftest import make_flag, subproject, upload
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import MilestoneFactory
from tests.reviews.factories import FlagCommentFactory, report_in_status

RULES = list(LagRule.values)


def queries(client, path, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200, response.content[:300]
    return len(captured)


def test_dashboard(secretariat, world, django_assert_num_queries):
    # given one flag with a comment and one report waiting for review
    first = make_flag(world.subproject, severity=Severity.RED)
    FlagCommentFactory(flag=first, author=world.secretariat, body="請說明")
    report_in_status(node=world.subproject, status=ReportStatus.SUBMITTED)
    one = queries(secretariat, "/dashboard/")

    # when there are many of each, under the same groups and agencies
    for index in range(24):
        node = subproject(world, f"子計畫 {index}", world.agency if index % 2 else world.other_agency)
        flag = make_flag(node, severity=Severity.RED if index % 3 else Severity.YELLOW, rule=RULES[index % 5])
        FlagCommentFactory(flag=flag, author=world.secretariat, body="請說明")
        if index < 15:
            report_in_status(node=node, status=ReportStatus.SUBMITTED)

    # then
    with django_assert_num_queries(one):
        response = secretariat.get("/dashboard/")
    assert response.content.decode().count('<article class="flag') == 20
    assert response.content.decode().count('data-action="accept"') == 16


def test_what_an_agency_owes(lead, world, django_assert_num_queries):
    report_in_status(node=world.subproject, status=ReportStatus.RETURNED)
    one = queries(lead, "/agency/")

    for index in range(10):
        node = subproject(world, f"子計畫 {index}", world.sub_unit)
        report_in_status(node=node, status=ReportStatus.SUBMITTED if index % 2 else ReportStatus.DRAFT)

    with django_assert_num_queries(one):
        response = lead.get("/agency/")
    assert response.content.decode().count('data-action="file-report"') > 10


def test_sub_project_page(secretariat, world, django_assert_num_queries):
    node = subproject(world, "查詢次數子計畫", world.agency)
    MilestoneFactory(node=node, title="查核點 0")
    IndicatorFactory(
        node=node, key="i0", name="指標 0", is_cumulative=True, targets=[(2025, 0, 10)], actuals=[(2024, 0, 5)]
    )
    report_in_status(node=node, status=ReportStatus.ACCEPTED, period=Quarter(2024, 1))
    flag = make_flag(node)
    FlagCommentFactory(flag=flag, author=world.secretariat, body="請說明")
    path = f"/projects/{node.pk}/"
    one = queries(secretariat, path)

    period = Quarter(2024, 1)
    for index in range(1, 8):
        period = period.next()
        planned = datetime.date(2024, 1, 1) + datetime.timedelta(days=60 * index)
        MilestoneFactory(node=node, title=f"查核點 {index}", planned_date=planned)
        IndicatorFactory(node=node, key=f"i{index}", name=f"指標 {index}", targets=[(2025, 0, 10)])
        report_in_status(
            node=node,
            status=ReportStatus.RETURNED if index == 7 else ReportStatus.ACCEPTED,
            period=period,
            planned_progress=Decimal(40 + index),
            actual_progress=Decimal(45 + index),
        )
    for rule in [rule for rule in RULES if rule != LagRule.PROGRESS_GAP]:
        flagged = make_flag(node, rule=rule)
        FlagCommentFactory(flag=flagged, author=world.lead, body="改善中")

    with django_assert_num_queries(one):
        response = secretariat.get(path)
    assert response.content.decode().count('<ol class="history">') == 8


def test_report_page_history(lead, world, django_assert_num_queries):
    report = report_in_status(node=world.subproject, status=ReportStatus.DRAFT)
    path = f"/reports/{report.pk}/"
    one = queries(lead, path)

    for step in range(6):
        report = services.report_update(
            actor=world.lead, report=report, expected_version=report.version, data={"achievements": f"第 {step} 版"}
        )

    with django_assert_num_queries(one):
        response = lead.get(path)
    assert response.content.decode().count("<li>") >= 7


def test_plan_page(reader, world, django_assert_num_queries):
    def overall(position):
        IndicatorFactory(
            plan=world.plan,
            key=f"overall/{position}",
            name=f"總體指標 {position}",
            targets=[(2025, 0, 10)],
            actuals=[(2024, 0, position)],
        )

    overall(0)
    one = queries(reader, f"/plans/{world.plan.pk}/")

    for position in range(1, 12):
        overall(position)

    with django_assert_num_queries(one):
        reader.get(f"/plans/{world.plan.pk}/")


def test_reviewer_queue(reviewer, world, endorsing, evidence_storage, django_assert_num_queries):
    def awaiting(node, period, with_files):
        report = report_in_status(node=node, status=ReportStatus.DRAFT, period=period)
        for number in range(with_files):
            files.report_file_add(actor=world.lead, report=report, upload=upload(f"佐證 {number}.pdf"))
            report.refresh_from_db()
        services.report_submit(actor=world.lead, report=report, expected_version=report.version)

    # given one report awaiting endorsement, with a file
    awaiting(world.subproject, Quarter(2024, 1), 1)
    one = queries(reviewer, "/review/")

    # when there are many, under the ministry and its sub-unit, with files of their own
    awaiting(world.unit_subproject, Quarter(2024, 1), 2)
    for index in range(8):
        node = subproject(world, f"子計畫 {index}", world.agency if index % 2 else world.sub_unit)
        awaiting(node, Quarter(2024, 1 + index % 4), index % 3)

    # then
    with django_assert_num_queries(one):
        response = reviewer.get("/review/")
    html = response.content.decode()
    assert html.count('data-action="open-report"') == 10
    assert html.count('data-action="download"') == 1 + 2 + sum(index % 3 for index in range(8))


def test_quarter_locks(secretariat, world, django_assert_num_queries):
    def lock(year, quarter, exceptions):
        made = QuarterLock.objects.create(plan=world.plan, year=year, quarter=quarter, locked_by=world.secretariat)
        for index in range(exceptions):
            node = subproject(world, f"例外子計畫 {year}Q{quarter}-{index}", world.other_agency)
            made.exceptions.create(node=node, expires_on=datetime.date(2099, 1, 1), granted_by=world.secretariat)

    lock(2024, 1, 1)
    one = queries(secretariat, "/locks/")

    for quarter in (2, 3, 4):
        lock(2024, quarter, quarter)

    with django_assert_num_queries(one):
        response = secretariat.get("/locks/")
    assert response.content.decode().count('data-action="revoke"') == 1 + 2 + 3 + 4
