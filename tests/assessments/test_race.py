"""A publication racing a step of the chain (real PostgreSQL: row locks, concurrent transactions). The steps
take the scheme's row, so a publication either comes after a reopening and is refused (not every assessment
has its final scores) or before it, and the reopening is refused: never a published year holding an assessment
without its grade."""

import threading

import pytest
from django.db import connection

from assessments import services
from assessments.models import Assessment, AssessmentScheme, AssessmentStatus
from gstp.exceptions import InvalidTransition

from .factories import chain, open_scheme

THREAD_TIMEOUT = 30


def run_together(*calls):
    """Each call in its own thread and connection, released at once; the exceptions they raised, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            call()
            outcomes[index] = "done"
        except InvalidTransition as refused:
            outcomes[index] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT)
    return outcomes


def _steps(people, scheme):
    """The secretariat reopening the assessment, and publishing the year, each reading its rows afresh."""

    def reopen():
        assessment = Assessment.objects.select_related("scheme").get(pk=people.assessment.pk)
        services.assessment_reopen(
            actor=people.secretariat, assessment=assessment, expected_version=None, reason="重審"
        )

    def publish():
        services.scheme_publish(actor=people.secretariat, scheme=AssessmentScheme.objects.get(pk=scheme.pk))

    return reopen, publish


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_publication_racing_a_reopening_never_publishes_an_assessment_without_its_grade(agency):
    for _round in range(5):
        scheme, assessments = open_scheme(agency=agency, year=2021 + _round)
        people = chain(agency=agency, to=AssessmentStatus.FINALIZED, scheme_and_assessments=(scheme, assessments))
        reopen, publish = _steps(people, scheme)
        reopened, published = run_together(reopen, publish)

        scheme.refresh_from_db()
        assessment = people.refresh()
        assert {reopened, published} & {"done"}, (reopened, published)
        if scheme.is_published:
            assert (assessment.status, assessment.grade) == (AssessmentStatus.FINALIZED, "甲等")
        else:
            assert published == "not_finalized" and assessment.status == AssessmentStatus.ENDORSED
