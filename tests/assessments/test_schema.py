"""Real assessment answers match the published schema: a whole one (its chain's), a published result
(everyone else's), a list mixing both, a scheme and its history."""

import pytest

from assessments import services
from assessments.models import AssessmentStatus
from tests.test_openapi_schema import assert_valid, schema  # noqa: F401

from .factories import chain

pytestmark = pytest.mark.django_db


def documented(schema, path, method="get", status="200"):  # noqa: F811
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_whole_and_published_assessments_match_the_schema(schema, agency, other_agency, lead_client):  # noqa: F811
    ours = chain(agency=agency, to=AssessmentStatus.SUBMITTED)
    theirs = chain(agency=other_agency, to=AssessmentStatus.FINALIZED)
    services.scheme_publish(actor=theirs.secretariat, scheme=theirs.scheme)

    whole = lead_client.get(f"/api/v1/assessments/{ours.assessment.pk}/").json()
    published = lead_client.get(f"/api/v1/assessments/{theirs.assessment.pk}/").json()
    listed = lead_client.get("/api/v1/assessments/").json()

    assert "scores" in whole and "scores" not in published
    for answer in (whole, published):
        assert_valid(schema, documented(schema, "/api/v1/assessments/{id}/"), answer, "GET /api/v1/assessments/{id}/")
    assert_valid(schema, documented(schema, "/api/v1/assessments/"), listed, "GET /api/v1/assessments/")
    required = set(schema["components"]["schemas"]["Assessment"]["required"])
    assert required == {"id", "scheme", "project", "plan", "year", "final_total", "grade"}


def test_a_scheme_and_its_history_match_the_schema(schema, agency, reader_client):  # noqa: F811
    people = chain(agency=agency)
    scheme = f"/api/v1/assessment-schemes/{people.scheme.pk}/"

    assert_valid(
        schema, documented(schema, "/api/v1/assessment-schemes/{id}/"), reader_client.get(scheme).json(), scheme
    )
    history = reader_client.get(f"{scheme}history/").json()
    assert_valid(schema, documented(schema, "/api/v1/assessment-schemes/{id}/history/"), history, "history")
    assert {entry["record"] for entry in history} == {"scheme", "criterion", "band"}
