"""Building assessments for the tests: a scheme opened by the secretariat, and the chain's people."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import User
from assessments import services
from assessments.models import Assessment, AssessmentScheme, AssessmentStatus
from tests.accounts.factories import secretariat_user
from tests.projects.factories import make_tree
from tests.reviews.factories import lead_user_for, ministry_reviewer_for

YEAR = 2024
# One score per default criterion (progress 30, budget 20, targets 30, management 20).
SELF_SCORES = {"progress": "90", "budget": "80", "targets": "85", "management": "95"}
SELF_TOTAL = Decimal("87.50")  # 90×.3 + 80×.2 + 85×.3 + 95×.2 = 27 + 16 + 25.5 + 19


@dataclass
class Chain:
    """An assessment and the people of its chain."""

    scheme: AssessmentScheme
    assessment: Assessment
    lead: User
    reviewer: User
    secretariat: User

    def refresh(self) -> Assessment:
        self.assessment = Assessment.objects.select_related("scheme", "node").get(pk=self.assessment.pk)
        return self.assessment


def open_scheme(*, agency, subprojects: int = 1, year: int = YEAR, plan=None, secretariat=None):
    """A plan's tree led by ``agency`` and its assessment of ``year``: ``(scheme, [assessments])``."""
    _group, _strategy, _measure, subs = make_tree(plan, lead_agency=agency, subprojects=subprojects)
    scheme = services.scheme_open(actor=secretariat or secretariat_user(), plan=subs[0].plan, year=year)
    return scheme, list(scheme.assessments.select_related("scheme", "node").order_by("node__path"))


def scores(values: dict[str, str], note: str = "依據季報與佐證資料") -> list[dict]:
    return [{"criterion": key, "score": value, "note": note} for key, value in values.items()]


def chain(*, agency, to: str = AssessmentStatus.DRAFT, scheme_and_assessments=None) -> Chain:
    """An assessment taken along the chain to ``to`` (draft, submitted, endorsed, finalized, returned)."""
    scheme, assessments = scheme_and_assessments or open_scheme(agency=agency)
    assessment = assessments[0]
    people = Chain(
        scheme=scheme,
        assessment=assessment,
        lead=lead_user_for(assessment.node),
        reviewer=ministry_reviewer_for(assessment.node),
        secretariat=secretariat_user(),
    )
    if to == AssessmentStatus.DRAFT:
        return people
    services.assessment_score(
        actor=people.lead, assessment=assessment, expected_version=None, entries=scores(SELF_SCORES)
    )
    services.assessment_submit(actor=people.lead, assessment=assessment, expected_version=None)
    if to == AssessmentStatus.RETURNED:
        services.assessment_return(
            actor=people.reviewer, assessment=assessment, expected_version=None, reason="請補充佐證"
        )
    if to in (AssessmentStatus.ENDORSED, AssessmentStatus.FINALIZED):
        services.assessment_endorse(actor=people.reviewer, assessment=assessment, expected_version=None)
    if to == AssessmentStatus.FINALIZED:
        services.assessment_finalize(actor=people.secretariat, assessment=assessment, expected_version=None)
    people.refresh()
    return people
