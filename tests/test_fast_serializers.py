"""The planned ``to_representation`` gives exactly DRF's output, row for row, on the demo data; the API's
answers are the bytes DRF writes, role by role."""

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_issue
from gstp.serializers import FastRepresentationMixin
from indicators.selectors import indicator_list
from indicators.serializers import IndicatorSerializer
from projects.selectors import agency_list, milestone_list, plan_list
from projects.serializers import AgencySerializer, MilestoneSerializer, PlanSerializer
from reviews.flag_serializers import FlagSerializer, PublicFlagSerializer
from reviews.models import QuarterlyReport, ReportEvent
from reviews.project_apis import ProjectSerializer
from reviews.selectors import attach_baselines, flag_list, node_list, report_list
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


# The fast read path as a whole answers, byte for byte, what DRF itself writes, for every role: DRF's own
# JSONRenderer over DRF's own ``to_representation``. Each role reads every collection at 500 rows a page and the
# details of reports and sub-projects it sees, first with nothing cached and again with every representation
# cached, the secretariat first: so a representation cached for one role is read by the next, and would show if
# it carried a field that role does not see. Conditional reads get the 304 Django's conditional GET makes of
# the full answer.

# The secretariat first: it sees every report, so it fills the cache the others then read.
ROLES = ("secretariat", "moda-lead", "moda-reviewer", "moea-lead", "portal")
COLLECTIONS = (
    "reports",
    "projects",
    "milestones",
    "indicators",
    "flags",
    "budgets",
    "revisions",
    "agencies",
    "plans",
    "locks",
    "assessments",
)
DETAILS_PER_ROLE = 30


def drf_bytes(data) -> bytes:
    return JSONRenderer().render(data)


def client_for(username) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=User.objects.get(username=username))}")
    return client


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_collection_is_written_as_drfs_renderer_writes_it(db, collection):
    for username in ROLES:
        response = client_for(username).get(f"/api/v1/{collection}/", {"page_size": 500})
        assert response.status_code == 200, (username, collection)
        assert response.content == drf_bytes(response.data), (username, collection)


def test_report_and_sub_project_details_are_drfs_bytes_for_every_role_cold_and_cached(db):
    # Reports every role sees (the accepted ones the reader sees), then each role's own first ones.
    shared = list(report_list(user=User.objects.get(username="portal")).values_list("pk", flat=True)[:20])
    compared = 0
    for username in ROLES:
        user = User.objects.get(username=username)
        client = client_for(username)
        visible = report_list(user=user)
        # Each role reads the reports the roles before it had cached, and its own.
        reports = [*visible.filter(pk__in=shared), *visible.exclude(pk__in=shared).order_by("pk")[:DETAILS_PER_ROLE]]
        assert len(reports[: len(shared)]) == len(shared) == 20 and {r.pk for r in reports[:20]} == set(shared)
        nodes = list(node_list(user=user).filter(kind="subproject").order_by("pk")[:DETAILS_PER_ROLE])
        attach_baselines(nodes, as_of=None)
        expected = {f"/api/v1/reports/{r.pk}/": drf_bytes(drf_output(ReportSerializer(r), r)) for r in reports}
        expected |= {f"/api/v1/projects/{n.pk}/": drf_bytes(drf_output(ProjectSerializer(n), n)) for n in nodes}
        for path, body in expected.items():
            for attempt in ("first", "again"):
                response = client.get(path)
                assert response.status_code == 200, (username, path)
                assert response.content == body, (username, path, attempt)
                compared += 1
    assert compared >= 2 * 2 * DETAILS_PER_ROLE * len(ROLES)


def test_a_detail_read_revalidated_gets_the_304_of_its_full_answer(db):
    client = client_for("moda-lead")
    user = User.objects.get(username="moda-lead")
    report = report_list(user=user).order_by("pk").first()
    path = f"/api/v1/reports/{report.pk}/"
    full = client.get(path)
    assert full.status_code == 200 and full["ETag"] == report.etag

    for headers in ({"HTTP_IF_NONE_MATCH": full["ETag"]}, {"HTTP_IF_MODIFIED_SINCE": full["Last-Modified"]}):
        unchanged = client.get(path, **headers)
        assert unchanged.status_code == 304 and unchanged.content == b""
        for header in ("ETag", "Last-Modified", "Vary"):
            assert unchanged[header] == full[header], header

    for stale in (f'"{report.pk}-{report.version + 1}"', '"0-1"', "W/" + full["ETag"] + "x"):
        assert client.get(path, HTTP_IF_NONE_MATCH=stale).content == full.content
    # A HEAD is answered whole, as Django's conditional GET answers it.
    assert client.head(path, HTTP_IF_NONE_MATCH=full["ETag"]).status_code == 200
