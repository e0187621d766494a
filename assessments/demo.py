"""The demo's year's assessments (年度考評), loaded by ``seed_demo`` after the reports (``demo_load`` of the app).

Two years of the demo plan, counted from the demo's calendar: the last year whose fourth quarter is reported is
in progress, the year before it is published.

- The published year: every sub-project went through the chain. The lead scored each criterion near the score
  GSTP suggests (or, without a suggestion, near what its sub-project's demo profile earns: on plan, behind,
  under-spending, late), more often above it than below, with a short justification; the ministry's reviewer
  took some scores down with a reason; the secretariat moved a few, with a reason, and set the final scores;
  then published the year. The grades spread over the bands.
- The year in progress: by the sub-project's place in the outline, drafts (some partly scored), self-assessments
  with the ministry, some reviewed by the ministry, some returned to the lead, a few with their final scores;
  nothing published. Its calendar is set from the day the demo is loaded: the self-assessment due in a week.

The schemes are opened and the published year published through ``assessments.services``. The steps between
(some 1,500 over 300 assessments) are replayed in memory as the services take them (``Replay``) by the people
who could take them (the demo's casts of ``reviews.demo``), and written in bulk, so that loading the demo stays
quick: scores, totals, grades, events, versions and history agree as the services would have left them, and
four eyes hold. The steps happened when the demo was loaded; the emails and webhooks publication asks for are
taken out of the outbox again, since nobody needs telling of a demo's past.
"""

from __future__ import annotations

import copy
import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.access import Capability, users_with
from projects.models import Plan, PlanNode
from reviews.demo import PROFILES, demo_calendar, demo_casts
from reviews.models import OutboxMessage, QuarterlyReport

from . import services
from .models import (
    Assessment,
    AssessmentAction,
    AssessmentEvent,
    AssessmentScheme,
    AssessmentStatus,
    Level,
    Score,
    weighted_total,
)
from .services import LEVEL_BELOW

TENTH = Decimal("0.1")
SELF_NOTES = {
    "progress": ("全年查核點均依核定基準完成。", "部分查核點延後，已提出趕辦措施。"),
    "budget": ("經費執行率達年度分配數，依會計報告填列。", "部分採購結餘，經費執行略低於分配數。"),
    "targets": ("年度績效指標均已達成，佐證資料已上傳。", "多數指標達成，一項指標未達目標值。"),
    "management": ("季報均如期提報，落後警示皆已提出改善計畫。", "季報曾逾期提報，已改善作業流程。"),
}
REVIEW_NOTES = (
    "依季報佐證資料，酌減分數。",
    "查核點延宕未於自評中說明，酌予調整。",
    "經費執行率低於自評所述，依會計報告調整。",
)
# A full or near-full mark stands only on concrete evidence: the ministry takes most of them down.
FULL_MARK_NOTE = "滿分須具體佐證（如成果報告、驗收紀錄），目前資料不足，酌減分數。"
FINAL_NOTES = ("依複核會議決議調整。", "執行成效優於初核所列，酌予加分。", "改善計畫尚未落實，維持扣分。")
RETURN_REASON = "自評理由過於簡略，請補充佐證資料後再送。"
# The year in progress, by the sub-project's place in the outline modulo 10.
IN_PROGRESS = {
    0: AssessmentStatus.DRAFT,
    1: "partly scored",
    2: "partly scored",
    3: AssessmentStatus.SUBMITTED,
    4: AssessmentStatus.SUBMITTED,
    5: AssessmentStatus.ENDORSED,
    6: AssessmentStatus.ENDORSED,
    7: AssessmentStatus.RETURNED,
    8: AssessmentStatus.FINALIZED,
    9: AssessmentStatus.SUBMITTED,
}


@dataclass(frozen=True)
class DemoAssessments:
    published: int  # the year published
    in_progress: int  # the year in progress
    assessments: int
    grades: dict[str, int]


def demo_assessments_load(*, on: datetime.date) -> DemoAssessments | None:
    """Open, score and publish the demo plan's assessments; once: None when the plan has any already, or no
    reports (``seed_demo --no-reports``)."""
    plan = Plan.objects.order_by("pk").first()
    secretariat = users_with(Capability.OVERSEE).order_by("pk").first()
    if plan is None or secretariat is None or AssessmentScheme.objects.filter(plan=plan).exists():
        return None
    if not QuarterlyReport.objects.filter(node__plan=plan).exists():
        return None
    latest = demo_calendar(on, due_days=plan.report_due_days).latest
    year = latest.year if latest.quarter == 4 else latest.year - 1
    with transaction.atomic():
        outbox_before = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        published = _published_year(plan, year - 1, secretariat)
        _year_in_progress(plan, year, secretariat, on=on)
        # The demo's steps happened before anyone could be told: no emails or webhooks of them.
        OutboxMessage.objects.filter(pk__gt=outbox_before, sent_at__isnull=True).filter(
            task__startswith="assessments."
        ).delete()
    grades: dict[str, int] = {}
    for grade in published.assessments.values_list("grade", flat=True):
        grades[grade] = grades.get(grade, 0) + 1
    return DemoAssessments(
        published=year - 1, in_progress=year, assessments=published.assessments.count(), grades=grades
    )


def _open(plan, year: int, secretariat, calendar: dict | None = None):
    scheme = services.scheme_open(actor=secretariat, plan=plan, year=year, data=calendar)
    assessments = list(scheme.assessments.order_by("node__path"))
    nodes = PlanNode.objects.filter(pk__in=[assessment.node_id for assessment in assessments]).with_agency_links()
    return scheme, assessments, demo_casts(list(nodes), secretariat)


def _rng(year: int, index: int, what: str) -> random.Random:
    return random.Random(f"{year}:{index}:{what}")  # noqa: S311  (demo figures, not secrets)


def _expected(index: int, key: str) -> Decimal:
    """What a sub-project's demo profile earns on a criterion, where GSTP suggests nothing."""
    profile = PROFILES[index % len(PROFILES)]
    earned = {
        "progress": Decimal(86) + profile.gap * 2 - (6 if profile.slipping_milestone else 0),
        "budget": profile.execution * 100 - 8,
        "targets": Decimal(84) + profile.gap - (8 if profile.slipping_milestone else 0),
        "management": Decimal(90) - profile.days_late - (5 if profile.gap < -5 else 0),
    }
    return earned.get(key, Decimal(85))


def _clamped(value: Decimal) -> Decimal:
    return min(Decimal(100), max(Decimal(40), value)).quantize(TENTH)


def _self_entries(scores, index: int, year: int, *, keys=None) -> list[tuple]:
    """The lead's scores: the suggestion (or the profile's) with a few points more, and a justification."""
    entries = []
    for score in scores:
        key = score.criterion.key
        if keys is not None and key not in keys:
            continue
        rng = _rng(year, index, f"self:{key}")
        base = _expected(index, key) if score.suggested is None else score.suggested
        value = _clamped(base + Decimal(rng.randint(-3, 5)) + Decimal(rng.randint(0, 9)) / 10)
        good, weak = SELF_NOTES.get(key, ("依季報與佐證資料自評。", "依季報與佐證資料自評。"))
        entries.append((score, value, good if value >= 85 else weak))
    return entries


def _adjusted_entries(scores, index: int, year: int, *, level: Level) -> list[tuple]:
    """A reviewer's changes: the ministry takes some scores down; the secretariat moves a few either way."""
    entries = []
    for score in scores:
        rng = _rng(year, index, f"{level}:{score.criterion.key}")
        below = _effective(score, LEVEL_BELOW[level])
        if level == Level.REVIEW and below >= 95 and rng.random() < 0.75:
            change, note = -Decimal(rng.randint(6, 16)), FULL_MARK_NOTE
        elif level == Level.REVIEW and rng.random() < 0.55:
            change, note = -Decimal(rng.randint(3, 12)), rng.choice(REVIEW_NOTES)
        elif level == Level.FINAL and rng.random() < 0.3:
            change = Decimal(rng.choice((-6, -5, -4, -3, -2, 2, 3)))
            note = FINAL_NOTES[1] if change > 0 else rng.choice((FINAL_NOTES[0], FINAL_NOTES[2]))
        else:
            continue
        value = _clamped(below + change)
        if value != below:
            entries.append((score, value, note))
    return entries


def _effective(score: Score, level: Level) -> Decimal | None:
    value = score.score_at(level)
    if value is None and level in LEVEL_BELOW:
        return _effective(score, LEVEL_BELOW[level])
    return value


class Replay:
    """The chain's steps taken on assessments in memory, as ``services`` takes them (scores and notes, totals,
    grade, status, version, who and when, an event per step with its changes, a history row per version and
    per score changed), then written in a few bulk statements. The services' checks (who may, in which status,
    four eyes) hold by construction: each step is taken by the cast's person whose step it is."""

    def __init__(self, scheme: AssessmentScheme):
        self.scheme = scheme
        self.bands = list(scheme.bands.all())
        self.now = timezone.now()
        self.events: list[AssessmentEvent] = []
        self.history: list[Assessment] = []
        self.score_history: list[Score] = []

    def _step(self, assessment, *, actor, action, before, changes=None, reason="") -> None:
        assessment.version += 1
        assessment.updated_at = self.now
        self.history.append(copy.copy(assessment))
        self.events.append(
            AssessmentEvent(
                assessment=assessment,
                actor=actor,
                action=action,
                at=self.now,
                from_status=before,
                to_status=assessment.status,
                version=assessment.version,
                changes=changes or {},
                reason=reason,
            )
        )

    def score(self, assessment, scores, entries, *, level: Level, actor) -> None:
        if not entries:
            return
        changes = {}
        for score, value, note in entries:
            before = {"score": _text(score.score_at(level)), "note": score.note_at(level)}
            setattr(score, f"{level}_score", value)
            setattr(score, f"{level}_note", note)
            changes[score.criterion.key] = [before, {"score": _text(value), "note": note}]
            self.score_history.append(copy.copy(score))
        setattr(assessment, f"{level}_total", _total(scores, level))
        changes = {"level": str(level), "scores": changes}
        self._step(assessment, actor=actor, action=AssessmentAction.SCORE, before=assessment.status, changes=changes)

    def _fill(self, scores, level: Level) -> None:
        for score in scores:
            if score.score_at(level) is None:
                setattr(score, f"{level}_score", _effective(score, LEVEL_BELOW[level]))
                self.score_history.append(copy.copy(score))

    def submit(self, assessment, scores, *, actor) -> None:
        before, assessment.status = assessment.status, AssessmentStatus.SUBMITTED
        assessment.submitted_by, assessment.submitted_at = actor, self.now
        assessment.self_total = _total(scores, Level.SELF)
        self._step(assessment, actor=actor, action=AssessmentAction.SUBMIT, before=before)

    def return_(self, assessment, *, actor, reason: str) -> None:
        assessment.status = AssessmentStatus.RETURNED
        self._step(
            assessment, actor=actor, action=AssessmentAction.RETURN, before=AssessmentStatus.SUBMITTED, reason=reason
        )

    def endorse(self, assessment, scores, *, actor) -> None:
        self._fill(scores, Level.REVIEW)
        assessment.status = AssessmentStatus.ENDORSED
        assessment.endorsed_by, assessment.endorsed_at = actor, self.now
        assessment.review_total = _total(scores, Level.REVIEW)
        self._step(assessment, actor=actor, action=AssessmentAction.ENDORSE, before=AssessmentStatus.SUBMITTED)

    def finalize(self, assessment, scores, *, actor) -> None:
        self._fill(scores, Level.FINAL)
        assessment.status = AssessmentStatus.FINALIZED
        assessment.finalized_by, assessment.finalized_at = actor, self.now
        assessment.final_total = _total(scores, Level.FINAL)
        assessment.grade = self.scheme.grade_for(assessment.final_total, self.bands)
        self._step(assessment, actor=actor, action=AssessmentAction.FINALIZE, before=AssessmentStatus.ENDORSED)

    def write(self, assessments, scores) -> None:
        # Row by row: each assessment's and score's values differ, and Django's bulk_update (a CASE per column
        # over every row) takes several times as long.
        score_fields = [f"{level}_{what}" for level in Level for what in ("score", "note")]
        for score in scores:
            if any(getattr(score, field) not in (None, "") for field in score_fields):
                Score.objects.filter(pk=score.pk).update(**{field: getattr(score, field) for field in score_fields})
        for assessment in assessments:
            if assessment.version > 1:
                values = {field: getattr(assessment, field) for field in ASSESSMENT_FIELDS}
                Assessment.objects.filter(pk=assessment.pk).update(**values)
        AssessmentEvent.objects.bulk_create(self.events, batch_size=500)
        Assessment.history.bulk_history_create(self.history, update=True, default_date=self.now, batch_size=500)
        Score.history.bulk_history_create(self.score_history, update=True, default_date=self.now, batch_size=500)


ASSESSMENT_FIELDS = [
    "status",
    "version",
    "self_total",
    "review_total",
    "final_total",
    "grade",
    "submitted_by",
    "submitted_at",
    "endorsed_by",
    "endorsed_at",
    "finalized_by",
    "finalized_at",
    "updated_at",
]


def _text(value) -> str | None:
    return None if value is None else str(value)


def _total(scores, level: Level) -> Decimal | None:
    return weighted_total((_effective(score, level), score.criterion.weight) for score in scores)


def _take(replay: Replay, assessment, scores, index: int, year: int, cast, to: str) -> None:
    """Take an assessment along the chain to ``to``."""
    if to == AssessmentStatus.DRAFT:
        return
    if to == "partly scored":
        entries = _self_entries(scores, index, year, keys={scores[0].criterion.key, scores[-1].criterion.key})
        replay.score(assessment, scores, entries, level=Level.SELF, actor=cast.lead)
        return
    replay.score(assessment, scores, _self_entries(scores, index, year), level=Level.SELF, actor=cast.lead)
    replay.submit(assessment, scores, actor=cast.lead)
    if to == AssessmentStatus.SUBMITTED:
        return
    if to == AssessmentStatus.RETURNED:
        replay.return_(assessment, actor=cast.reviewer, reason=RETURN_REASON)
        return
    entries = _adjusted_entries(scores, index, year, level=Level.REVIEW)
    replay.score(assessment, scores, entries, level=Level.REVIEW, actor=cast.reviewer)
    replay.endorse(assessment, scores, actor=cast.reviewer)
    if to == AssessmentStatus.ENDORSED:
        return
    entries = _adjusted_entries(scores, index, year, level=Level.FINAL)
    replay.score(assessment, scores, entries, level=Level.FINAL, actor=cast.secretariat)
    replay.finalize(assessment, scores, actor=cast.secretariat)


def _load_year(plan, year: int, secretariat, stories, calendar: dict | None = None) -> AssessmentScheme:
    scheme, assessments, casts = _open(plan, year, secretariat, calendar)
    by_assessment = defaultdict(list)
    for score in Score.objects.filter(assessment__scheme=scheme).select_related("criterion"):
        by_assessment[score.assessment_id].append(score)
    replay = Replay(scheme)
    for index, assessment in enumerate(assessments):
        scores = sorted(by_assessment[assessment.pk], key=lambda score: (score.criterion.position, score.criterion_id))
        _take(replay, assessment, scores, index, year, casts[assessment.node_id], stories(index))
    replay.write(assessments, [score for scores in by_assessment.values() for score in scores])
    return scheme


def _published_year(plan, year: int, secretariat) -> AssessmentScheme:
    scheme = _load_year(plan, year, secretariat, lambda index: AssessmentStatus.FINALIZED)
    return services.scheme_publish(actor=secretariat, scheme=scheme)


def _year_in_progress(plan, year: int, secretariat, *, on: datetime.date) -> AssessmentScheme:
    day = datetime.timedelta(days=1)
    calendar = {"self_due": on + 7 * day, "review_due": on + 35 * day, "final_due": on + 63 * day}
    calendar["publish_on"] = on + 77 * day
    return _load_year(plan, year, secretariat, lambda index: IN_PROGRESS[index % len(IN_PROGRESS)], calendar)
