"""The demo's recorded history: the dashboard as of the end of each past quarter shows what lagged then."""

import io

import pytest
from django.core.management import call_command

from projects.models import Plan
from reviews.demo import demo_calendar, shifted
from reviews.periods import today

LIGHTS = "/api/v1/lights/"


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=io.StringIO())


def test_the_lights_as_of_the_end_of_each_past_quarter_differ(demo, secretariat_client):
    plan = Plan.objects.get()
    latest = demo_calendar(today(), due_days=plan.report_due_days).latest
    quarters = [shifted(latest, -back) for back in (4, 3, 2, 1, 0)]
    lights = []
    for quarter in quarters:
        response = secretariat_client.get(LIGHTS, {"plan": plan.pk, "by": "plan", "as_of": quarter.end.isoformat()})
        assert response.status_code == 200, response.content
        (row,) = response.json()
        lights.append((row["red"], row["yellow"], row["green"]))
    assert all(total == sum(lights[0]) for total in map(sum, lights))  # every sub-project stood from the start
    assert all(before != after for before, after in zip(lights, lights[1:], strict=False)), dict(
        zip(map(str, quarters), lights, strict=True)
    )
    now = secretariat_client.get(LIGHTS, {"plan": plan.pk, "by": "plan"}).json()[0]
    assert (now["red"], now["yellow"]) != (0, 0)
    # the dashboard's groups stood then too, their counts adding up to the plan's
    groups = secretariat_client.get(LIGHTS, {"plan": plan.pk, "by": "group", "as_of": quarters[0].end.isoformat()})
    assert [row["name"] for row in groups.json()] == ["數位基盤分組", "數位創新分組", "數位治理分組", "數位包容分組"]
    assert sum(row["red"] + row["yellow"] + row["green"] for row in groups.json()) == sum(lights[0])
