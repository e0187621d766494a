"""Plan revisions (計畫修正) over the API: the lifecycle with and without the ministry level, who may take each
step (four eyes included), scoping, validation naming the field in both languages, what approval writes (the
live fields and the next baseline version, the original kept), and the baselines on projects and milestones."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from indicators.models import IndicatorTarget
from projects.models import BudgetYear, Milestone, PlanNode
from reviews import access, services
from reviews.models import Baseline, OutboxMessage, PlanRevision, ReportStatus, RevisionEvent, RevisionStatus
from reviews.periods import Quarter
from tests.accounts.factories import lead_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import MilestoneFactory, PlanFactory, SubprojectFactory, make_tree

from .factories import LagSettingsFactory, report_in_status

REVISIONS = "/api/v1/revisions/"


@pytest.fixture
def plan(db):
    return PlanFactory(code="smart-nation")


@pytest.fixture
def chained_plan(db):
    plan = PlanFactory(code="chained")
    LagSettingsFactory(plan=plan, endorsement_required=True)
    return plan


def _subproject(plan, agency):
    _group, _strategy, measure, (node,) = make_tree(plan, lead_agency=agency)
    MilestoneFactory(node=node, title="需求訪談", planned_date=datetime.date(2024, 3, 31), weight=Decimal(40))
    MilestoneFactory(node=node, title="系統上線", planned_date=datetime.date(2025, 6, 30), weight=Decimal(60))
    BudgetYear.objects.create(node=node, year=2025, appropriation=Decimal(1000), allocation_q1=Decimal(250))
    return node


@pytest.fixture
def node(plan, agency):
    return _subproject(plan, agency)


@pytest.fixture
def chained_node(chained_plan, agency):
    return _subproject(chained_plan, agency)


def request_body(node, **changes):
    return {"project": node.pk, "reason": "採購流標，需展延", **(changes or {"end_date": "2026-06-30"})}


def request(client, node, **changes):
    return client.post(REVISIONS, request_body(node, **changes), format="json")


def step(client, revision_id, name, body=None, etag=None):
    if etag is None:
        etag = PlanRevision.objects.get(pk=revision_id).etag
    return client.post(f"{REVISIONS}{revision_id}/{name}/", body or {}, format="json", HTTP_IF_MATCH=etag)


def stored(revision_id) -> PlanRevision:
    return PlanRevision.objects.get(pk=revision_id)


# --------------------------------------------------------------------------- the lifecycle


def test_a_lead_requests_and_the_secretariat_approves_a_new_baseline(node, lead_client, secretariat_client):
    milestone = node.milestones.get(title="系統上線")
    response = request(
        lead_client,
        node,
        end_date="2026-06-30",
        milestones=[{"milestone": milestone.pk, "planned_date": "2026-03-31"}],
        budgets=[{"year": 2025, "appropriation": "800", "allocation_q1": "200", "allocation_q2": "200"}],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested"
    assert response["ETag"] == body["etag"]
    assert response["Location"].endswith(f"{REVISIONS}{body['id']}/")
    # the original plan is recorded at the first request, before anything could move it
    original = Baseline.objects.get(node=node, version=1)
    assert original.content["end_date"] == "2025-12-31"

    approved = step(secretariat_client, body["id"], "approve", {"reason": "同意展延"})

    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["baseline_version"] == 2
    node.refresh_from_db()
    assert node.end_date == datetime.date(2026, 6, 30)
    assert Milestone.objects.get(pk=milestone.pk).planned_date == datetime.date(2026, 3, 31)
    budget = BudgetYear.objects.get(node=node, year=2025)
    assert (budget.appropriation, budget.allocation_q1, budget.allocation_q2) == (800, 200, 200)
    second = Baseline.objects.get(node=node, version=2)
    assert second.revision_id == body["id"]
    assert second.content["end_date"] == "2026-06-30"
    assert second.content["budgets"] == [
        {"year": 2025, "appropriation": "800", "allocations": ["200", "200", "0", "0"]}
    ]
    # the sub-project is scanned against its new baseline once this commits
    assert OutboxMessage.objects.filter(task="reviews.scan_lagging", kwargs={"node_ids": [node.pk]}).exists()
    history = lead_client.get(f"{REVISIONS}{body['id']}/history/").json()
    assert [(e["action"], e["to_status"]) for e in history] == [("request", "requested"), ("approve", "approved")]


def test_the_original_baseline_is_never_lost(node, lead_client, secretariat_client):
    for end in ("2026-03-31", "2026-09-30", "2027-03-31"):
        revision = request(lead_client, node, end_date=end).json()
        assert step(secretariat_client, revision["id"], "approve").status_code == 200

    versions = list(Baseline.objects.filter(node=node).order_by("version").values_list("version", "content__end_date"))
    assert versions == [(1, "2025-12-31"), (2, "2026-03-31"), (3, "2026-09-30"), (4, "2027-03-31")]
    original = Baseline.objects.get(node=node, version=1)
    with pytest.raises(ValueError):
        original.delete()
    with pytest.raises(ValueError):
        original.save()
    listed = lead_client.get(f"/api/v1/projects/{node.pk}/baselines/").json()
    assert [v["version"] for v in listed] == [1, 2, 3, 4]
    assert listed[0]["content"]["end_date"] == "2025-12-31"
    detail = lead_client.get(f"/api/v1/projects/{node.pk}/").json()
    assert detail["baseline"] == {
        "version": 4,
        "original": {"start_date": "2021-01-01", "end_date": "2025-12-31"},
        "current": {"start_date": "2021-01-01", "end_date": "2027-03-31"},
    }


def test_with_the_ministry_level_the_reviewer_endorses_first(
    chained_node, lead_client, reviewer_client, secretariat_client
):
    revision = request(lead_client, chained_node).json()

    early = step(secretariat_client, revision["id"], "approve")
    endorsed = step(reviewer_client, revision["id"], "endorse")
    approved = step(secretariat_client, revision["id"], "approve")

    assert early.status_code == 409
    assert endorsed.status_code == 200 and endorsed.json()["status"] == "endorsed"
    assert endorsed.json()["endorsed_by"] == "reviewer"
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_without_the_ministry_level_nothing_waits_for_the_reviewer(node, lead_client, reviewer_client):
    revision = request(lead_client, node).json()

    assert step(reviewer_client, revision["id"], "endorse").status_code == 409
    assert step(reviewer_client, revision["id"], "reject", {"reason": "不同意"}).status_code == 409


def test_rejection_needs_a_reason_and_leaves_the_baseline(chained_node, lead_client, reviewer_client):
    revision = request(lead_client, chained_node).json()

    without = step(reviewer_client, revision["id"], "reject", {"reason": " "})
    rejected = step(reviewer_client, revision["id"], "reject", {"reason": "展延理由不足"})

    assert without.status_code == 400 and "reason" in without.json()["errors"]
    assert rejected.status_code == 200
    assert rejected.json()["decision_reason"] == "展延理由不足"
    chained_node.refresh_from_db()
    assert chained_node.end_date == datetime.date(2025, 12, 31)
    assert not Baseline.objects.filter(node=chained_node, version=2).exists()


def test_the_lead_edits_while_requested_and_withdraws_before_a_decision(chained_node, lead_client, reviewer_client):
    revision = request(lead_client, chained_node).json()
    url = f"{REVISIONS}{revision['id']}/"

    stale = lead_client.patch(url, {"end_date": "2026-09-30"}, format="json", HTTP_IF_MATCH='"1-99"')
    missing = lead_client.patch(url, {"end_date": "2026-09-30"}, format="json")
    edited = lead_client.patch(url, {"end_date": "2026-09-30"}, format="json", HTTP_IF_MATCH=revision["etag"])

    assert (stale.status_code, missing.status_code) == (412, 428)
    assert edited.status_code == 200, edited.content
    assert edited.json()["end_date"] == "2026-09-30"
    assert step(reviewer_client, revision["id"], "endorse").status_code == 200
    # endorsed: no more edits, but it can still be withdrawn
    assert (
        lead_client.patch(url, {"reason": "x"}, format="json", HTTP_IF_MATCH=stored(revision["id"]).etag).status_code
        == 409
    )
    withdrawn = step(lead_client, revision["id"], "withdraw", {"reason": "改以下年度辦理"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert step(lead_client, revision["id"], "withdraw").status_code == 409
    actions = list(RevisionEvent.objects.filter(revision_id=revision["id"]).values_list("action", flat=True))
    assert actions == ["request", "update", "endorse", "withdraw"]


def test_one_open_revision_at_a_time(node, lead_client):
    assert request(lead_client, node).status_code == 201
    second = request(lead_client, node, end_date="2026-12-31")
    assert second.status_code == 409


def test_a_retried_request_with_its_idempotency_key_is_answered_once(node, lead_client):
    body = request_body(node)
    first = lead_client.post(REVISIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="rev-1")
    again = lead_client.post(REVISIONS, body, format="json", HTTP_IDEMPOTENCY_KEY="rev-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert PlanRevision.objects.filter(node=node).count() == 1


# --------------------------------------------------------------------------- who may act


def test_four_eyes_the_requester_never_decides(node, agency, secretariat_client):
    requester = lead_user(agency, "lead-then-secretariat")
    revision = services.revision_request(
        actor=requester, node=node, reason="展延", changes={"end_date": datetime.date(2026, 6, 30)}
    )
    requester.role = secretariat_client.user.role
    requester.agency = None
    requester.save()

    with pytest.raises(PermissionDenied):
        services.revision_approve(actor=requester, revision=revision, expected_version=revision.version)
    with pytest.raises(PermissionDenied):
        services.revision_reject(actor=requester, revision=revision, expected_version=revision.version, reason="x")
    assert access.revision_actions(requester, revision) == frozenset()


@pytest.mark.parametrize(
    ("who", "name", "expected"),
    [
        ("lead", "approve", 403),
        ("lead", "endorse", 403),
        ("lead", "reject", 403),
        ("reviewer", "approve", 403),
        ("reviewer", "withdraw", 403),
        ("secretariat", "endorse", 403),
        ("secretariat", "withdraw", 403),
        ("other_lead", "withdraw", 404),
        ("other_lead", "approve", 404),
        ("other_reviewer", "endorse", 404),
        ("reader", "approve", 404),
    ],
)
def test_who_may_take_each_step(chained_node, lead_client, request_fixture, who, name, expected):
    revision = request(lead_client, chained_node).json()
    client = request_fixture(f"{who}_client")

    response = step(client, revision["id"], name, {"reason": "理由"})

    assert response.status_code == expected, response.content
    assert stored(revision["id"]).status == RevisionStatus.REQUESTED


@pytest.fixture
def request_fixture(request):
    return request.getfixturevalue


def test_only_leads_of_the_sub_project_request(
    node, other_lead_client, reviewer_client, secretariat_client, reader_client
):
    for client in (other_lead_client, reviewer_client, secretariat_client, reader_client):
        response = request(client, node)
        assert response.status_code == 403, client.user.username
    assert not PlanRevision.objects.exists()


def test_scoping_out_of_scope_revisions_are_404(
    node,
    plan,
    lead_client,
    other_lead_client,
    reader_client,
    reviewer_client,
    other_reviewer_client,
    secretariat_client,
):
    pending = request(lead_client, node).json()

    assert other_lead_client.get(f"{REVISIONS}{pending['id']}/").status_code == 404
    assert other_reviewer_client.get(f"{REVISIONS}{pending['id']}/").status_code == 404
    assert reader_client.get(f"{REVISIONS}{pending['id']}/").status_code == 404
    assert reviewer_client.get(f"{REVISIONS}{pending['id']}/").status_code == 200
    assert secretariat_client.get(f"{REVISIONS}?status=requested").json()["count"] == 1
    assert other_lead_client.get(REVISIONS).json()["count"] == 0

    step(secretariat_client, pending["id"], "approve")

    # approved revisions are the baseline in force: everyone signed in reads them, not their history
    assert reader_client.get(f"{REVISIONS}{pending['id']}/").status_code == 200
    assert reader_client.get(f"{REVISIONS}{pending['id']}/history/").status_code == 404
    assert other_lead_client.get(f"{REVISIONS}?project={node.pk}").json()["count"] == 1


def test_filters_and_queue(node, chained_node, plan, agency, lead_client, reviewer_client, secretariat_client):
    first = request(lead_client, node).json()
    second = request(lead_client, chained_node).json()

    assert [r["id"] for r in secretariat_client.get(f"{REVISIONS}?plan={plan.pk}").json()["results"]] == [first["id"]]
    assert secretariat_client.get(f"{REVISIONS}?agency={agency.pk}").json()["count"] == 2
    assert [r["id"] for r in reviewer_client.get(f"{REVISIONS}awaiting-decision/").json()["results"]] == [second["id"]]
    assert [r["id"] for r in secretariat_client.get(f"{REVISIONS}awaiting-decision/").json()["results"]] == [
        first["id"]
    ]


# --------------------------------------------------------------------------- validation


def test_invalid_changes_are_400_naming_the_field(node, agency, lead_client):
    foreign = MilestoneFactory(node=SubprojectFactory(lead_agency=agency))
    indicator = IndicatorFactory(plan=node.plan)  # a plan-level indicator, not the sub-project's
    own = node.milestones.first()

    cases = {
        "end_date": {"end_date": "2020-01-01"},
        "milestones": {"milestones": [{"milestone": foreign.pk, "planned_date": "2025-01-01"}]},
        "budgets": {"budgets": [{"year": 2025, "appropriation": "100", "allocation_q1": "80", "allocation_q2": "80"}]},
        "indicator_targets": {"indicator_targets": [{"indicator": indicator.pk, "year": 2025, "value": "10"}]},
        "non_field_errors": {"end_date": None},
    }
    for field, changes in cases.items():
        response = request(lead_client, node, **changes)
        assert response.status_code == 400, (field, response.content)
        assert field in response.json()["errors"], (field, response.json())

    weights = request(lead_client, node, milestones=[{"milestone": own.pk, "weight": "10"}])
    assert "100" in str(weights.json()["errors"]["milestones"])
    zh = lead_client.post(
        REVISIONS, request_body(node, end_date="2020-01-01"), format="json", HTTP_ACCEPT_LANGUAGE="zh-Hant"
    )
    en = lead_client.post(
        REVISIONS, request_body(node, end_date="2020-01-01"), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "start date" in str(en.json()["errors"]["end_date"])
    assert "開始日期" in str(zh.json()["errors"]["end_date"])
    assert not PlanRevision.objects.exists()
    assert not Baseline.objects.exists()


def test_indicator_targets_are_revised(node, lead_client, secretariat_client):
    indicator = IndicatorFactory(node=node, targets=[(2025, 0, "100")])
    revision = request(lead_client, node, indicator_targets=[{"indicator": indicator.pk, "year": 2025, "value": "80"}])
    assert revision.status_code == 201, revision.content

    assert step(secretariat_client, revision.json()["id"], "approve").status_code == 200

    assert IndicatorTarget.objects.get(indicator=indicator, year=2025, quarter=0).value == Decimal(80)
    original = Baseline.objects.get(node=node, version=1).content["indicator_targets"]
    assert original == [{"indicator": indicator.pk, "year": 2025, "quarter": 0, "value": "100.0000"}]


# --------------------------------------------------------------------------- baselines on projects and milestones


def test_milestones_show_their_original_and_current_dates_without_n_plus_one(
    node, lead_client, secretariat_client, django_assert_num_queries, agency
):
    milestone = node.milestones.get(title="系統上線")
    revision = request(lead_client, node, milestones=[{"milestone": milestone.pk, "planned_date": "2025-09-30"}]).json()
    step(secretariat_client, revision["id"], "approve")

    body = lead_client.get(f"/api/v1/milestones/{milestone.pk}/").json()
    assert body["baseline"] == {
        "version": 2,
        "original": {"planned_date": "2025-06-30", "weight": "60.00"},
        "current": {"planned_date": "2025-09-30", "weight": "60.00"},
    }

    def count(url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert lead_client.get(url).status_code == 200
        return len(queries)

    few_milestones, few_projects = count("/api/v1/milestones/"), count("/api/v1/projects/?kind=subproject")
    for index in range(5):
        other = _subproject(node.plan, agency)
        PlanNode.objects.filter(pk=other.pk).update(title=f"另一子計畫 {index}")
        other_revision = request(lead_client, other).json()
        step(secretariat_client, other_revision["id"], "approve")
    assert count("/api/v1/milestones/") == few_milestones
    assert count("/api/v1/projects/?kind=subproject") == few_projects


def test_a_revision_cannot_cut_a_year_below_what_its_reports_executed(node, lead_client):
    report_in_status(
        node=node,
        status=ReportStatus.ACCEPTED,
        period=Quarter(2025, 1),
        budget_spent=Decimal(200),
        budget_payables=Decimal(30),
        budget_savings=Decimal(10),
    )
    budget = {"year": 2025, "appropriation": "239", "allocation_q1": "200"}

    response = lead_client.post(REVISIONS, request_body(node, budgets=[budget]), format="json")
    enough = lead_client.post(
        REVISIONS, request_body(node, budgets=[{**budget, "appropriation": "240"}]), format="json"
    )

    assert response.status_code == 400
    assert "240" in response.json()["errors"]["budgets"][0]
    assert enough.status_code == 201


def test_who_reads_an_approved_revision_of_another_agency_sees_no_names(
    node, lead_client, secretariat_client, reader_client, other_lead_client
):
    created = request(lead_client, node).json()
    approved = step(secretariat_client, created["id"], "approve", {"reason": "同意"})
    assert approved.status_code == 200

    def people(client):
        row = client.get(f"{REVISIONS}{created['id']}/").json()
        listed = next(r for r in client.get(REVISIONS).json()["results"] if r["id"] == created["id"])
        assert {key: listed[key] for key in ("requested_by", "decided_by")} == {
            key: row[key] for key in ("requested_by", "decided_by")
        }
        return row["requested_by"], row["decided_by"]

    assert people(reader_client) == (None, None)
    assert people(other_lead_client) == (None, None)
    assert people(lead_client)[0] is not None and people(lead_client)[1] is not None
    assert None not in people(secretariat_client)
