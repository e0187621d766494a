"""The planned ``to_representation`` gives exactly DRF's output, row for row, on the demo data."""

import pytest
from django.utils import timezone

from accounts.models import User
from gstp.serializers import FastRepresentationMixin
from indicators.selectors import indicator_list
from indicators.serializers import IndicatorSerializer
from projects.selectors import agency_list, milestone_list, plan_list
from projects.serializers import AgencySerializer, MilestoneSerializer, PlanSerializer
from reviews.flag_serializers import FlagSerializer, PublicFlagSerializer
from reviews.models import QuarterlyReport, ReportEvent
from reviews.project_apis import ProjectSerializer
from reviews.selectors import flag_list, node_list, report_list
from reviews.serializers import ReportEventSerializer, ReportSerializer
from tests.test_openapi_responses import demo  # noqa: F401 - the demo data, seeded once for this module

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo")]


def drf_output(serializer, instance):
    """What DRF's own ``Serializer.to_representation`` answers, skipping the planned one."""
    return super(FastRepresentationMixin, serializer).to_representation(instance)


def assert_same_as_drf(serializer_class, instances, minimum):
    compared = 0
    for instance in instances:
        serializer = serializer_class(instance)
        assert serializer.to_representation(instance) == drf_output(serializer, instance)
        compared += 1
    assert compared >= minimum


@pytest.fixture
def secretariat(db):
    return User.objects.get(username="secretariat")


def test_reports_as_drf_writes_them(secretariat):
    # Every status, with and without figures, entries and values, as the list reads them and as a bare row.
    assert_same_as_drf(ReportSerializer, report_list(user=secretariat), 1000)
    assert_same_as_drf(ReportSerializer, QuarterlyReport.objects.all()[:50], 50)
    assert_same_as_drf(ReportEventSerializer, ReportEvent.objects.select_related("actor")[:500], 500)


def test_plan_tree_agencies_and_milestones_as_drf_writes_them(secretariat):
    assert_same_as_drf(ProjectSerializer, node_list(user=secretariat), 150)
    assert_same_as_drf(AgencySerializer, agency_list(user=secretariat), 10)
    assert_same_as_drf(PlanSerializer, plan_list(user=secretariat), 1)
    assert_same_as_drf(MilestoneSerializer, milestone_list(user=secretariat), 100)


def test_flags_and_indicators_as_drf_writes_them(secretariat):
    assert_same_as_drf(FlagSerializer, flag_list(user=secretariat), 50)
    assert_same_as_drf(PublicFlagSerializer, flag_list(user=secretariat), 50)
    assert_same_as_drf(IndicatorSerializer, indicator_list(user=secretariat), 20)


def test_date_times_follow_the_active_time_zone(db):
    report = QuarterlyReport.objects.exclude(submitted_at=None).first()

    with timezone.override("UTC"):
        serializer = ReportSerializer(report)
        utc, utc_by_drf = serializer.to_representation(report), drf_output(serializer, report)
    taipei = ReportSerializer(report).to_representation(report)

    assert utc == utc_by_drf
    assert utc["submitted_at"].endswith("Z")
    assert taipei["submitted_at"].endswith("+08:00")
