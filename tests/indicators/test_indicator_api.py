"""The indicators API: rows with their targets, actuals and evaluation, every filter, the plan's overall table,
the secretariat recording plan- and group-level actuals, and sub-project actuals arriving only from accepted reports.

Evaluations are asked for with an explicit ``on`` so that they do not depend on the day the suite runs.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from indicators.models import Direction, Indicator, IndicatorActual, Measure
from projects.models import AgencyRole
from tests.indicators.factories import IndicatorActualFactory, IndicatorFactory
from tests.projects.factories import AgencyFactory, NodeAgencyFactory, PlanFactory, make_tree
from tests.reviews.factories import file_report_through_api, report_body

INDICATORS = "/api/v1/indicators/"
REPORTS = "/api/v1/reports/"
D = Decimal


def make_indicator(plan, node=None, *, name=None, targets=(), actuals=(), **fields):
    """An indicator of ``plan`` (on ``node``) with (year, quarter, value) targets and actuals."""
    if name is not None:
        fields["name"] = name
    return IndicatorFactory(plan=plan, node=node, targets=targets, actuals=actuals, **fields)


def url(indicator):
    return f"{INDICATORS}{indicator.pk}/"


def names(response):
    assert response.status_code == 200, response.json()
    return sorted(row["name"] for row in response.json()["results"])


@pytest.fixture
def plan(db):
    return PlanFactory()


@pytest.fixture
def tree(plan, agency):
    """group > strategy > measure > sub-project, the sub-project led by 數位發展部."""
    group, strategy, measure, (subproject,) = make_tree(plan, lead_agency=agency)
    return {"group": group, "strategy": strategy, "measure": measure, "subproject": subproject}


# ---------------------------------------------------------------------------------------------- rows and fields


def test_detail_has_baseline_targets_actuals_and_evaluation(reader_client, plan):
    indicator = make_indicator(
        plan,
        name="數位經濟規模",
        dimension="創新數位經濟",
        unit="兆元",
        is_cumulative=True,
        baseline_year=2021,
        baseline_value=D("5.1"),
        targets=[(2025, 0, "6.5")],
        note="主計總處",
    )
    IndicatorActualFactory(
        indicator=indicator,
        year=2024,
        value=D("9.3"),
        is_estimate=True,
        as_of=datetime.date(2025, 3, 31),
        source="行政院主計總處",
    )

    response = reader_client.get(url(indicator), {"on": "2024-12-31"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "plan",
        "project",
        "owner",
        "key",
        "dimension",
        "name",
        "unit",
        "measure",
        "direction",
        "is_cumulative",
        "baseline",
        "targets",
        "actuals",
        "evaluation",
        "note",
        "updated_at",
    }
    assert {name: body[name] for name in ("id", "plan", "project", "owner", "key", "dimension", "name", "unit")} == {
        "id": indicator.pk,
        "plan": plan.pk,
        "project": None,
        "owner": "plan",
        "key": indicator.key,
        "dimension": "創新數位經濟",
        "name": "數位經濟規模",
        "unit": "兆元",
    }
    assert (body["measure"], body["direction"], body["is_cumulative"], body["note"]) == (
        "number",
        "higher",
        True,
        "主計總處",
    )
    assert body["baseline"] == {"year": 2021, "value": "5.1000"}
    assert body["targets"] == [{"year": 2025, "quarter": 0, "value": "6.5000"}]
    assert body["actuals"] == [
        {
            "year": 2024,
            "quarter": 0,
            "value": "9.3000",
            "text": "",
            "is_estimate": True,
            "as_of": "2025-03-31",
            "source": "行政院主計總處",
        }
    ]
    assert body["evaluation"]["as_of"] == "2024-12-31"
    assert (body["evaluation"]["actual"], body["evaluation"]["status"]) == ("9.3000", "met")


def test_list_rows_carry_the_same_fields_and_name_their_owner(reader_client, plan, tree):
    make_indicator(plan, name="總體")
    make_indicator(plan, tree["group"], name="分組")
    make_indicator(plan, tree["measure"], name="措施")
    make_indicator(plan, tree["subproject"], name="子計畫", baseline_year=2021, baseline_value=D(3))

    response = reader_client.get(INDICATORS)

    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()["results"]}
    assert response.json()["count"] == 4
    assert {name: (row["owner"], row["project"]) for name, row in rows.items()} == {
        "總體": ("plan", None),
        "分組": ("group", tree["group"].pk),
        "措施": ("measure", tree["measure"].pk),
        "子計畫": ("subproject", tree["subproject"].pk),
    }
    assert rows["總體"]["baseline"] is None
    assert rows["子計畫"]["baseline"] == {"year": 2021, "value": "3.0000"}
    assert all(
        set(row["evaluation"]) == {"as_of", "actual", "expected", "target", "target_year", "ratio", "status"}
        for row in rows.values()
    )


def test_evaluation_defaults_to_today(reader_client, plan):
    indicator = make_indicator(plan, targets=[(2025, 0, "10")])

    evaluation = reader_client.get(url(indicator)).json()["evaluation"]

    assert evaluation["as_of"] == timezone.localdate().isoformat()


def test_anonymous_gets_nothing(anonymous_client, plan):
    indicator = make_indicator(plan)

    assert anonymous_client.get(INDICATORS).status_code == 401
    assert anonymous_client.get(url(indicator)).status_code == 401
    assert anonymous_client.get(f"/api/v1/plans/{plan.pk}/indicators/").status_code == 401


def test_unknown_indicator_is_404(reader_client, db):
    assert reader_client.get(f"{INDICATORS}999999/").status_code == 404


# ---------------------------------------------------------------------------------------------- evaluation


def evaluate(client, indicator, as_of):
    response = client.get(url(indicator), {"on": as_of})
    assert response.status_code == 200, response.json()
    return response.json()["evaluation"]


def test_cumulative_indicator_is_compared_with_the_line_from_baseline_to_target(reader_client, plan):
    # given baseline 2021 = 10, target 2025 = 50 and 30 reached at the end of 2023
    indicator = make_indicator(
        plan,
        is_cumulative=True,
        baseline_year=2021,
        baseline_value=D(10),
        targets=[(2025, 0, "50")],
        actuals=[(2023, 4, "30")],
    )

    # when evaluated at the end of 2023
    evaluation = evaluate(reader_client, indicator, "2023-12-31")

    # then: 730 of the 1461 days from 2021-12-31 to 2025-12-31 have passed, so
    # expected = 10 + 40 * 730/1461 = 29.98631...; ratio = (30 - 10) / (29.98631 - 10) = 1461/1460 = 1.000685
    # on plan and the rate so far (20 in 730 days) reaches 50.03 by 2025-12-31: on track.
    assert evaluation == {
        "as_of": "2023-12-31",
        "actual": "30.0000",
        "expected": "29.9863",
        "target": "50.0000",
        "target_year": 2025,
        "ratio": "1.0007",
        "status": "on_track",
    }


def test_lower_is_better_reads_the_ratio_the_other_way_round(reader_client, plan):
    # given a level to bring down from 100 (2021) to 60 (2025): 99 at the end of 2022, 85 at the end of 2023
    indicator = make_indicator(
        plan,
        direction=Direction.LOWER,
        is_cumulative=True,
        baseline_year=2021,
        baseline_value=D(100),
        targets=[(2025, 0, "60")],
        actuals=[(2022, 0, "99"), (2023, 0, "85")],
    )

    evaluation = evaluate(reader_client, indicator, "2023-12-31")

    # expected = 100 - 40 * 730/1461 = 80.01369; ratio = (85 - 100) / (80.01369 - 100) = 21915/29200 = 0.7505:
    # behind (< 0.9), but the last year's fall (14 in 365 days) would reach 56.96 <= 60 by 2025, so not cannot_reach.
    assert evaluation == {
        "as_of": "2023-12-31",
        "actual": "85.0000",
        "expected": "80.0137",
        "target": "60.0000",
        "target_year": 2025,
        "ratio": "0.7505",
        "status": "behind",
    }


def test_lower_is_better_is_met_at_or_below_the_target(reader_client, plan):
    indicator = make_indicator(
        plan,
        direction=Direction.LOWER,
        is_cumulative=True,
        baseline_year=2021,
        baseline_value=D(100),
        targets=[(2025, 0, "60")],
        actuals=[(2023, 0, "60")],
    )
    higher = make_indicator(
        plan,
        is_cumulative=True,
        baseline_year=2021,
        baseline_value=D(100),
        targets=[(2025, 0, "60")],
        actuals=[(2023, 0, "60")],
    )

    assert evaluate(reader_client, indicator, "2023-12-31")["status"] == "met"
    # the same figures read higher-is-better: 60 is already at the target too
    assert evaluate(reader_client, higher, "2023-12-31")["status"] == "met"
    # 59 is past the target one way and short of it the other
    IndicatorActual.objects.filter(indicator__in=[indicator, higher]).update(value=D(59))
    assert evaluate(reader_client, indicator, "2023-12-31")["status"] == "met"
    assert evaluate(reader_client, higher, "2023-12-31")["status"] != "met"


def test_per_period_indicator_sums_the_quarters_against_the_years_target(reader_client, plan):
    # given a yearly target of 100 and 20, 25 and 30 in the first three quarters of 2024
    indicator = make_indicator(
        plan,
        is_cumulative=False,
        targets=[(2024, 0, "100")],
        actuals=[(2024, 1, "20"), (2024, 2, "25"), (2024, 3, "30")],
    )

    at_q3 = evaluate(reader_client, indicator, "2024-09-30")
    at_year_end = evaluate(reader_client, indicator, "2024-12-31")

    # 2024-09-30 is 273 of the 365 days from 2024-01-01 to 2024-12-31: expected 100 * 273/365 = 74.7945,
    # actual 20 + 25 + 30 = 75, ratio 75 / 74.7945 = 1.0027 (no baseline: measured from 0)
    assert at_q3 == {
        "as_of": "2024-09-30",
        "actual": "75.0000",
        "expected": "74.7945",
        "target": "100.0000",
        "target_year": 2024,
        "ratio": "1.0027",
        "status": "on_track",
    }
    # at the year's end nothing more came in: the whole 100 was due, 75 is 0.75 of it
    assert (at_year_end["actual"], at_year_end["expected"], at_year_end["ratio"], at_year_end["status"]) == (
        "75.0000",
        "100.0000",
        "0.7500",
        "behind",
    )


def test_qualitative_indicator_has_a_status_and_no_numbers(reader_client, plan):
    indicator = make_indicator(plan, measure=Measure.QUALITATIVE)
    IndicatorActualFactory(indicator=indicator, year=2024, text="完成 8 大主題資料專區")

    body = reader_client.get(url(indicator), {"on": "2024-12-31"}).json()

    assert body["evaluation"] == {
        "as_of": "2024-12-31",
        "actual": None,
        "expected": None,
        "target": None,
        "target_year": None,
        "ratio": None,
        "status": "qualitative",
    }
    assert [(row["value"], row["text"]) for row in body["actuals"]] == [(None, "完成 8 大主題資料專區")]


def test_no_actual_yet_is_no_data(reader_client, plan):
    indicator = make_indicator(plan, is_cumulative=True, targets=[(2025, 0, "50")])

    evaluation = evaluate(reader_client, indicator, "2023-12-31")

    assert (evaluation["actual"], evaluation["ratio"], evaluation["status"]) == (None, None, "no_data")
    assert evaluation["target"] == "50.0000"


def test_a_missed_target_whose_date_has_passed_cannot_be_reached(reader_client, plan):
    indicator = make_indicator(plan, is_cumulative=True, targets=[(2023, 0, "50")], actuals=[(2023, 0, "49")])

    assert evaluate(reader_client, indicator, "2023-12-31")["status"] == "on_track"  # ratio 0.98 on the day
    assert evaluate(reader_client, indicator, "2024-01-01")["status"] == "cannot_reach"


def test_projection_uses_the_points_in_date_order(reader_client, plan):
    # given 20 at mid-2023 and 25 for the whole of 2023, against 100 by 2025 from a baseline of 0 in 2021
    indicator = make_indicator(
        plan,
        is_cumulative=True,
        baseline_year=2021,
        baseline_value=D(0),
        targets=[(2025, 0, "100")],
        actuals=[(2023, 2, "20"), (2023, 0, "25")],
    )

    evaluation = evaluate(reader_client, indicator, "2023-12-31")

    # at 5 per 184 days from 2023-06-30 to 2023-12-31 it reaches only 25 + 5 * 731/184 = 44.9 by 2025-12-31
    assert evaluation["status"] == "cannot_reach"


# ---------------------------------------------------------------------------------------------- filters


@pytest.fixture
def owners(plan, tree):
    return {
        "plan": make_indicator(plan, name="總體指標"),
        "group": make_indicator(plan, tree["group"], name="分組指標"),
        "strategy": make_indicator(plan, tree["strategy"], name="策略指標"),
        "measure": make_indicator(plan, tree["measure"], name="措施指標"),
        "subproject": make_indicator(plan, tree["subproject"], name="子計畫指標"),
    }


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ("plan", ["總體指標"]),
        ("group", ["分組指標"]),
        ("subproject", ["子計畫指標"]),
        ("node", ["分組指標", "子計畫指標", "措施指標", "策略指標"]),
    ],
)
def test_filter_by_owner(reader_client, owners, owner, expected):
    assert names(reader_client.get(INDICATORS, {"owner": owner})) == sorted(expected)


def test_unknown_owner_is_400_naming_it(reader_client, owners):
    response = reader_client.get(INDICATORS, {"owner": "ministry"})

    assert response.status_code == 400
    assert "owner" in response.json()["errors"]


def test_filter_by_plan_and_project(reader_client, plan, tree, owners):
    other_plan = PlanFactory()
    _, _, _, (elsewhere,) = make_tree(other_plan)
    make_indicator(other_plan, name="他方案總體")
    make_indicator(other_plan, elsewhere, name="他方案子計畫")

    assert names(reader_client.get(INDICATORS, {"plan": other_plan.pk})) == ["他方案子計畫", "他方案總體"]
    assert len(names(reader_client.get(INDICATORS, {"plan": plan.pk}))) == 5
    assert names(reader_client.get(INDICATORS, {"project": tree["subproject"].pk})) == ["子計畫指標"]
    assert names(reader_client.get(INDICATORS, {"project": tree["group"].pk})) == ["分組指標"]


def test_filter_by_ancestor_takes_the_subtree(reader_client, plan, tree, owners):
    _, other_strategy, _, (other_sub,) = make_tree(plan, prefix="乙")
    make_indicator(plan, other_sub, name="他分組子計畫指標")

    below_strategy = names(reader_client.get(INDICATORS, {"ancestor": tree["strategy"].pk}))
    below_other = names(reader_client.get(INDICATORS, {"ancestor": other_strategy.pk}))

    assert {"措施指標", "子計畫指標"} <= set(below_strategy)
    assert not {"總體指標", "分組指標", "他分組子計畫指標"} & set(below_strategy)
    assert "他分組子計畫指標" in below_other
    assert not {"措施指標", "子計畫指標"} & set(below_other)


def test_filter_by_agency_includes_its_sub_units(reader_client, plan, agency, other_agency):
    unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    _, _, _, (by_ministry, by_unit, by_other, co_run) = make_tree(plan, subprojects=4)
    for node, lead in ((by_ministry, agency), (by_unit, unit), (by_other, other_agency), (co_run, other_agency)):
        NodeAgencyFactory(node=node, agency=lead, role=AgencyRole.LEAD)
    NodeAgencyFactory(node=co_run, agency=agency, role=AgencyRole.CO)
    make_indicator(plan, by_ministry, name="部本部主辦")
    make_indicator(plan, by_unit, name="產業署主辦")
    make_indicator(plan, by_other, name="經濟部主辦")
    make_indicator(plan, co_run, name="數位部協辦")
    make_indicator(plan, name="總體")

    assert names(reader_client.get(INDICATORS, {"agency": agency.pk})) == ["產業署主辦", "部本部主辦"]
    assert names(reader_client.get(INDICATORS, {"agency": unit.pk})) == ["產業署主辦"]
    assert names(reader_client.get(INDICATORS, {"agency": other_agency.pk})) == ["數位部協辦", "經濟部主辦"]


def test_filter_by_measure(reader_client, plan):
    make_indicator(plan, name="數量", measure=Measure.NUMBER)
    make_indicator(plan, name="比率", measure=Measure.PERCENTAGE, unit="%")
    make_indicator(plan, name="質化", measure=Measure.QUALITATIVE)

    assert names(reader_client.get(INDICATORS, {"measure": "qualitative"})) == ["質化"]
    assert names(reader_client.get(INDICATORS + "?measure=number&measure=percentage")) == ["數量", "比率"]
    assert reader_client.get(INDICATORS, {"measure": "money"}).status_code == 400


def test_search_by_name(reader_client, plan):
    make_indicator(plan, name="高速網路寬頻服務達 2Gbps 涵蓋率")
    make_indicator(plan, name="5G 網路非偏鄉人口涵蓋率")
    make_indicator(plan, name="數位經濟規模")

    assert names(reader_client.get(INDICATORS, {"search": "寬頻"})) == ["高速網路寬頻服務達 2Gbps 涵蓋率"]
    assert names(reader_client.get(INDICATORS, {"search": "涵蓋率"})) == [
        "5G 網路非偏鄉人口涵蓋率",
        "高速網路寬頻服務達 2Gbps 涵蓋率",
    ]
    assert names(reader_client.get(INDICATORS, {"search": "2gbps"})) == ["高速網路寬頻服務達 2Gbps 涵蓋率"]


def test_filter_by_updated_since(reader_client, plan):
    old = make_indicator(plan, name="舊")
    new = make_indicator(plan, name="新")
    long_ago = timezone.now() - datetime.timedelta(days=30)
    Indicator.objects.filter(pk=old.pk).update(updated_at=long_ago)
    Indicator.objects.filter(pk=new.pk).update(updated_at=long_ago + datetime.timedelta(days=10))

    cutoff = (long_ago + datetime.timedelta(days=5)).isoformat()

    assert names(reader_client.get(INDICATORS, {"updated_since": cutoff})) == ["新"]
    assert reader_client.get(INDICATORS, {"updated_since": "last tuesday"}).status_code == 400


@pytest.fixture
def by_status(plan):
    """One indicator in each status as of 2023-12-31."""
    return {
        "met": make_indicator(
            plan, name="已達標", is_cumulative=True, targets=[(2025, 0, "50")], actuals=[(2023, 4, "60")]
        ),
        # the hand-worked case above: ratio 1.0007
        "on_track": make_indicator(
            plan,
            name="進度正常",
            is_cumulative=True,
            baseline_year=2021,
            baseline_value=D(10),
            targets=[(2025, 0, "50")],
            actuals=[(2023, 4, "30")],
        ),
        # 30 of the 100 due within 2023
        "behind": make_indicator(
            plan,
            name="落後",
            is_cumulative=False,
            targets=[(2023, 0, "100")],
            actuals=[(2023, 1, "10"), (2023, 2, "10"), (2023, 3, "10")],
        ),
        # from 11 to 12 in 2023: 14 by 2025, far short of 50
        "cannot_reach": make_indicator(
            plan,
            name="無法達成",
            is_cumulative=True,
            baseline_year=2021,
            baseline_value=D(10),
            targets=[(2025, 0, "50")],
            actuals=[(2022, 0, "11"), (2023, 0, "12")],
        ),
        "no_data": make_indicator(plan, name="尚無資料", is_cumulative=True, targets=[(2025, 0, "50")]),
        "qualitative": make_indicator(plan, name="質化", measure=Measure.QUALITATIVE),
    }


@pytest.mark.parametrize("status", ["met", "on_track", "behind", "cannot_reach", "no_data", "qualitative"])
def test_filter_by_status_as_of_a_date(reader_client, by_status, status):
    response = reader_client.get(INDICATORS, {"status": status, "on": "2023-12-31"})

    assert names(response) == [by_status[status].name]
    assert [row["evaluation"]["status"] for row in response.json()["results"]] == [status]
    assert response.json()["results"][0]["evaluation"]["as_of"] == "2023-12-31"


def test_filter_by_several_statuses(reader_client, by_status):
    response = reader_client.get(INDICATORS + "?status=behind&status=cannot_reach&on=2023-12-31")

    assert names(response) == ["無法達成", "落後"]


def test_status_depends_on_the_date(reader_client, by_status):
    # past the targets' dates, the on-track and the behind indicators that never got there cannot reach them any more
    later = reader_client.get(INDICATORS, {"status": "cannot_reach", "on": "2026-01-31"})

    assert names(later) == ["無法達成", "落後", "進度正常"]


def test_status_filter_combines_with_the_other_filters(reader_client, by_status):
    response = reader_client.get(INDICATORS, {"status": "met", "on": "2023-12-31", "search": "落後"})

    assert names(response) == []


def test_unknown_status_or_bad_date_is_400(reader_client, by_status):
    unknown = reader_client.get(INDICATORS, {"status": "great"})
    bad_date = reader_client.get(INDICATORS, {"status": "met", "on": "2023-13-45"})

    assert unknown.status_code == 400
    assert "status" in unknown.json()["errors"]
    assert bad_date.status_code == 400
    assert "on" in bad_date.json()["errors"]


# ---------------------------------------------------------------------------------------------- query counts


def _many_with_history(plan, node, count):
    for _ in range(count):
        make_indicator(
            plan,
            node,
            is_cumulative=True,
            baseline_year=2021,
            baseline_value=D(0),
            targets=[(2023, 0, "3"), (2024, 0, "6"), (2025, 0, "10")],
            actuals=[(2023, 0, "5"), (2024, 0, "8"), (2025, 0, "12")],
        )


@pytest.mark.parametrize("query", [{}, {"status": "met"}, {"status": "met", "on": "2025-12-31"}])
def test_list_query_count_does_not_grow_with_the_rows(reader_client, django_assert_num_queries, plan, tree, query):
    # given one sub-project indicator with three targets and three actuals
    _many_with_history(plan, tree["subproject"], 1)
    with CaptureQueriesContext(connection) as one_row:
        first = reader_client.get(INDICATORS, query)
    assert first.json()["count"] == 1

    # when there are 50, half on the plan and half on the sub-project
    _many_with_history(plan, None, 25)
    _many_with_history(plan, tree["subproject"], 24)

    # then the same number of queries serve them
    with django_assert_num_queries(len(one_row)):
        many = reader_client.get(INDICATORS, query)
    assert many.json()["count"] == 50
    assert len(many.json()["results"]) == 50
    assert all(len(row["targets"]) == len(row["actuals"]) == 3 for row in many.json()["results"])
    assert {row["evaluation"]["status"] for row in many.json()["results"]} == {"met"}


def test_plan_summary_query_count_does_not_grow_with_the_rows(reader_client, django_assert_num_queries, plan):
    _many_with_history(plan, None, 1)
    summary = f"/api/v1/plans/{plan.pk}/indicators/"
    with CaptureQueriesContext(connection) as one_row:
        assert len(reader_client.get(summary).json()) == 1

    _many_with_history(plan, None, 49)

    with django_assert_num_queries(len(one_row)):
        assert len(reader_client.get(summary).json()) == 50


# ---------------------------------------------------------------------------------------------- plan summary


def test_plan_summary_reproduces_the_overall_table(reader_client, plan, tree):
    economy = make_indicator(
        plan,
        name="數位經濟規模",
        dimension="創新數位經濟",
        unit="兆元",
        is_cumulative=True,
        position=0,
        targets=[(2024, 0, "6"), (2025, 0, "6.5")],
    )
    IndicatorActualFactory(indicator=economy, year=2023, value=D("8.8"))
    IndicatorActualFactory(indicator=economy, year=2024, value=D("9.3"), is_estimate=True)
    coverage = make_indicator(
        plan,
        name="高速網路寬頻服務達 2Gbps 涵蓋率",
        dimension="優勢寬頻環境",
        unit="%",
        measure=Measure.PERCENTAGE,
        is_cumulative=True,
        position=1,
        targets=[(2025, 0, "90")],
        actuals=[(2024, 0, "83.3")],
    )
    # neither a node's indicator nor another plan's belongs to the table
    make_indicator(plan, tree["group"], name="分組指標", targets=[(2024, 0, "43")], actuals=[(2024, 0, "43")])
    make_indicator(PlanFactory(), name="他方案指標")

    response = reader_client.get(f"/api/v1/plans/{plan.pk}/indicators/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "indicator": economy.pk,
            "dimension": "創新數位經濟",
            "name": "數位經濟規模",
            "unit": "兆元",
            "target_year": 2025,
            "target": "6.5000",
            "result_year": 2024,
            "result": "9.3000",
            "result_is_estimate": True,
            "met": True,
        },
        {
            "indicator": coverage.pk,
            "dimension": "優勢寬頻環境",
            "name": "高速網路寬頻服務達 2Gbps 涵蓋率",
            "unit": "%",
            "target_year": 2025,
            "target": "90.0000",
            "result_year": 2024,
            "result": "83.3000",
            "result_is_estimate": False,
            "met": False,
        },
    ]


def test_plan_summary_of_an_indicator_without_a_result(reader_client, plan):
    make_indicator(plan, name="尚無結果", targets=[(2025, 0, "10")])

    (row,) = reader_client.get(f"/api/v1/plans/{plan.pk}/indicators/").json()

    assert (row["result_year"], row["result"], row["result_is_estimate"], row["met"]) == (None, None, False, None)


def test_plan_summary_of_an_unknown_plan_is_404(reader_client, db):
    response = reader_client.get("/api/v1/plans/999999/indicators/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# ---------------------------------------------------------------------------------------------- recording actuals


def record(client, indicator, **overrides):
    body = {"year": 2024, "value": "9.3", "is_estimate": True, "as_of": "2025-03-31", "source": "行政院主計總處"}
    body.update(overrides)
    return client.post(f"{url(indicator)}actuals/", {k: v for k, v in body.items() if v is not None}, format="json")


def test_secretariat_records_a_plan_level_actual(secretariat_client, plan):
    indicator = make_indicator(plan, name="數位經濟規模", is_cumulative=True, targets=[(2025, 0, "6.5")])

    response = record(secretariat_client, indicator)

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "year": 2024,
        "quarter": 0,
        "value": "9.3000",
        "text": "",
        "is_estimate": True,
        "as_of": "2025-03-31",
        "source": "行政院主計總處",
    }
    actual = IndicatorActual.objects.get(indicator=indicator)
    assert (actual.year, actual.quarter, actual.value, actual.is_estimate) == (2024, 0, D("9.3"), True)
    assert (actual.as_of, actual.source) == (datetime.date(2025, 3, 31), "行政院主計總處")
    assert actual.recorded_by == secretariat_client.user
    detail = secretariat_client.get(url(indicator), {"on": "2024-12-31"}).json()
    assert [row["value"] for row in detail["actuals"]] == ["9.3000"]
    assert detail["evaluation"]["status"] == "met"


def test_recording_the_same_year_again_replaces_the_figure(secretariat_client, plan):
    indicator = make_indicator(plan, is_cumulative=True, targets=[(2025, 0, "6.5")])
    record(secretariat_client, indicator, value="9.3", is_estimate=True, as_of="2025-03-31", source="主計總處預估")

    again = record(secretariat_client, indicator, value="9.1", is_estimate=False, as_of="2025-08-31", source="主計總處")

    assert again.status_code == 201
    actual = IndicatorActual.objects.get(indicator=indicator)
    assert (actual.year, actual.value, actual.is_estimate, actual.as_of, actual.source) == (
        2024,
        D("9.1"),
        False,
        datetime.date(2025, 8, 31),
        "主計總處",
    )
    assert [row["value"] for row in secretariat_client.get(url(indicator)).json()["actuals"]] == ["9.1000"]


def test_secretariat_records_a_group_level_actual_and_a_qualitative_text(secretariat_client, plan, tree):
    numeric = make_indicator(plan, tree["group"], unit="項", targets=[(2024, 0, "43")])
    qualitative = make_indicator(plan, tree["group"], measure=Measure.QUALITATIVE)

    figure = record(secretariat_client, numeric, value="43", is_estimate=False, source="數位治理分組")
    text = record(secretariat_client, qualitative, value=None, text="已完成 8 大主題資料", source="數位治理分組")

    assert (figure.status_code, text.status_code) == (201, 201)
    assert IndicatorActual.objects.get(indicator=numeric).value == D(43)
    stored = IndicatorActual.objects.get(indicator=qualitative)
    assert (stored.value, stored.text) == (None, "已完成 8 大主題資料")


def test_recording_bumps_the_indicator_for_updated_since(secretariat_client, plan):
    indicator = make_indicator(plan, targets=[(2025, 0, "6.5")])
    Indicator.objects.filter(pk=indicator.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    cutoff = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert names(secretariat_client.get(INDICATORS, {"updated_since": cutoff})) == []

    record(secretariat_client, indicator)

    assert names(secretariat_client.get(INDICATORS, {"updated_since": cutoff})) == [indicator.name]


@pytest.mark.parametrize("client_name", ["lead_client", "reader_client"])
def test_only_the_secretariat_records_actuals(request, plan, tree, client_name):
    client = request.getfixturevalue(client_name)
    plan_level = make_indicator(plan)
    group_level = make_indicator(plan, tree["group"])

    responses = [record(client, plan_level), record(client, group_level)]

    assert [response.status_code for response in responses] == [403, 403]
    assert not IndicatorActual.objects.exists()


def test_sub_project_actuals_cannot_be_recorded_directly(secretariat_client, plan, tree):
    indicator = make_indicator(plan, tree["subproject"])

    response = record(secretariat_client, indicator)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert not IndicatorActual.objects.exists()


def test_a_number_on_a_qualitative_indicator_is_400_naming_value(secretariat_client, plan):
    indicator = make_indicator(plan, measure=Measure.QUALITATIVE)

    response = record(secretariat_client, indicator, value="3", text="完成")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["value"]
    assert not IndicatorActual.objects.exists()


def test_a_numeric_indicator_needs_its_number(secretariat_client, plan):
    indicator = make_indicator(plan)

    response = record(secretariat_client, indicator, value=None, text="大致完成")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["value"]
    assert not IndicatorActual.objects.exists()


@pytest.mark.parametrize(
    ("missing", "overrides"),
    [
        ({"source"}, {"source": None}),
        ({"source"}, {"source": ""}),
        ({"as_of"}, {"as_of": None}),
        ({"source", "as_of"}, {"source": None, "as_of": None}),
        ({"year"}, {"year": None}),
    ],
)
def test_missing_fields_are_400_naming_them(secretariat_client, plan, missing, overrides):
    indicator = make_indicator(plan)

    response = record(secretariat_client, indicator, **overrides)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == missing
    assert not IndicatorActual.objects.exists()


def test_a_quarter_out_of_range_is_400_naming_quarter(secretariat_client, plan):
    indicator = make_indicator(plan)

    response = record(secretariat_client, indicator, quarter=5)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["quarter"]


# ---------------------------------------------------------------------------------------------- actuals from reports


def act(client, response, action, **body):
    result = client.post(
        f"{REPORTS}{response.json()['id']}/{action}/", body, format="json", HTTP_IF_MATCH=response["ETag"]
    )
    assert result.status_code == 200, result.json()
    return result


def edit(client, response, **body):
    result = client.patch(f"{REPORTS}{response.json()['id']}/", body, format="json", HTTP_IF_MATCH=response["ETag"])
    assert result.status_code == 200, result.json()
    return result


def test_sub_project_actuals_come_only_from_accepted_reports(lead_client, secretariat_client, plan, tree):
    subproject = tree["subproject"]
    indicator = make_indicator(plan, subproject, name="開放資料集數", unit="項", targets=[(2024, 0, "1000")])
    qualitative = make_indicator(plan, subproject, name="資料治理成果", measure=Measure.QUALITATIVE)

    def actuals():
        body = lead_client.get(url(indicator), {"on": "2024-09-30"}).json()
        return body["actuals"], body["evaluation"]["actual"]

    # a draft counts for nothing
    draft = file_report_through_api(
        lead_client,
        subproject,
        indicator_values=[{"indicator": indicator.pk, "value": "800"}, {"indicator": qualitative.pk, "text": "草稿"}],
    ).response
    assert actuals() == ([], None)

    # nor does a submitted report
    submitted = act(lead_client, draft, "submit")
    assert actuals() == ([], None)

    # nor a returned one, even when its figure is corrected
    returned = act(secretariat_client, submitted, "return", reason="數值有誤")
    assert actuals() == ([], None)
    fixed = edit(
        lead_client,
        returned,
        indicator_values=[
            {"indicator": indicator.pk, "value": "875"},
            {"indicator": qualitative.pk, "text": "完成 8 大主題"},
        ],
    )
    resubmitted = act(lead_client, fixed, "submit")
    assert actuals() == ([], None)
    assert not IndicatorActual.objects.exists()

    # once accepted, the report's figure is the quarter's actual
    act(secretariat_client, resubmitted, "accept")

    series, evaluated = actuals()
    assert [
        {name: row[name] for name in ("year", "quarter", "value", "text", "is_estimate", "source")} for row in series
    ] == [{"year": 2024, "quarter": 3, "value": "875.0000", "text": "", "is_estimate": False, "source": "季報 2024Q3"}]
    assert evaluated == "875.0000"
    qualitative_series = lead_client.get(url(qualitative)).json()["actuals"]
    assert [(row["quarter"], row["value"], row["text"], row["source"]) for row in qualitative_series] == [
        (3, None, "完成 8 大主題", "季報 2024Q3")
    ]


def test_a_later_draft_does_not_touch_the_accepted_actual(lead_client, secretariat_client, plan, tree):
    subproject = tree["subproject"]
    indicator = make_indicator(plan, subproject, targets=[(2024, 0, "1000")])
    accepted = file_report_through_api(
        lead_client, subproject, indicator_values=[{"indicator": indicator.pk, "value": "875"}]
    ).response
    act(secretariat_client, act(lead_client, accepted, "submit"), "accept")

    file_report_through_api(
        lead_client, subproject, period="2024Q4", indicator_values=[{"indicator": indicator.pk, "value": "990"}]
    )

    assert [(row["quarter"], row["value"]) for row in lead_client.get(url(indicator)).json()["actuals"]] == [
        (3, "875.0000")
    ]


def test_an_accepted_report_bumps_the_indicator_for_updated_since(lead_client, secretariat_client, plan, tree):
    subproject = tree["subproject"]
    indicator = make_indicator(plan, subproject, targets=[(2024, 0, "1000")])
    Indicator.objects.filter(pk=indicator.pk).update(updated_at=timezone.now() - datetime.timedelta(days=30))
    cutoff = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    draft = file_report_through_api(
        lead_client, subproject, indicator_values=[{"indicator": indicator.pk, "value": "875"}]
    ).response

    act(secretariat_client, act(lead_client, draft, "submit"), "accept")

    assert names(lead_client.get(INDICATORS, {"updated_since": cutoff})) == [indicator.name]


def test_a_report_cannot_give_a_qualitative_indicator_a_number(lead_client, plan, tree):
    qualitative = make_indicator(plan, tree["subproject"], measure=Measure.QUALITATIVE)

    response = lead_client.post(
        REPORTS,
        report_body(tree["subproject"], indicator_values=[{"indicator": qualitative.pk, "value": "3"}]),
        format="json",
    )

    assert response.status_code == 400
    assert "indicator_values" in response.json()["errors"]
