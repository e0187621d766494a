"""The lag-flag queue over the API: /api/v1/flags/ and its actions.

The spec: the secretariat sees every flag; a lead the flags of the sub-projects its agency, or one of its
sub-units, leads (anything else is 404, the same answer as "does not exist"); a reader every flag, but only its
public fields (no thread, no resolution reason, no usernames). The queue is ordered red first, then oldest
opened first. The secretariat acknowledges and resolves (a reason is required; ``override`` keeps the next
scans from reopening it); the sub-project's lead answers with an improvement plan (改善措施) but neither
acknowledges nor resolves (403).
"""

import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_issue
from projects.models import AgencyRole
from reviews.models import CommentKind, FlagComment, FlagResolution, FlagStatus, LagFlag, LagRule, Severity
from reviews.periods import Quarter
from tests.accounts.factories import UserFactory, lead_user
from tests.projects.factories import (
    AgencyFactory,
    NodeAgencyFactory,
    PlanFactory,
    SubprojectFactory,
    make_tree,
)
from tests.reviews.factories import FlagCommentFactory, LagFlagFactory

FLAGS = "/api/v1/flags/"

PUBLIC_KEYS = {
    "id",
    "project",
    "rule",
    "period",
    "severity",
    "status",
    "evidence",
    "opened_at",
    "severity_raised_at",
    "acknowledged_at",
    "resolved_at",
    "resolution",
    "updated_at",
}
FULL_KEYS = PUBLIC_KEYS | {"acknowledged_by", "resolved_by", "resolution_reason", "comments"}
COMMENT_KEYS = {"id", "author", "kind", "body", "created_at"}

T0 = datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.UTC)


def days(n):
    return datetime.timedelta(days=n)


def make_flag(
    node,
    *,
    rule=LagRule.PROGRESS_GAP,
    severity=Severity.YELLOW,
    status=FlagStatus.OPEN,
    year=2024,
    quarter=1,
    opened_at=T0,
    **extra,
):
    if status == FlagStatus.RESOLVED:
        extra.setdefault("resolved_at", opened_at + days(1))
        extra.setdefault("resolution", FlagResolution.CLEARED)
    return LagFlagFactory(
        node=node,
        rule=rule,
        severity=severity,
        status=status,
        period=Quarter(year, quarter),
        opened_at=opened_at,
        evidence={"rule": rule, "gap": "-6"},
        **extra,
    )


def _client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    client.user = user
    return client


@pytest.fixture
def unit(agency):
    """A sub-unit (署) of 數位發展部."""
    return AgencyFactory(name="數位發展部數位產業署", parent=agency)


@pytest.fixture
def unit_lead_client(unit):
    return _client_for(lead_user(unit, "unit-lead"))


@pytest.fixture
def world(agency, unit, other_agency):
    """Plan P: group 1 with sub-projects led by A (數位發展部) and U (its sub-unit); group 2 with one led by
    B (經濟部). Plan Q: one sub-project led by A."""
    plan = PlanFactory(code="smart-nation")
    group1, _strategy, measure1, (sub_a,) = make_tree(plan, lead_agency=agency, prefix="一")
    sub_u = SubprojectFactory(parent=measure1, title="數位產業署的子計畫", lead_agency=unit)
    # B co-runs A's sub-project: co-running is not leading, so B's lead does not see its flags.
    NodeAgencyFactory(node=sub_a, agency=other_agency, role=AgencyRole.CO)
    group2, _, _, (sub_b,) = make_tree(plan, lead_agency=other_agency, prefix="二")
    other_plan = PlanFactory(code="other-plan")
    _, _, _, (sub_q,) = make_tree(other_plan, lead_agency=agency, prefix="Q")
    return SimpleNamespace(
        plan=plan,
        other_plan=other_plan,
        group1=group1,
        group2=group2,
        nodes={"A": sub_a, "U": sub_u, "B": sub_b, "Q": sub_q},
    )


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def url(flag, action=None):
    return f"{FLAGS}{flag.pk}/" + (f"{action}/" if action else "")


# --------------------------------------------------------------------------- list: ordering and scope


def test_list_orders_red_first_then_oldest_opened(world, secretariat_client):
    # given flags whose creation order is not their queue order
    node = world.nodes["A"]
    yellow_old = make_flag(node, rule=LagRule.LATE_REPORT, severity=Severity.YELLOW, opened_at=T0 - days(30))
    red_new = make_flag(node, rule=LagRule.PROGRESS_GAP, severity=Severity.RED, opened_at=T0)
    yellow_new = make_flag(node, rule=LagRule.BUDGET_EXECUTION, severity=Severity.YELLOW, opened_at=T0 - days(1))
    red_old = make_flag(node, rule=LagRule.MILESTONE_OVERDUE, severity=Severity.RED, opened_at=T0 - days(10))

    # when
    response = secretariat_client.get(FLAGS)

    # then red (oldest first), then yellow (oldest first)
    assert ids(response) == [red_old.pk, red_new.pk, yellow_old.pk, yellow_new.pk]
    assert [row["severity"] for row in response.json()["results"]] == ["red", "red", "yellow", "yellow"]


def test_list_orders_flags_opened_at_the_same_time_by_id(world, secretariat_client):
    first = make_flag(world.nodes["A"], rule=LagRule.LATE_REPORT)
    second = make_flag(world.nodes["B"], rule=LagRule.LATE_REPORT)

    assert ids(secretariat_client.get(FLAGS)) == [first.pk, second.pk]


def test_list_scope_per_role(
    world, secretariat_client, lead_client, unit_lead_client, other_lead_client, reader_client
):
    flags = {key: make_flag(node) for key, node in world.nodes.items()}

    def listed(client):
        return {key for key, flag in flags.items() if flag.pk in ids(client.get(FLAGS))}

    assert listed(secretariat_client) == {"A", "U", "B", "Q"}
    # the ministry's lead sees its sub-unit's sub-projects too, in every plan
    assert listed(lead_client) == {"A", "U", "Q"}
    # the sub-unit's lead does not see the ministry's
    assert listed(unit_lead_client) == {"U"}
    # co-running A's sub-project does not make B's lead see its flags
    assert listed(other_lead_client) == {"B"}
    assert listed(reader_client) == {"A", "U", "B", "Q"}


def test_list_shapes_per_role(world, secretariat_client, lead_client, reader_client):
    flag = make_flag(world.nodes["A"])
    FlagCommentFactory(flag=flag, author=secretariat_client.user, body="請說明")

    for client, keys in ((secretariat_client, FULL_KEYS), (lead_client, FULL_KEYS), (reader_client, PUBLIC_KEYS)):
        (row,) = client.get(FLAGS).json()["results"]
        assert set(row) == keys


# --------------------------------------------------------------------------- list: filters


@pytest.fixture
def spread(world):
    """One flag per sub-project, differing in every filtered field."""
    nodes = world.nodes
    return SimpleNamespace(
        a=make_flag(
            nodes["A"],
            rule=LagRule.PROGRESS_GAP,
            severity=Severity.RED,
            status=FlagStatus.OPEN,
            year=2024,
            quarter=1,
            opened_at=T0 - days(20),
        ),
        u=make_flag(
            nodes["U"],
            rule=LagRule.LATE_REPORT,
            severity=Severity.YELLOW,
            status=FlagStatus.ACKNOWLEDGED,
            year=2024,
            quarter=2,
            opened_at=T0 - days(10),
            acknowledged_at=T0,
        ),
        b=make_flag(
            nodes["B"],
            rule=LagRule.BUDGET_EXECUTION,
            severity=Severity.YELLOW,
            status=FlagStatus.RESOLVED,
            year=2023,
            quarter=4,
            opened_at=T0,
        ),
        q=make_flag(
            nodes["Q"],
            rule=LagRule.MILESTONE_OVERDUE,
            severity=Severity.RED,
            status=FlagStatus.OPEN,
            year=2024,
            quarter=1,
            opened_at=T0 + days(5),
        ),
    )


def _filtered(client, spread, query):
    by_pk = {flag.pk: key for key, flag in vars(spread).items()}
    return {by_pk[pk] for pk in ids(client.get(FLAGS, query))}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"rule": "progress_gap"}, {"a"}),
        ({"rule": ["late_report", "budget_execution"]}, {"u", "b"}),
        ({"severity": "red"}, {"a", "q"}),
        ({"severity": "yellow"}, {"u", "b"}),
        ({"status": "open"}, {"a", "q"}),
        ({"status": ["open", "acknowledged"]}, {"a", "u", "q"}),
        ({"status": "resolved"}, {"b"}),
        ({"period": "2024Q1"}, {"a", "q"}),
        ({"period": "2023Q4"}, {"b"}),
        ({"period": "2022Q1"}, set()),
        ({"opened_since": (T0 - days(10)).isoformat()}, {"u", "b", "q"}),
        ({"opened_since": (T0 + days(1)).isoformat()}, {"q"}),
        ({"severity": "red", "status": "open", "period": "2024Q1"}, {"a", "q"}),
    ],
)
def test_list_filters_by_field(spread, secretariat_client, query, expected):
    assert _filtered(secretariat_client, spread, query) == expected


def test_list_filters_by_plan_group_and_project(world, spread, secretariat_client):
    assert _filtered(secretariat_client, spread, {"plan": world.plan.pk}) == {"a", "u", "b"}
    assert _filtered(secretariat_client, spread, {"plan": world.other_plan.pk}) == {"q"}
    assert _filtered(secretariat_client, spread, {"group": world.group1.pk}) == {"a", "u"}
    assert _filtered(secretariat_client, spread, {"group": world.group2.pk}) == {"b"}
    assert _filtered(secretariat_client, spread, {"project": world.nodes["U"].pk}) == {"u"}


def test_list_filters_by_agency_including_sub_units(world, spread, agency, unit, other_agency, secretariat_client):
    assert _filtered(secretariat_client, spread, {"agency": agency.pk}) == {"a", "u", "q"}
    assert _filtered(secretariat_client, spread, {"agency": unit.pk}) == {"u"}
    # B only co-runs A's sub-project: the agency filter is about leading
    assert _filtered(secretariat_client, spread, {"agency": other_agency.pk}) == {"b"}


def test_list_filters_by_updated_since(world, spread, secretariat_client):
    LagFlag.objects.update(updated_at=T0 - days(100))
    LagFlag.objects.filter(pk=spread.u.pk).update(updated_at=T0)

    assert _filtered(secretariat_client, spread, {"updated_since": (T0 - days(1)).isoformat()}) == {"u"}
    assert _filtered(secretariat_client, spread, {"updated_since": (T0 - days(101)).isoformat()}) == {
        "a",
        "u",
        "b",
        "q",
    }


def test_filters_narrow_a_leads_scope_and_never_widen_it(world, spread, other_agency, lead_client):
    assert _filtered(lead_client, spread, {"plan": world.plan.pk}) == {"a", "u"}
    assert _filtered(lead_client, spread, {"agency": other_agency.pk}) == set()
    assert _filtered(lead_client, spread, {"project": world.nodes["B"].pk}) == set()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("period", "2024-3"),
        ("period", "2024Q5"),
        ("rule", "nonsense"),
        ("severity", "green"),
        ("status", "closed"),
        ("opened_since", "yesterday"),
        ("updated_since", "not-a-date"),
        ("plan", "999999"),
        ("agency", "abc"),
    ],
)
def test_bad_filter_value_is_400_naming_it(world, spread, secretariat_client, name, value):
    response = secretariat_client.get(FLAGS, {name: value})

    assert response.status_code == 400, response.content
    assert name in response.json()["errors"]


def test_group_filter_refuses_a_sub_project(world, spread, secretariat_client):
    response = secretariat_client.get(FLAGS, {"group": world.nodes["A"].pk})

    assert response.status_code == 400
    assert "group" in response.json()["errors"]


# --------------------------------------------------------------------------- list: pagination


def test_list_is_paginated(world, secretariat_client):
    node = world.nodes["A"]
    created = [
        make_flag(node, rule=LagRule.LATE_REPORT, year=2021 + i // 4, quarter=i % 4 + 1, opened_at=T0 + days(i))
        for i in range(7)
    ]

    first = secretariat_client.get(FLAGS, {"page_size": 3})
    second = secretariat_client.get(FLAGS, {"page_size": 3, "page": 3})

    body = first.json()
    assert body["count"] == 7
    assert body["previous"] is None
    assert "page=2" in body["next"]
    assert ids(first) == [flag.pk for flag in created[:3]]
    assert ids(second) == [created[6].pk]
    assert second.json()["next"] is None
    assert secretariat_client.get(FLAGS, {"page_size": 3, "page": 4}).status_code == 404


def test_list_pages_hold_fifty_by_default(world, secretariat_client):
    node = world.nodes["A"]
    for i, rule in enumerate(rule for rule in LagRule.values for _ in range(11)):
        LagFlagFactory(node=node, rule=rule, period=Quarter(2021 + (i // 4) % 5, i % 4 + 1), opened_at=T0)

    body = secretariat_client.get(FLAGS).json()

    assert body["count"] == 11 * len(LagRule.values)
    assert len(body["results"]) == 50


# --------------------------------------------------------------------------- detail


def test_detail_for_the_secretariat_and_the_lead_has_the_thread(world, secretariat_client, lead_client):
    flag = make_flag(world.nodes["U"], severity=Severity.RED, status=FlagStatus.ACKNOWLEDGED, acknowledged_at=T0)
    LagFlag.objects.filter(pk=flag.pk).update(acknowledged_by=secretariat_client.user)
    FlagCommentFactory(flag=flag, author=secretariat_client.user, body="請說明落後原因")
    FlagCommentFactory(
        flag=flag, author=lead_client.user, kind=CommentKind.IMPROVEMENT_PLAN, body="增派人力，六月底前趕上"
    )

    for client in (secretariat_client, lead_client):
        response = client.get(url(flag))

        assert response.status_code == 200
        body = response.json()
        assert set(body) == FULL_KEYS
        assert body["project"] == world.nodes["U"].pk
        assert body["period"] == "2024Q1"
        assert body["severity"] == "red"
        assert body["status"] == "acknowledged"
        assert body["acknowledged_by"] == "secretariat"
        assert body["resolved_by"] is None
        assert body["evidence"] == {"rule": "progress_gap", "gap": "-6"}
        assert [set(comment) for comment in body["comments"]] == [COMMENT_KEYS, COMMENT_KEYS]
        assert [(c["author"], c["kind"], c["body"]) for c in body["comments"]] == [
            ("secretariat", "comment", "請說明落後原因"),
            ("lead", "improvement_plan", "增派人力，六月底前趕上"),
        ]


def test_detail_for_a_reader_is_the_public_shape(world, secretariat_client, reader_client):
    flag = make_flag(world.nodes["B"])
    FlagCommentFactory(flag=flag, author=secretariat_client.user, body="內部討論")
    secretariat_client.post(url(flag, "resolve"), {"reason": "已與機關確認"}, format="json")

    response = reader_client.get(url(flag))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert body["status"] == "resolved"
    assert body["resolution"] == "resolved"
    text = response.content.decode()
    for secret in ("內部討論", "已與機關確認", "secretariat"):
        assert secret not in text


@pytest.mark.parametrize("client_name", ["other_lead_client", "unit_lead_client"])
def test_detail_out_of_scope_is_404(world, client_name, request):
    flag = make_flag(world.nodes["A"])

    response = request.getfixturevalue(client_name).get(url(flag))

    assert response.status_code == 404


def test_detail_of_a_missing_flag_is_404(world, secretariat_client):
    assert secretariat_client.get(f"{FLAGS}999999/").status_code == 404


# --------------------------------------------------------------------------- acknowledge


def test_secretariat_acknowledges(world, secretariat_client):
    flag = make_flag(world.nodes["A"], severity=Severity.RED)

    response = secretariat_client.post(url(flag, "acknowledge"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == FULL_KEYS
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "secretariat"
    assert body["acknowledged_at"] is not None
    flag.refresh_from_db()
    assert flag.status == FlagStatus.ACKNOWLEDGED
    assert flag.acknowledged_by == secretariat_client.user
    assert abs(flag.acknowledged_at - timezone.now()) < datetime.timedelta(minutes=1)


def test_acknowledging_twice_is_409(world, secretariat_client):
    flag = make_flag(world.nodes["A"])
    assert secretariat_client.post(url(flag, "acknowledge")).status_code == 200
    first = LagFlag.objects.get(pk=flag.pk).acknowledged_at

    response = secretariat_client.post(url(flag, "acknowledge"))

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert LagFlag.objects.get(pk=flag.pk).acknowledged_at == first


def test_acknowledging_a_resolved_flag_is_409(world, secretariat_client):
    flag = make_flag(world.nodes["A"], status=FlagStatus.RESOLVED)

    assert secretariat_client.post(url(flag, "acknowledge")).status_code == 409
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.RESOLVED


@pytest.mark.parametrize("client_name", ["lead_client", "unit_lead_client", "reader_client"])
def test_only_the_secretariat_acknowledges(world, client_name, request):
    flag = make_flag(world.nodes["U"])

    response = request.getfixturevalue(client_name).post(url(flag, "acknowledge"))

    assert response.status_code == 403
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN


# --------------------------------------------------------------------------- resolve


@pytest.mark.parametrize("override", [False, True])
def test_secretariat_resolves_with_a_reason(world, secretariat_client, override):
    flag = make_flag(world.nodes["A"], severity=Severity.RED, score="12.5")

    response = secretariat_client.post(
        url(flag, "resolve"), {"reason": "  已核定展延  ", "override": override}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == FULL_KEYS
    assert body["status"] == "resolved"
    assert body["resolution"] == ("overridden" if override else "resolved")
    assert body["resolution_reason"] == "已核定展延"
    assert body["resolved_by"] == "secretariat"
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert flag.resolved_by == secretariat_client.user
    assert flag.resolved_at is not None
    assert flag.resolution == (FlagResolution.OVERRIDDEN if override else FlagResolution.RESOLVED)
    assert flag.overridden_severity == (Severity.RED if override else "")
    assert flag.overridden_score == (flag.score if override else None)
    # the reason joins the thread
    assert [(c["author"], c["body"]) for c in body["comments"]] == [("secretariat", "已核定展延")]


def test_resolving_an_acknowledged_flag(world, secretariat_client):
    flag = make_flag(world.nodes["A"], status=FlagStatus.ACKNOWLEDGED, acknowledged_at=T0)

    response = secretariat_client.post(url(flag, "resolve"), {"reason": "已改善"}, format="json")

    assert response.status_code == 200
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.RESOLVED


def test_override_defaults_to_false(world, secretariat_client):
    flag = make_flag(world.nodes["A"])

    secretariat_client.post(url(flag, "resolve"), {"reason": "已改善"}, format="json")

    assert LagFlag.objects.get(pk=flag.pk).resolution == FlagResolution.RESOLVED


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": "   "}, {"override": True}])
def test_resolve_needs_a_reason(world, secretariat_client, data):
    flag = make_flag(world.nodes["A"])

    response = secretariat_client.post(url(flag, "resolve"), data, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["reason"]
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN
    assert not FlagComment.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [({"reason": "x", "override": "perhaps"}, "override"), ({"reason": "x", "resolved_by": 1}, "resolved_by")],
)
def test_resolve_refuses_bad_and_unknown_fields(world, secretariat_client, data, field):
    flag = make_flag(world.nodes["A"])

    response = secretariat_client.post(url(flag, "resolve"), data, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN


def test_resolving_twice_is_409(world, secretariat_client):
    flag = make_flag(world.nodes["A"])
    assert secretariat_client.post(url(flag, "resolve"), {"reason": "一"}, format="json").status_code == 200

    response = secretariat_client.post(url(flag, "resolve"), {"reason": "二", "override": True}, format="json")

    assert response.status_code == 409
    flag.refresh_from_db()
    assert flag.resolution_reason == "一"
    assert flag.resolution == FlagResolution.RESOLVED
    assert FlagComment.objects.filter(flag=flag).count() == 1


@pytest.mark.parametrize("client_name", ["lead_client", "unit_lead_client", "reader_client"])
def test_only_the_secretariat_resolves(world, client_name, request):
    flag = make_flag(world.nodes["U"])

    response = request.getfixturevalue(client_name).post(url(flag, "resolve"), {"reason": "已改善"}, format="json")

    assert response.status_code == 403
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN


PERMISSION_BEFORE_VALIDATION = (
    "reviews/flag_apis.py FlagViewSet.resolve/comment validate the body (ResolveSerializer/CommentSerializer) "
    "before the service checks the actor's role, so a lead or reader sending an empty body gets 400 "
    "'reason/body required' instead of 403; the report API (reviews/apis.py return_report) checks the "
    "permission first. Check the role (permissions predicate) before is_valid()."
)


@pytest.mark.parametrize("client_name", ["lead_client", "reader_client"])
def test_resolve_by_a_non_secretariat_is_403_whatever_the_body(world, client_name, request):
    flag = make_flag(world.nodes["A"])

    response = request.getfixturevalue(client_name).post(url(flag, "resolve"), {}, format="json")

    assert response.status_code == 403


# --------------------------------------------------------------------------- comment


def test_secretariat_comments(world, secretariat_client):
    flag = make_flag(world.nodes["A"])
    before = LagFlag.objects.get(pk=flag.pk).updated_at

    response = secretariat_client.post(url(flag, "comment"), {"body": " 請於月底前說明 "}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == COMMENT_KEYS
    assert (body["author"], body["kind"], body["body"]) == ("secretariat", "comment", "請於月底前說明")
    comment = FlagComment.objects.get(pk=body["id"])
    assert (comment.flag, comment.author) == (flag, secretariat_client.user)
    # a comment bumps the flag, so an updated_since poll picks it up
    assert LagFlag.objects.get(pk=flag.pk).updated_at > before


@pytest.mark.parametrize("client_name", ["lead_client", "unit_lead_client"])
def test_lead_answers_with_an_improvement_plan(world, secretariat_client, client_name, request):
    # given a flag of the sub-unit's sub-project: both the sub-unit's and its ministry's leads lead it
    client = request.getfixturevalue(client_name)
    flag = make_flag(world.nodes["U"])
    secretariat_client.post(url(flag, "comment"), {"body": "請提出改善措施"}, format="json")

    # when
    response = client.post(url(flag, "comment"), {"body": "增派人力", "kind": "improvement_plan"}, format="json")

    # then
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "improvement_plan"
    for viewer in (secretariat_client, client):
        thread = viewer.get(url(flag)).json()["comments"]
        assert [(c["author"], c["kind"], c["body"]) for c in thread] == [
            ("secretariat", "comment", "請提出改善措施"),
            (client.user.username, "improvement_plan", "增派人力"),
        ]


def test_lead_comments_plainly_too(world, lead_client):
    flag = make_flag(world.nodes["A"])

    response = lead_client.post(url(flag, "comment"), {"body": "已收到"}, format="json")

    assert response.status_code == 201
    assert response.json()["kind"] == "comment"


def test_secretariat_cannot_write_the_improvement_plan(world, secretariat_client):
    flag = make_flag(world.nodes["A"])

    response = secretariat_client.post(
        url(flag, "comment"), {"body": "代為填寫", "kind": "improvement_plan"}, format="json"
    )

    assert response.status_code == 403
    assert not FlagComment.objects.exists()


@pytest.mark.parametrize("kind", ["comment", "improvement_plan"])
def test_reader_cannot_comment(world, reader_client, kind):
    flag = make_flag(world.nodes["A"])

    response = reader_client.post(url(flag, "comment"), {"body": "路過", "kind": kind}, format="json")

    assert response.status_code == 403
    assert not FlagComment.objects.exists()


def test_reader_comment_is_403_whatever_the_body(world, reader_client):
    flag = make_flag(world.nodes["A"])

    response = reader_client.post(url(flag, "comment"), {"body": ""}, format="json")

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"body": "x", "author": 1}, "author"),
        ({"body": "x", "flag": 1}, "flag"),
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({}, "body"),
        ({"body": "x", "kind": "praise"}, "kind"),
        ({"body": "x" * 5001}, "body"),
    ],
)
def test_comment_refuses_bad_input(world, lead_client, data, field):
    flag = make_flag(world.nodes["A"])

    response = lead_client.post(url(flag, "comment"), data, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not FlagComment.objects.exists()


# --------------------------------------------------------------------------- out of scope, anonymous

ACTIONS = [
    ("get", None, None),
    ("post", "acknowledge", None),
    ("post", "resolve", {"reason": "已改善"}),
    ("post", "comment", {"body": "增派人力", "kind": "improvement_plan"}),
    ("post", "comment", {"body": "已收到"}),
]


@pytest.mark.parametrize(("method", "action", "data"), ACTIONS)
@pytest.mark.parametrize(
    ("client_name", "owner"), [("other_lead_client", "A"), ("lead_client", "B"), ("unit_lead_client", "A")]
)
def test_every_action_out_of_scope_is_404(world, request, method, action, data, client_name, owner):
    flag = make_flag(world.nodes[owner])

    response = getattr(request.getfixturevalue(client_name), method)(url(flag, action), data, format="json")

    assert response.status_code == 404
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN
    assert not FlagComment.objects.exists()


@pytest.mark.parametrize(("method", "action", "data"), ACTIONS)
def test_every_action_on_a_missing_flag_is_404(world, secretariat_client, method, action, data):
    response = getattr(secretariat_client, method)(f"{FLAGS}999999/" + (f"{action}/" if action else ""), data)

    assert response.status_code == 404


@pytest.mark.parametrize(("method", "action", "data"), [("get", "list", None), *ACTIONS])
def test_anonymous_is_401(world, anonymous_client, method, action, data):
    flag = make_flag(world.nodes["A"])
    path = FLAGS if action == "list" else url(flag, action)

    response = getattr(anonymous_client, method)(path, data, format="json")

    assert response.status_code == 401
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_flags_are_not_edited_directly(world, secretariat_client, method):
    flag = make_flag(world.nodes["A"])

    response = getattr(secretariat_client, method)(url(flag), {"status": "resolved"}, format="json")

    assert response.status_code == 405
    assert LagFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN


def test_flags_are_not_created_over_the_api(world, secretariat_client):
    response = secretariat_client.post(FLAGS, {"node": world.nodes["A"].pk}, format="json")

    assert response.status_code == 405


# --------------------------------------------------------------------------- query counts


def _count_queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured), response


def _flag_with_comments(node, index, authors):
    flag = make_flag(
        node,
        rule=LagRule.values[index % 5],
        year=2021 + index // 20,
        quarter=index // 5 % 4 + 1,
        severity=Severity.RED if index % 2 else Severity.YELLOW,
        status=FlagStatus.ACKNOWLEDGED if index % 3 else FlagStatus.OPEN,
        opened_at=T0 + days(index),
        acknowledged_by=authors[0] if index % 3 else None,
        acknowledged_at=T0 if index % 3 else None,
    )
    for author in authors:
        FlagCommentFactory(flag=flag, author=author, body=f"第 {index} 則")
    return flag


@pytest.mark.parametrize("client_name", ["secretariat_client", "lead_client"])
def test_list_query_count_is_the_same_for_1_and_30_flags(
    world, agency, request, client_name, django_assert_num_queries
):
    # given one flag with two comments, by the secretariat and the lead
    client = request.getfixturevalue(client_name)
    secretariat = UserFactory(username="secretariat", role=Role.SECRETARIAT)
    lead = UserFactory(username="lead", role=Role.LEAD, agency=agency)
    authors = [secretariat, lead]
    nodes = [world.nodes["A"], world.nodes["U"]]
    _flag_with_comments(nodes[0], 0, authors)
    one, response = _count_queries(client, FLAGS)
    assert response.json()["count"] == 1

    # when there are 30, on sub-projects of the ministry and its sub-unit
    for index in range(1, 30):
        _flag_with_comments(nodes[index % 2], index, authors)

    # then
    with django_assert_num_queries(one):
        response = client.get(FLAGS)
    rows = response.json()["results"]
    assert len(rows) == 30
    assert all(len(row["comments"]) == 2 for row in rows)
    assert {row["acknowledged_by"] for row in rows} == {"secretariat", None}
