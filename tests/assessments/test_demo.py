"""The demo's year's assessments: the last year whose fourth quarter is reported in progress, the year before it
published (loaded today, 2024 published and 2025 in progress)."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max
from django.test import override_settings

from accounts.models import User
from assessments import access, selectors
from assessments.models import Assessment, AssessmentEvent, AssessmentScheme, AssessmentStatus, Score
from projects.models import Plan
from reviews.demo import demo_calendar
from reviews.models import OutboxMessage
from reviews.periods import today
from tests.support.module_data import data_for_the_module


@pytest.fixture(scope="module")
def loaded_demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo, loaded once for this module (as in tests/reviews/test_demo.py)."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("demo-media")), data_for_the_module(django_db_blocker):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()


@pytest.fixture
def demo(loaded_demo, db):
    return loaded_demo


def years() -> tuple[int, int]:
    """(the year published, the year in progress)."""
    latest = demo_calendar(today(), due_days=Plan.objects.get().report_due_days).latest
    year = latest.year if latest.quarter == 4 else latest.year - 1
    return year - 1, year


def test_the_year_before_last_is_published_with_every_assessment_finalized_and_a_spread_of_grades(demo):
    published, _ = years()
    scheme = AssessmentScheme.objects.get(year=published)

    assert scheme.is_published
    assessments = scheme.assessments.all()
    assert assessments.count() == 150
    assert set(assessments.values_list("status", flat=True)) == {AssessmentStatus.FINALIZED}
    grades = dict(assessments.values_list("grade").annotate(count=Count("pk")))
    assert len(grades) >= 3, grades
    for assessment in assessments:
        assert assessment.grade == scheme.grade_for(assessment.final_total)
    # every score set at the three levels, the changed ones with their reasons
    scores = Score.objects.filter(assessment__scheme=scheme)
    assert not scores.filter(final_score__isnull=True).exists()
    assert not scores.filter(self_note="").exists()
    assert scores.exclude(review_score=F("self_score")).exclude(review_note="").exists()
    assert not scores.exclude(review_score=F("self_score")).filter(review_note="").exists()
    assert not scores.exclude(final_score=F("review_score")).filter(final_note="").exists()
    assert f"{published} published" in demo


def test_the_histories_agree_with_the_assessments_and_four_eyes_hold(demo):
    published, in_progress = years()
    for assessment in Assessment.objects.filter(scheme__year__in=(published, in_progress)):
        # Publication is a step of each assessment too: its version went up with it.
        versions = list(assessment.events.values_list("version", flat=True))
        assert versions == list(range(1, assessment.version + 1)), assessment
        assert assessment.history.aggregate(latest=Max("version"))["latest"] == assessment.version
        last = assessment.events.order_by("version").last()
        assert last.to_status == assessment.status
        if assessment.status == AssessmentStatus.FINALIZED:
            assert len({assessment.submitted_by_id, assessment.endorsed_by_id, assessment.finalized_by_id}) == 3
    assert AssessmentEvent.objects.filter(action="publish").count() == 150
    # nobody is told of the demo's past steps
    assert not OutboxMessage.objects.filter(task__startswith="assessments.").exists()


def test_the_last_year_is_in_progress_with_each_status(demo):
    _, in_progress = years()
    scheme = AssessmentScheme.objects.get(year=in_progress)

    assert not scheme.is_published
    assert set(scheme.assessments.values_list("status", flat=True)) == set(AssessmentStatus.values)
    assert scheme.self_due > today()
    # the reviewer's queue holds what the demo's ministries have to review
    reviewer = User.objects.get(username="moda-reviewer")
    assert selectors.review_queue(user=reviewer).exists()


def test_a_reader_sees_the_published_grades_and_nothing_of_the_year_in_progress(demo):
    published, in_progress = years()
    reader = User.objects.get(username="portal")

    seen = access.assessments_for(reader)

    assert seen.filter(scheme__year=published).count() == 150
    assert not seen.filter(scheme__year=in_progress).exists()
    assessment = seen.first()
    assert access.assessment_fields(reader, assessment) == access.AssessmentFields.PUBLISHED
    scheme = AssessmentScheme.objects.get(year=published)
    distribution = selectors.grade_distribution(scheme=scheme, user=reader)
    assert sum(row["total"] for row in distribution) == 150
