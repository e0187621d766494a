"""The dashboard narrowed to one control level (列管等級): its lights, its flag queue and its review queue show
the sub-projects of that level only, as ``/api/v1/lights/`` and ``/api/v1/flags/`` filtered by it do."""

import re

import pytest
from rest_framework.test import APIClient

from projects.models import ControlLevel, PlanNode
from reviews.models import LagRule, ReportStatus, Severity
from tests.console.conftest import make_flag
from tests.reviews.factories import report_in_status

EY = ControlLevel.EXECUTIVE_YUAN


def html_of(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def flag_ids(html) -> list[int]:
    return sorted(int(pk) for pk in re.findall(r'<article class="flag flag--\w+" id="flag-(\d+)"', html))


def totals(html) -> dict[str, int]:
    shown = re.search(r'<p class="totals" id="lights-total">(.*?)</p>', html, re.S).group(1)
    return {key: int(value) for key, value in re.findall(r'data-count="(\w+)">(\d+)<', shown)}


@pytest.fixture
def watched(world):
    """The first sub-project at 院列管 with a red and a yellow flag; the others at 自行列管, one flagged."""
    PlanNode.objects.filter(pk=world.subproject.pk).update(control_level=EY)
    return [
        make_flag(world.subproject, severity=Severity.RED, rule=LagRule.LATE_REPORT),
        make_flag(world.subproject, severity=Severity.YELLOW),
        make_flag(world.other_subproject, severity=Severity.YELLOW, rule=LagRule.BUDGET_EXECUTION),
    ]


def test_the_dashboard_narrowed_to_a_level_counts_and_lists_its_sub_projects_only(secretariat, world, watched):
    api = APIClient()
    api.force_authenticate(world.secretariat)

    everything = html_of(secretariat.get("/dashboard/"))
    narrowed = html_of(secretariat.get("/dashboard/", {"control_level": EY}))

    assert totals(everything) == {"red": 1, "yellow": 1, "green": 1}
    assert totals(narrowed) == {"red": 1, "yellow": 0, "green": 0}
    (lights,) = api.get("/api/v1/lights/", {"plan": world.plan.pk, "by": "plan", "control_level": EY}).json()
    assert (lights["red"], lights["yellow"], lights["green"]) == (1, 0, 0)
    assert flag_ids(everything) == sorted(flag.pk for flag in watched)
    assert flag_ids(narrowed) == sorted(flag.pk for flag in watched[:2])
    through_api = api.get("/api/v1/flags/", {"control_level": EY, "status": ["open", "acknowledged"]}).json()
    assert flag_ids(narrowed) == sorted(row["id"] for row in through_api["results"])


def test_the_level_is_a_select_in_zh_hant_kept_by_the_flag_filters(secretariat, world, watched):
    html = html_of(secretariat.get("/dashboard/", {"control_level": EY}))

    select = re.search(r'<select name="control_level".*?</select>', html, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select) == ["全部列管等級", "院列管", "部會列管", "自行列管"]
    assert re.search(r'<option value="executive_yuan" selected>', select)
    assert '<input type="hidden" name="control_level" value="executive_yuan">' in html
    assert "列管等級" in html


def test_the_review_queue_is_narrowed_too(secretariat, world, watched):
    waiting = report_in_status(node=world.other_subproject, status=ReportStatus.SUBMITTED)

    assert f"report-{waiting.pk}" in html_of(secretariat.get("/dashboard/"))
    assert f"report-{waiting.pk}" not in html_of(secretariat.get("/dashboard/", {"control_level": EY}))


def test_an_unknown_level_narrows_nothing(secretariat, world, watched):
    html = html_of(secretariat.get("/dashboard/", {"control_level": "cabinet"}))

    assert totals(html) == {"red": 1, "yellow": 1, "green": 1}
