"""Indicators from the 2024 results report: the overall table (總體指標) and the groups' main performance targets
(主要績效目標), as the API shows them after the demo data and a revised import (after an import of the report
and a second one: test_indicator_seed.py)."""

import datetime
import io
from decimal import Decimal

from django.core.management import call_command
from django.utils import timezone

from indicators.models import Indicator
from indicators.services import outline_import
from projects.models import Plan
from projects.outline import read_outline
from tests.conftest import REPO_ROOT

INDICATORS = "/api/v1/indicators/"
SHIPPED_OUTLINE = REPO_ROOT / "projects" / "data" / "smart-nation-2024.json"

# The report's table, in its order: dimension, name, unit, 2025 target, 2024 result, result is an estimate, met.
OVERALL_TABLE = [
    ("創新數位經濟", "數位經濟規模", "兆元", "6.5", "9.3", True, True),
    ("創新數位經濟", "數位服務經濟規模", "兆元", "2.9", "4.2", True, True),
    ("活躍網路社會", "數位生活服務使用普及率", "%", "80", "78.2", False, False),
    ("活躍網路社會", "民眾具備個人數位競爭力人口占比", "%", "60", "61.6", False, True),
    ("優勢寬頻環境", "高速網路寬頻服務達 2Gbps 涵蓋率", "%", "90", "83.3", False, False),
    ("優勢寬頻環境", "5G 網路非偏鄉人口涵蓋率", "%", "85", "98.15", False, True),
]


def overall_table(client, plan):
    response = client.get(f"/api/v1/plans/{plan.pk}/indicators/")
    assert response.status_code == 200, response.json()
    rows = response.json()
    for row in rows:
        assert (row["target_year"], row["result_year"]) == (2025, 2024), row
    return [
        (
            row["dimension"],
            row["name"],
            row["unit"],
            Decimal(row["target"]),
            Decimal(row["result"]),
            row["result_is_estimate"],
            row["met"],
        )
        for row in rows
    ]


def expected_table():
    return [
        (dimension, name, unit, Decimal(target), Decimal(result), estimate, met)
        for dimension, name, unit, target, result, estimate, met in OVERALL_TABLE
    ]


def test_shipped_data_loaded_by_seed_demo_gives_the_same_overall_table(reader_client, db):
    assert not Plan.objects.exists()

    call_command("seed_demo", stdout=io.StringIO())

    plan = Plan.objects.get()
    assert overall_table(reader_client, plan) == expected_table()
    group_targets = reader_client.get(INDICATORS, {"plan": plan.pk, "owner": "group"}).json()["results"]
    assert len(group_targets) == 7
    assert [row["key"].rsplit("/", 1)[1] for row in group_targets if row["measure"] != "qualitative"] == ["3", "4"]


def test_a_revised_result_bumps_the_indicator_for_updated_since(reader_client, db):
    document = read_outline(SHIPPED_OUTLINE)
    result = outline_import(document=document)
    Indicator.objects.update(updated_at=timezone.now() - datetime.timedelta(days=30))
    cutoff = (timezone.now() - datetime.timedelta(days=1)).isoformat()

    document.indicators[2].result_value = Decimal("80.5")  # 數位生活服務使用普及率, revised
    outline_import(document=document)

    changed = reader_client.get(INDICATORS, {"plan": result.plan.pk, "updated_since": cutoff}).json()["results"]
    assert [row["name"] for row in changed] == ["數位生活服務使用普及率"]
