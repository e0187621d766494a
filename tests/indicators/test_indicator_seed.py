"""Indicators from the 2024 results report: the overall table (總體指標) and the groups' main performance targets
(主要績效目標), as the API shows them after an import, and a second import that changes none."""

import pytest

from indicators.models import Indicator, IndicatorActual, IndicatorTarget
from indicators.services import outline_import
from projects.models import NodeKind, PlanNode
from projects.outline import read_outline
from tests.conftest import SEED_REPORT
from tests.support.module_data import data_for_the_module

from .test_indicator_import import INDICATORS, OVERALL_TABLE, expected_table, overall_table


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The 2024 report imported once for the module (tests/support/module_data.py): each test starts from it."""
    if not SEED_REPORT.exists():
        pytest.skip(f"the seed report is not at {SEED_REPORT}")
    with data_for_the_module(django_db_blocker):
        yield outline_import(document=read_outline(SEED_REPORT))


@pytest.fixture
def seed_import(seeded, db):
    return seeded


def test_seed_reproduces_the_overall_indicator_table(reader_client, seed_import):
    table = overall_table(reader_client, seed_import.plan)

    assert table == expected_table()
    assert [name for _, name, *_, met in table if met is False] == [
        "數位生活服務使用普及率",
        "高速網路寬頻服務達 2Gbps 涵蓋率",
    ]


def test_seed_overall_indicators_are_plan_level_rows_of_the_list(reader_client, seed_import):
    response = reader_client.get(INDICATORS, {"plan": seed_import.plan.pk, "owner": "plan"})

    rows = response.json()["results"]
    assert [row["name"] for row in rows] == [name for _, name, *_ in OVERALL_TABLE]
    assert [row["measure"] for row in rows] == ["number", "number"] + ["percentage"] * 4
    assert {(row["owner"], row["project"]) for row in rows} == {("plan", None)}
    economy = rows[0]
    assert economy["targets"] == [{"year": 2025, "quarter": 0, "value": "6.5000"}]
    assert [(a["year"], a["quarter"], a["value"], a["is_estimate"]) for a in economy["actuals"]] == [
        (2024, 0, "9.3000", True)
    ]


def test_seed_group_targets_are_group_level_indicators(reader_client, seed_import):
    governance = PlanNode.objects.get(plan=seed_import.plan, kind=NodeKind.GROUP, title="數位治理分組")

    response = reader_client.get(INDICATORS, {"plan": seed_import.plan.pk, "owner": "group"})

    rows = response.json()["results"]
    assert len(rows) == 7
    assert {(row["owner"], row["project"]) for row in rows} == {("group", governance.pk)}
    assert [row["key"] for row in rows] == [f"{governance.outline_key}/target/{number}" for number in range(1, 8)]
    numeric = {row["key"].rsplit("/", 1)[1]: row for row in rows if row["measure"] != "qualitative"}
    assert set(numeric) == {"3", "4"}

    third, fourth = numeric["3"], numeric["4"]
    assert (third["name"], third["measure"], third["unit"]) == ("改善政府數位施政效能及為民服務品質", "number", "項")
    assert third["targets"] == [{"year": 2024, "quarter": 0, "value": "43.0000"}]
    assert (fourth["name"], fourth["measure"], fourth["unit"]) == ("推升服務型智慧政府", "percentage", "%")
    assert fourth["targets"] == [{"year": 2024, "quarter": 0, "value": "54.0000"}]
    for row, target in ((third, "43.0000"), (fourth, "54.0000")):
        assert (row["evaluation"]["target_year"], row["evaluation"]["target"]) == (2024, target)
        assert row["evaluation"]["actual"] == target
        assert row["evaluation"]["status"] == "met"

    qualitative = [row for row in rows if row["measure"] == "qualitative"]
    assert len(qualitative) == 5
    for row in qualitative:
        assert row["targets"] == []
        assert row["evaluation"]["status"] == "qualitative"
        assert all(actual["value"] is None for actual in row["actuals"])
    assert qualitative[0]["name"] == "政府機關每年至少發展 3 項高價值資料集及建立資料應用典範"

    # the same as of the report's year end
    at_year_end = reader_client.get(
        INDICATORS, {"plan": seed_import.plan.pk, "owner": "group", "status": "met", "on": "2024-12-31"}
    )
    assert sorted(row["key"] for row in at_year_end.json()["results"]) == [third["key"], fourth["key"]]


def test_importing_the_seed_twice_changes_no_indicator(reader_client, seed_import, seed_report_path):
    def snapshot():
        return (
            list(Indicator.objects.order_by("pk").values_list("pk", "key", "updated_at", "position")),
            list(IndicatorTarget.objects.order_by("pk").values_list("pk", "indicator_id", "year", "quarter", "value")),
            list(
                IndicatorActual.objects.order_by("pk").values_list(
                    "pk", "indicator_id", "year", "quarter", "value", "text", "is_estimate", "recorded_at"
                )
            ),
        )

    before = snapshot()
    table_before = reader_client.get(f"/api/v1/plans/{seed_import.plan.pk}/indicators/").json()
    list_before = reader_client.get(INDICATORS, {"page_size": 500}).json()

    again = outline_import(document=read_outline(seed_report_path))

    assert (again.created, again.updated) == (0, 0)
    assert again.plan.pk == seed_import.plan.pk
    assert snapshot() == before
    assert len(before[0]) == 6 + 7
    assert reader_client.get(f"/api/v1/plans/{seed_import.plan.pk}/indicators/").json() == table_before
    assert reader_client.get(INDICATORS, {"page_size": 500}).json() == list_before
