"""Who may take each step of a plan revision, on every status: the roles (the lead, reviewer of the
sub-project's ministry, another agency's lead and reviewer, the secretariat and a reader) x the revision's
endpoints x its statuses, on a plan whose ministries endorse revisions first. Each cell is tried on a revision
of its own, made by the services as the chain would have left it.

Out of scope is 404 (every step); in scope but not the user's step is 403; the user's step in the wrong
status is 409. ``tests/security/test_authorization.py`` counts these endpoints as covered here."""

import datetime

import pytest

from reviews import services
from reviews.models import PlanRevision, RevisionStatus
from tests.projects.factories import PlanFactory, make_tree

from .factories import LagSettingsFactory, ministry_reviewer_for

REVISIONS = "/api/v1/revisions/"
ROLES = ["secretariat", "lead", "reviewer", "other_lead", "other_reviewer", "reader"]
STATUSES = ["requested", "endorsed", "approved", "rejected", "withdrawn"]
# Each endpoint: (method, path after the revision's, body).
ENDPOINTS = {
    "detail": ("get", "", None),
    "patch": ("patch", "", {"reason": "補充說明"}),
    "history": ("get", "history/", None),
    "withdraw": ("post", "withdraw/", {}),
    "endorse": ("post", "endorse/", {}),
    "approve": ("post", "approve/", {}),
    "reject": ("post", "reject/", {"reason": "理由不足"}),
}
# Rows: endpoint and status; columns: ROLES.
EXPECTED = """
detail    requested   200 200 200 404 404 404
detail    endorsed    200 200 200 404 404 404
detail    approved    200 200 200 200 200 200
detail    rejected    200 200 200 404 404 404
detail    withdrawn   200 200 200 404 404 404
patch     requested   403 200 403 404 404 404
patch     endorsed    403 409 403 404 404 404
patch     approved    403 409 403 403 403 403
patch     rejected    403 409 403 404 404 404
patch     withdrawn   403 409 403 404 404 404
history   requested   200 200 200 404 404 404
history   endorsed    200 200 200 404 404 404
history   approved    200 200 200 404 404 404
history   rejected    200 200 200 404 404 404
history   withdrawn   200 200 200 404 404 404
withdraw  requested   403 200 403 404 404 404
withdraw  endorsed    403 200 403 404 404 404
withdraw  approved    403 409 403 403 403 403
withdraw  rejected    403 409 403 404 404 404
withdraw  withdrawn   403 409 403 404 404 404
endorse   requested   403 403 200 404 404 404
endorse   endorsed    403 403 409 404 404 404
endorse   approved    403 403 409 403 403 403
endorse   rejected    403 403 409 404 404 404
endorse   withdrawn   403 403 409 404 404 404
approve   requested   409 403 403 404 404 404
approve   endorsed    200 403 403 404 404 404
approve   approved    409 403 403 403 403 403
approve   rejected    409 403 403 404 404 404
approve   withdrawn   409 403 403 404 404 404
reject    requested   409 403 200 404 404 404
reject    endorsed    200 403 409 404 404 404
reject    approved    409 403 409 403 403 403
reject    rejected    409 403 409 404 404 404
reject    withdrawn   409 403 409 404 404 404
"""
ROWS = {}
for _line in EXPECTED.strip().splitlines():
    _endpoint, _status, *_codes = _line.split()
    ROWS[(_endpoint, _status)] = dict(zip(ROLES, map(int, _codes), strict=True))


@pytest.fixture
def node(agency):
    plan = PlanFactory(code="chained")
    LagSettingsFactory(plan=plan, endorsement_required=True)
    _group, _strategy, _measure, (node,) = make_tree(plan, lead_agency=agency)
    return node


def revision_in_status(node, status, *, lead, secretariat) -> PlanRevision:
    """A revision of ``node`` as the chain leaves it in ``status``, requested by ``lead``."""
    for open_revision in PlanRevision.objects.filter(node=node, status__in=["requested", "endorsed"]):
        services.revision_withdraw(actor=lead, revision=open_revision, expected_version=open_revision.version)
    revision = services.revision_request(
        actor=lead, node=node, reason="展延", changes={"end_date": datetime.date(2026, 6, 30)}
    )
    reviewer = ministry_reviewer_for(node)
    if status in ("endorsed", "approved"):
        revision = services.revision_endorse(actor=reviewer, revision=revision, expected_version=revision.version)
    if status == "approved":
        revision = services.revision_approve(actor=secretariat, revision=revision, expected_version=revision.version)
    if status == "rejected":
        revision = services.revision_reject(
            actor=reviewer, revision=revision, expected_version=revision.version, reason="不同意"
        )
    if status == "withdrawn":
        revision = services.revision_withdraw(actor=lead, revision=revision, expected_version=revision.version)
    assert revision.status == status
    return revision


@pytest.mark.parametrize(("endpoint", "status"), list(ROWS))
def test_revision_matrix(request, node, lead_client, secretariat_client, endpoint, status):
    method, path, body = ENDPOINTS[endpoint]
    wrong = []
    for role in ROLES:
        client = request.getfixturevalue(f"{role}_client")
        revision = revision_in_status(node, status, lead=lead_client.user, secretariat=secretariat_client.user)
        url = f"{REVISIONS}{revision.pk}/{path}"
        kwargs = {"format": "json", "HTTP_IF_MATCH": revision.etag} if body is not None else {}
        response = getattr(client, method)(url, body, **kwargs) if body is not None else client.get(url)
        expected = ROWS[(endpoint, status)][role]
        if response.status_code != expected:
            wrong.append(f"{role}: {response.status_code} (expected {expected}) {response.content[:120]!r}")
        elif expected >= 400:
            after = PlanRevision.objects.get(pk=revision.pk)
            if (after.status, after.version) != (RevisionStatus(status), revision.version):
                wrong.append(f"{role}: a refused {endpoint} changed the revision")
    assert wrong == []
