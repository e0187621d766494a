"""Writing the year's assessment: opening a scheme, scoring through the chain, files and publication.

Every write checks who may do it (``assessments.access``, 403), then the status (409), then the version the
client read (If-Match, 412), and is one transaction: an assessment's row is updated only if it is still at the
version read, its history gets the new state and an event records the step with the fields before and after
and the reason given.

Scores: a lead scores every criterion with a justification and submits (自評). The ministry's reviewer may
change any score, with a reason for each change, then passes it on (初核) or returns it to the lead. The
secretariat sets the final scores the same way (複核) or returns it to the ministry. A score a level leaves
alone is the one below's. Totals are worked out by ``models.weighted_total``; the grade from the scheme's bands.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp.exceptions import InvalidTransition, StaleVersion
from projects.models import AgencyRole, NodeKind, Plan
from reviews.services.files import ensure_room, file_name, inspect_upload_or_refuse, stored_content

from . import access, scoring
from .models import (
    DEFAULT_BANDS,
    DEFAULT_CRITERIA,
    EDITABLE_STATUSES,
    NOTE_MAX_CHARS,
    TWO_PLACES,
    Assessment,
    AssessmentAction,
    AssessmentEvent,
    AssessmentFile,
    AssessmentScheme,
    AssessmentStatus,
    Criterion,
    CriterionSource,
    GradeBand,
    Level,
    Score,
    default_calendar,
    weighted_total,
)

CALENDAR_FIELDS = ("self_due", "review_due", "final_due", "publish_on")
LEVEL_BELOW = {Level.REVIEW: Level.SELF, Level.FINAL: Level.REVIEW}


# --- schemes ------------------------------------------------------------------------------------------------


def _running_in(year: int) -> Q:
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    return (Q(start_date__isnull=True) | Q(start_date__lte=end)) & (Q(end_date__isnull=True) | Q(end_date__gte=start))


@transaction.atomic
def scheme_open(*, actor, plan: Plan, year: int, data: dict | None = None) -> AssessmentScheme:
    """The secretariat opens ``plan``'s assessment of ``year``: the scheme (default criteria, bands and calendar
    unless ``data`` gives them), and an assessment of every sub-project running that year, with its
    suggested scores."""
    access.ensure(access.can_set_scheme(actor), access.NOT_SECRETARIAT_TO_SET_SCHEME)
    data = dict(data or {})
    if not plan.start_year <= year <= plan.end_year:
        raise ValidationError(
            {"year": [_("The plan runs from %(start)s to %(end)s.") % {"start": plan.start_year, "end": plan.end_year}]}
        )
    if AssessmentScheme.objects.filter(plan=plan, year=year).exists():
        raise InvalidTransition(_("This plan's assessment of that year is already open."), code="already_open")
    calendar = {**default_calendar(year), **{name: data[name] for name in CALENDAR_FIELDS if name in data}}
    _validate_calendar(calendar)
    criteria = data.get("criteria") or [
        {"key": key, "name": name, "weight": weight, "source": source} for key, name, weight, source in DEFAULT_CRITERIA
    ]
    bands = data.get("bands") or [{"name": name, "minimum": minimum} for name, minimum in DEFAULT_BANDS]
    criteria, bands = _validated_criteria(criteria), _validated_bands(bands)
    try:
        with transaction.atomic():
            scheme = AssessmentScheme.objects.create(plan=plan, year=year, **calendar)
    except IntegrityError:
        raise InvalidTransition(
            _("This plan's assessment of that year is already open."), code="already_open"
        ) from None
    _replace_criteria(scheme, criteria)
    _replace_bands(scheme, bands)
    subprojects = list(
        plan.nodes.filter(_running_in(year), kind=NodeKind.SUBPROJECT, agency_links__role=AgencyRole.LEAD)
        .distinct()
        .order_by("path")
    )
    assessments = Assessment.objects.bulk_create(Assessment(scheme=scheme, node=node) for node in subprojects)
    Assessment.history.bulk_history_create(assessments)
    _suggest(scheme, assessments, create=True)
    AssessmentEvent.objects.bulk_create(
        AssessmentEvent(
            assessment=assessment,
            actor=actor,
            action=AssessmentAction.CREATE,
            to_status=assessment.status,
            version=assessment.version,
        )
        for assessment in assessments
    )
    return scheme


def _validate_calendar(calendar: dict) -> None:
    days = [calendar[name] for name in CALENDAR_FIELDS]
    for index in range(1, len(days)):
        if days[index] < days[index - 1]:
            raise ValidationError(
                {
                    CALENDAR_FIELDS[index]: [
                        _("The assessment's dates go in order: self-assessment, review, final, publication.")
                    ]
                }
            )


def _decimal(value, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: [_("A number is required.")]}) from None
    if not number.is_finite():
        raise ValidationError({field: [_("A number is required.")]})
    return number


def _validated_criteria(items) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise ValidationError({"criteria": [_("At least one criterion is required.")]})
    seen, criteria = set(), []
    for index, item in enumerate(items):
        field = f"criteria[{index}]"
        if not isinstance(item, dict):
            raise ValidationError({field: [_("Each criterion has a key, a name and a weight.")]})
        key, name = str(item.get("key") or "").strip(), str(item.get("name") or "").strip()
        if not key or not name:
            raise ValidationError({field: [_("Each criterion has a key, a name and a weight.")]})
        if key in seen:
            raise ValidationError({f"{field}.key": [_("Each criterion's key is different.")]})
        seen.add(key)
        weight = _decimal(item.get("weight"), f"{field}.weight")
        if not Decimal(0) < weight <= 100 or weight != weight.quantize(TWO_PLACES):
            raise ValidationError({f"{field}.weight": [_("A weight is more than 0 and at most 100, to two places.")]})
        source = item.get("source") or ""
        if source not in CriterionSource.values:
            raise ValidationError(
                {f"{field}.source": [_("Unknown source of suggestions: %(source)s.") % {"source": source}]}
            )
        criteria.append(
            {
                "key": key,
                "name": name,
                "weight": weight,
                "source": source,
                "description": str(item.get("description") or ""),
            }
        )
    if sum(item["weight"] for item in criteria) != 100:
        raise ValidationError({"criteria": [_("The criteria's weights add up to 100.")]})
    return criteria


def _validated_bands(items) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise ValidationError({"bands": [_("At least one grade is required.")]})
    bands, names, minimums = [], set(), set()
    for index, item in enumerate(items):
        field = f"bands[{index}]"
        name = str((item or {}).get("name") or "").strip() if isinstance(item, dict) else ""
        if not name:
            raise ValidationError({field: [_("Each grade has a name and a lowest total.")]})
        minimum = _decimal(item.get("minimum"), f"{field}.minimum")
        if not Decimal(0) <= minimum <= 100:
            raise ValidationError({f"{field}.minimum": [_("A lowest total is between 0 and 100.")]})
        if name in names or minimum in minimums:
            raise ValidationError({field: [_("Each grade has its own name and its own lowest total.")]})
        names.add(name)
        minimums.add(minimum)
        bands.append({"name": name, "minimum": minimum})
    if min(minimums) != 0:
        raise ValidationError({"bands": [_("The lowest grade starts at 0, so every total has a grade.")]})
    return sorted(bands, key=lambda band: band["minimum"], reverse=True)


def _replace_criteria(scheme: AssessmentScheme, criteria: list[dict]) -> None:
    """Criteria kept by key (their scores stay), the others removed with their scores, new ones added."""
    existing = {criterion.key: criterion for criterion in scheme.criteria.all()}
    keep = {item["key"] for item in criteria}
    gone = [criterion for key, criterion in existing.items() if key not in keep]
    if gone:
        Score.objects.filter(criterion__in=gone).delete()
        for criterion in gone:
            criterion.delete()
    added, resourced = [], False
    for position, item in enumerate(criteria):
        criterion = existing.get(item["key"]) or Criterion(scheme=scheme, key=item["key"])
        resourced |= criterion.pk is not None and criterion.source != item["source"]
        for name in ("name", "weight", "source", "description"):
            setattr(criterion, name, item[name])
        criterion.position = position
        if criterion.pk is None:
            added.append(criterion)
        criterion.save()
    if (added or resourced or gone) and scheme.assessments.exists():
        assessments = list(scheme.assessments.select_related("node"))
        Score.objects.bulk_create(Score(assessment=a, criterion=c) for a in assessments for c in added)
        _suggest(scheme, assessments)
        _touch(scheme.assessments.all())


def _replace_bands(scheme: AssessmentScheme, bands: list[dict]) -> None:
    scheme.bands.all().delete()
    for band in bands:
        GradeBand.objects.create(scheme=scheme, **band)


def _ensure_scheme_version(scheme: AssessmentScheme, expected_version: int | None) -> None:
    if expected_version is None:
        return
    updated = AssessmentScheme.objects.filter(pk=scheme.pk, version=expected_version).update(
        version=expected_version + 1, updated_at=timezone.now()
    )
    if not updated:
        raise StaleVersion(_("The assessment's settings have changed since they were read; fetch them again."))
    scheme.version = expected_version + 1


@transaction.atomic
def scheme_update(*, actor, scheme: AssessmentScheme, expected_version: int | None, data: dict) -> AssessmentScheme:
    """The secretariat changes the calendar (until publication), the criteria (until a self-assessment is
    submitted: a weight changed after would change totals already reviewed) or the grade bands (until
    publication). Recorded in the scheme's, criteria's and bands' history."""
    access.ensure(access.can_set_scheme(actor), access.NOT_SECRETARIAT_TO_SET_SCHEME)
    scheme = AssessmentScheme.objects.select_for_update().get(pk=scheme.pk)
    if scheme.is_published:
        raise InvalidTransition(_("The assessment is published: its settings stay as they were."))
    unknown = sorted(set(data) - {*CALENDAR_FIELDS, "criteria", "bands"})
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    if "criteria" in data:
        criteria = _validated_criteria(data["criteria"])
        if scheme.assessments.exclude(status=AssessmentStatus.DRAFT).exists():
            raise InvalidTransition(
                _("Self-assessments have been submitted: the criteria stay as they were scored."),
                code="criteria_in_use",
            )
    bands = _validated_bands(data["bands"]) if "bands" in data else None
    calendar = {name: data.get(name, getattr(scheme, name)) for name in CALENDAR_FIELDS}
    _validate_calendar(calendar)
    _ensure_scheme_version(scheme, expected_version)
    for name, value in calendar.items():
        setattr(scheme, name, value)
    if expected_version is None:
        scheme.version += 1
    scheme.save()
    if "criteria" in data:
        _replace_criteria(scheme, criteria)
    if bands is not None:
        _replace_bands(scheme, bands)
        _regrade(scheme)
    return scheme


def _touch(assessments, now=None, **values) -> list[Assessment]:
    """A change the scheme makes to its assessments (new bands, criteria, publication): each one's version goes
    up, so a client's ETag and ``updated_since`` see it, and its history gets the new state."""
    now = now or timezone.now()
    pks = list(assessments.values_list("pk", flat=True))
    Assessment.objects.filter(pk__in=pks).update(version=F("version") + 1, updated_at=now, **values)
    touched = list(Assessment.objects.filter(pk__in=pks))
    Assessment.history.bulk_history_create(touched, update=True, default_date=now)
    return touched


def _regrade(scheme: AssessmentScheme) -> None:
    bands = list(scheme.bands.all())
    for assessment in scheme.assessments.filter(status=AssessmentStatus.FINALIZED):
        grade = scheme.grade_for(assessment.final_total, bands)
        if grade != assessment.grade:
            _touch(Assessment.objects.filter(pk=assessment.pk), grade=grade)


# --- suggestions ------------------------------------------------------------------------------------------


def _suggest(scheme: AssessmentScheme, assessments, *, create: bool = False) -> None:
    """Work out the suggested scores of ``assessments`` (``assessments.scoring``) and store them with their
    evidence; with ``create``, make their score rows too."""
    criteria = list(scheme.criteria.all())
    figures = scoring.suggestions([assessment.node for assessment in assessments], scheme.year)
    now = timezone.now()
    if create:
        scores = [Score(assessment=a, criterion=c) for a in assessments for c in criteria]
    else:
        scores = list(Score.objects.filter(assessment__in=assessments).select_related("criterion"))
    by_id = {assessment.pk: assessment for assessment in assessments}
    for score in scores:
        criterion = next(c for c in criteria if c.pk == score.criterion_id)
        assessment = by_id[score.assessment_id]
        suggestion = figures.get(assessment.node_id, {}).get(criterion.source) if criterion.source else None
        score.suggested = suggestion.score if suggestion else None
        score.evidence = suggestion.evidence if suggestion else {}
    if create:
        Score.objects.bulk_create(scores)
        Score.history.bulk_history_create(scores)
    else:
        Score.objects.bulk_update(scores, ["suggested", "evidence"])
        Score.history.bulk_history_create(scores, update=True)
    Assessment.objects.filter(pk__in=by_id).update(suggested_at=now)
    for assessment in assessments:
        assessment.suggested_at = now


@transaction.atomic
def suggestions_refresh(*, actor, assessment: Assessment, expected_version: int | None = None) -> Assessment:
    """Work the suggestions out again from today's figures (a late correction of a report, say), while the
    lead is still scoring. The scores already given stay."""
    access.ensure(access.can_refresh_suggestions(actor, assessment), access.NOT_LEAD_TO_SCORE)
    _ensure_open(assessment)
    if assessment.status not in EDITABLE_STATUSES:
        raise InvalidTransition(_("Suggestions are worked out again only while the lead is scoring."))
    _save(assessment, expected_version=_expected(assessment, expected_version), fields=[])
    _suggest(assessment.scheme, [assessment])
    _record(assessment, actor=actor, action=AssessmentAction.SUGGEST, from_status=assessment.status)
    return assessment


# --- the chain ------------------------------------------------------------------------------------------------


def _expected(assessment: Assessment, expected_version: int | None) -> int:
    return assessment.version if expected_version is None else expected_version


def _ensure_open(assessment: Assessment, *, lock: bool = True) -> None:
    """Refuse a change to a published assessment. With ``lock`` (inside the write's transaction), the scheme's
    row is read locked: a publication waits for the writes under way and each write sees a publication made
    before it, so nothing is published half-way through a step (a reopened assessment without its grade)."""
    if lock:
        assessment.scheme = AssessmentScheme.objects.select_for_update().get(pk=assessment.scheme_id)
    if assessment.scheme.published_at is not None:
        raise InvalidTransition(_("The assessment is published: its scores stay as they were published."))


def _save(assessment: Assessment, *, expected_version: int, fields) -> None:
    """Write ``fields`` only if the assessment is still at ``expected_version``; the loser of a race gets 412."""
    now = timezone.now()
    values = {field: getattr(assessment, field) for field in fields}
    updated = Assessment.objects.filter(pk=assessment.pk, version=expected_version).update(
        **values, version=expected_version + 1, updated_at=now
    )
    if not updated:
        raise StaleVersion(
            _("The assessment has changed since it was read; fetch it again and retry with the new ETag.")
        )
    assessment.version = expected_version + 1
    assessment.updated_at = now
    Assessment.history.bulk_history_create([assessment], update=True, default_date=now)


def _record(assessment, *, actor, action, from_status, changes=None, reason="") -> None:
    AssessmentEvent.objects.create(
        assessment=assessment,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=assessment.status,
        version=assessment.version,
        changes=changes or {},
        reason=reason,
    )


def _scores(assessment: Assessment) -> list[Score]:
    return list(assessment.scores.select_related("criterion").order_by("criterion__position", "criterion_id"))


def _parse_entries(items, scores: list[Score]) -> list[tuple[Score, Decimal | None, str | None]]:
    """``[{"criterion": key, "score": "85", "note": "…"}]`` → (score row, new score, new note) per entry;
    a 400 naming the entry for anything else."""
    if not isinstance(items, list):
        raise ValidationError({"scores": [_("A list of criteria with their scores is required.")]})
    by_key = {score.criterion.key: score for score in scores}
    parsed, seen = [], set()
    for index, item in enumerate(items):
        field = f"scores[{index}]"
        if not isinstance(item, dict):
            raise ValidationError({field: [_("Each entry names a criterion and gives its score and note.")]})
        key = item.get("criterion")
        if not isinstance(key, str) or key not in by_key:
            raise ValidationError({f"{field}.criterion": [_("Unknown criterion: %(key)s.") % {"key": key}]})
        if key in seen:
            raise ValidationError({f"{field}.criterion": [_("Each criterion is scored once.")]})
        seen.add(key)
        value = None
        if "score" in item and item["score"] not in (None, ""):
            value = _decimal(item["score"], f"{field}.score")
            if not Decimal(0) <= value <= 100 or value != value.quantize(TWO_PLACES):
                raise ValidationError({f"{field}.score": [_("A score is between 0 and 100, to two places.")]})
        note = item.get("note")
        if note is not None:
            note = str(note).strip()
            if len(note) > NOTE_MAX_CHARS:
                raise ValidationError(
                    {f"{field}.note": [_("At most %(count)s characters.") % {"count": NOTE_MAX_CHARS}]}
                )
        parsed.append((by_key[key], value if "score" in item else ..., note))
    return parsed


def _level_for_scoring(actor, assessment: Assessment) -> Level:
    status = assessment.status
    if status in EDITABLE_STATUSES:
        access.ensure(access.can_score(actor, assessment), access.NOT_LEAD_TO_SCORE)
        return Level.SELF
    if status == AssessmentStatus.SUBMITTED:
        access.ensure_reviewer(actor, assessment)
        return Level.REVIEW
    if status == AssessmentStatus.ENDORSED:
        access.ensure_finalizer(actor, assessment)
        return Level.FINAL
    _ensure_open(assessment, lock=False)
    raise InvalidTransition(_("An assessment with final scores is not scored again unless it is reopened."))


@transaction.atomic
def assessment_score(*, actor, assessment: Assessment, expected_version: int | None, entries) -> Assessment:
    """Write the scores and notes of the level whose turn it is (the lead's, the ministry's or the
    secretariat's). Criteria left out keep what they had."""
    level = _level_for_scoring(actor, assessment)
    _ensure_open(assessment)
    scores = _scores(assessment)
    parsed = _parse_entries(entries, scores)
    changes, changed = {}, []
    for score, value, note in parsed:
        before = (score.score_at(level), score.note_at(level))
        if value is not ...:
            setattr(score, f"{level}_score", value)
        if note is not None:
            setattr(score, f"{level}_note", note)
        after = (score.score_at(level), score.note_at(level))
        if after != before:
            changes[score.criterion.key] = [_change(*before), _change(*after)]
            changed.append(score)
    if not changed:
        if expected_version is not None and expected_version != assessment.version:
            raise StaleVersion(
                _("The assessment has changed since it was read; fetch it again and retry with the new ETag.")
            )
        return assessment
    Score.objects.bulk_update(changed, [f"{level}_score", f"{level}_note"])
    Score.history.bulk_history_create(changed, update=True)
    total_field = f"{level}_total"
    setattr(assessment, total_field, _total(scores, level))
    _save(assessment, expected_version=_expected(assessment, expected_version), fields=[total_field])
    _record(
        assessment,
        actor=actor,
        action=AssessmentAction.SCORE,
        from_status=assessment.status,
        changes={"level": str(level), "scores": changes},
    )
    return assessment


def _change(score, note) -> dict:
    return {"score": None if score is None else str(score), "note": note}


def _effective(score: Score, level: Level) -> Decimal | None:
    """The score at ``level``: its own, or the one below's where the level left it alone."""
    value = score.score_at(level)
    if value is None and level in LEVEL_BELOW:
        return _effective(score, LEVEL_BELOW[level])
    return value


def _total(scores: list[Score], level: Level) -> Decimal | None:
    return weighted_total((_effective(score, level), score.criterion.weight) for score in scores)


def _ensure_complete(scores: list[Score], level: Level) -> None:
    """Before a level passes an assessment on: the lead has scored and justified every criterion; a
    reviewer has given a reason for every score it changed."""
    errors = {}
    for index, score in enumerate(scores):
        field = f"scores[{index}]"
        if level == Level.SELF:
            if score.self_score is None:
                errors[f"{field}.score"] = [_("Score every criterion before submitting.")]
            elif not score.self_note:
                errors[f"{field}.note"] = [_("Give a short justification of every score.")]
            continue
        own, below = score.score_at(level), _effective(score, LEVEL_BELOW[level])
        if own is not None and own != below and not score.note_at(level):
            errors[f"{field}.note"] = [_("Give the reason for every score you changed.")]
    if errors:
        raise ValidationError(errors)


def _fill_level(scores: list[Score], level: Level) -> None:
    """A score the level left alone is the one below's: written in, so each level's column is whole."""
    filled = []
    for score in scores:
        if score.score_at(level) is None:
            setattr(score, f"{level}_score", _effective(score, LEVEL_BELOW[level]))
            filled.append(score)
    if filled:
        Score.objects.bulk_update(filled, [f"{level}_score"])
        Score.history.bulk_history_create(filled, update=True)


def _clear_unexplained(assessment: Assessment, levels) -> None:
    """When an assessment goes back down the chain: the scores of ``levels`` given without a reason (those
    written in from the level below when it was passed on) are cleared, so that they follow the level below
    again instead of standing as changes nobody made."""
    cleared = []
    for score in _scores(assessment):
        changed = False
        for level in levels:
            if score.score_at(level) is not None and not score.note_at(level):
                setattr(score, f"{level}_score", None)
                changed = True
        if changed:
            cleared.append(score)
    if cleared:
        Score.objects.bulk_update(cleared, [f"{level}_score" for level in levels])
        Score.history.bulk_history_create(cleared, update=True)


@transaction.atomic
def assessment_submit(*, actor, assessment: Assessment, expected_version: int | None) -> Assessment:
    """The lead sends its self-assessment (自評) to the ministry's reviewer."""
    access.ensure(access.can_submit(actor, assessment), access.NOT_LEAD_TO_SUBMIT)
    _ensure_open(assessment)
    if assessment.status not in EDITABLE_STATUSES:
        raise InvalidTransition(_("Only a self-assessment in progress or returned can be submitted."))
    scores = _scores(assessment)
    _ensure_complete(scores, Level.SELF)
    before = assessment.status
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_by, assessment.submitted_at = actor, timezone.now()
    assessment.self_total = _total(scores, Level.SELF)
    _save(
        assessment,
        expected_version=_expected(assessment, expected_version),
        fields=["status", "submitted_by", "submitted_at", "self_total"],
    )
    _record(assessment, actor=actor, action=AssessmentAction.SUBMIT, from_status=before)
    _notify(assessment, step="submitted")
    return assessment


@transaction.atomic
def assessment_withdraw(*, actor, assessment: Assessment, expected_version: int | None, reason: str = "") -> Assessment:
    """The lead takes back a self-assessment the ministry has not reviewed yet."""
    access.ensure(access.can_withdraw(actor, assessment), access.NOT_LEAD_TO_WITHDRAW)
    _ensure_open(assessment)
    if assessment.status != AssessmentStatus.SUBMITTED:
        raise InvalidTransition(_("Only a submitted self-assessment can be withdrawn."))
    if not assessment.withdrawable:
        raise InvalidTransition(
            _("The ministry has reviewed this self-assessment: it is back with the ministry, not the lead.")
        )
    assessment.status = AssessmentStatus.DRAFT
    _save(assessment, expected_version=_expected(assessment, expected_version), fields=["status"])
    _record(
        assessment, actor=actor, action=AssessmentAction.WITHDRAW, from_status=AssessmentStatus.SUBMITTED, reason=reason
    )
    return assessment


@transaction.atomic
def assessment_endorse(*, actor, assessment: Assessment, expected_version: int | None) -> Assessment:
    """The ministry's reviewer passes the assessment, with its adjusted scores, to the secretariat (初核)."""
    access.ensure_reviewer(actor, assessment)
    _ensure_open(assessment)
    if assessment.status != AssessmentStatus.SUBMITTED:
        raise InvalidTransition(_("Only a submitted self-assessment can be reviewed by the ministry."))
    scores = _scores(assessment)
    _ensure_complete(scores, Level.REVIEW)
    _fill_level(scores, Level.REVIEW)
    now = timezone.now()
    assessment.status = AssessmentStatus.ENDORSED
    assessment.endorsed_by, assessment.endorsed_at = actor, now
    assessment.review_total = _total(scores, Level.REVIEW)
    _save(
        assessment,
        expected_version=_expected(assessment, expected_version),
        fields=["status", "endorsed_by", "endorsed_at", "review_total"],
    )
    assessment.files.filter(frozen_at__isnull=True).update(frozen_at=now)
    _record(assessment, actor=actor, action=AssessmentAction.ENDORSE, from_status=AssessmentStatus.SUBMITTED)
    _notify(assessment, step="endorsed")
    return assessment


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("A reason is required.")]})
    if len(reason) > NOTE_MAX_CHARS:
        raise ValidationError({"reason": [_("At most %(count)s characters.") % {"count": NOTE_MAX_CHARS}]})
    return reason


@transaction.atomic
def assessment_return(*, actor, assessment: Assessment, expected_version: int | None, reason: str) -> Assessment:
    """A step back down the chain, with the reason: the ministry's reviewer to the lead, the secretariat to
    the ministry. The levels above the one it goes back to keep the scores they gave with a reason, as a
    starting point for their next review; the others follow the level below again."""
    access.ensure(access.can_return(actor, assessment), access.NOT_ALLOWED_TO_RETURN)
    _ensure_open(assessment)
    before = assessment.status
    if before == AssessmentStatus.SUBMITTED:
        access.ensure_reviewer(actor, assessment)
        after = AssessmentStatus.RETURNED
    elif before == AssessmentStatus.ENDORSED:
        access.ensure_finalizer(actor, assessment)
        after = AssessmentStatus.SUBMITTED
    else:
        raise InvalidTransition(_("Only an assessment under review can be returned."))
    reason = _required_reason(reason)
    assessment.status = after
    _save(assessment, expected_version=_expected(assessment, expected_version), fields=["status"])
    _clear_unexplained(
        assessment, (Level.REVIEW, Level.FINAL) if after == AssessmentStatus.RETURNED else (Level.FINAL,)
    )
    _record(assessment, actor=actor, action=AssessmentAction.RETURN, from_status=before, reason=reason)
    _notify(assessment, step="returned")
    return assessment


@transaction.atomic
def assessment_finalize(*, actor, assessment: Assessment, expected_version: int | None) -> Assessment:
    """The secretariat sets the final scores (複核): the total and the grade follow."""
    access.ensure_finalizer(actor, assessment)
    _ensure_open(assessment)
    if assessment.status != AssessmentStatus.ENDORSED:
        raise InvalidTransition(_("Only an assessment the ministry has reviewed gets its final scores."))
    scores = _scores(assessment)
    _ensure_complete(scores, Level.FINAL)
    _fill_level(scores, Level.FINAL)
    assessment.status = AssessmentStatus.FINALIZED
    assessment.finalized_by, assessment.finalized_at = actor, timezone.now()
    assessment.final_total = _total(scores, Level.FINAL)
    assessment.grade = assessment.scheme.grade_for(assessment.final_total)
    _save(
        assessment,
        expected_version=_expected(assessment, expected_version),
        fields=["status", "finalized_by", "finalized_at", "final_total", "grade"],
    )
    _record(assessment, actor=actor, action=AssessmentAction.FINALIZE, from_status=AssessmentStatus.ENDORSED)
    return assessment


@transaction.atomic
def assessment_reopen(*, actor, assessment: Assessment, expected_version: int | None, reason: str) -> Assessment:
    """The secretariat takes back final scores before publication, with the reason: the assessment waits for
    its final scores again."""
    access.ensure(access.can_reopen(actor, assessment), access.NOT_SECRETARIAT_TO_REOPEN)
    _ensure_open(assessment)
    if assessment.status != AssessmentStatus.FINALIZED:
        raise InvalidTransition(_("Only an assessment with final scores can be reopened."))
    reason = _required_reason(reason)
    assessment.status = AssessmentStatus.ENDORSED
    assessment.grade = ""
    assessment.final_total = None
    _save(
        assessment,
        expected_version=_expected(assessment, expected_version),
        fields=["status", "grade", "final_total"],
    )
    _record(
        assessment, actor=actor, action=AssessmentAction.REOPEN, from_status=AssessmentStatus.FINALIZED, reason=reason
    )
    return assessment


# --- publication --------------------------------------------------------------------------------------------


@transaction.atomic
def scheme_publish(*, actor, scheme: AssessmentScheme, expected_version: int | None = None) -> AssessmentScheme:
    """The secretariat publishes a plan's results of a year at once: every assessment must have its final
    scores. From then on every signed-in user sees each sub-project's grade and total, and nothing changes."""
    access.ensure(access.can_publish(actor), access.NOT_SECRETARIAT_TO_PUBLISH)
    scheme = AssessmentScheme.objects.select_for_update().get(pk=scheme.pk)
    if scheme.is_published:
        raise InvalidTransition(_("This assessment is already published."), code="already_published")
    waiting = scheme.assessments.exclude(status=AssessmentStatus.FINALIZED).count()
    if waiting:
        raise InvalidTransition(
            _("%(count)s assessments do not have their final scores yet: publish once every one has.")
            % {"count": waiting},
            code="not_finalized",
        )
    _ensure_scheme_version(scheme, expected_version)
    now = timezone.now()
    scheme.published_at, scheme.published_by = now, actor
    if expected_version is None:
        scheme.version += 1
    scheme.save()
    _regrade(scheme)
    assessments = _touch(scheme.assessments.all(), now)
    AssessmentEvent.objects.bulk_create(
        AssessmentEvent(
            assessment=assessment,
            actor=actor,
            action=AssessmentAction.PUBLISH,
            at=now,
            from_status=assessment.status,
            to_status=assessment.status,
            version=assessment.version,
        )
        for assessment in assessments
    )
    _notify_published(scheme)
    return scheme


# --- files ----------------------------------------------------------------------------------------------------


def _ensure_files_open(assessment: Assessment, *, lock: bool = True) -> None:
    _ensure_open(assessment, lock=lock)
    if assessment.status not in EDITABLE_STATUSES:
        raise InvalidTransition(_("Files are added to and removed from a self-assessment in progress or returned."))


def assessment_file_add(
    *, actor, assessment: Assessment, upload, expected_version: int | None = None
) -> AssessmentFile:
    """A lead adds an evidence file (佐證資料) to its self-assessment, checked as a report's files are."""

    access.ensure(access.can_add_files(actor, assessment), access.NOT_LEAD_TO_ADD_FILES)
    _ensure_files_open(assessment, lock=False)
    inspection = inspect_upload_or_refuse(upload)
    with transaction.atomic():
        current = Assessment.objects.select_for_update().get(pk=assessment.pk)
        assessment.status = current.status
        _ensure_files_open(assessment)
        ensure_room(
            current.files,
            inspection.size,
            _("The files would add up to more than %(limit)s bytes (%(stored)s bytes so far)."),
        )
        _save(assessment, expected_version=current.version if expected_version is None else expected_version, fields=[])
        evidence = AssessmentFile(
            assessment=assessment,
            name=file_name(upload.name),
            size=inspection.size,
            content_type=inspection.content_type,
            sha256=inspection.sha256,
            uploaded_by=actor,
        )
        with stored_content(evidence, upload):
            evidence.save()
            _record(
                assessment,
                actor=actor,
                action=AssessmentAction.ADD_FILE,
                from_status=assessment.status,
                changes={"file": [None, {"id": evidence.pk, "name": evidence.name, "sha256": evidence.sha256}]},
            )
    return evidence


@transaction.atomic
def assessment_file_remove(*, actor, evidence: AssessmentFile, expected_version: int | None = None) -> None:
    assessment = evidence.assessment
    access.ensure(access.can_add_files(actor, assessment), access.NOT_LEAD_TO_ADD_FILES)
    if evidence.frozen_at is not None:
        raise InvalidTransition(_("This file was part of a reviewed self-assessment: it stays."))
    current = Assessment.objects.select_for_update().get(pk=assessment.pk)
    assessment.status = current.status
    _ensure_files_open(assessment)
    _save(assessment, expected_version=current.version if expected_version is None else expected_version, fields=[])
    change = {"id": evidence.pk, "name": evidence.name, "sha256": evidence.sha256}
    storage, stored_name = evidence.content.storage, evidence.content.name
    evidence.delete()
    transaction.on_commit(lambda: storage.delete(stored_name))
    _record(
        assessment,
        actor=actor,
        action=AssessmentAction.REMOVE_FILE,
        from_status=assessment.status,
        changes={"file": [change, None]},
    )


# --- notifications ------------------------------------------------------------------------------------------


def _notify(assessment: Assessment, *, step: str) -> None:
    """Tell the next level (``assessments.notifications``), once this commits."""
    from .notifications import assessment_step_enqueue

    assessment_step_enqueue(assessment, step=step)


def _notify_published(scheme: AssessmentScheme) -> None:
    from .notifications import scheme_published_enqueue

    scheme_published_enqueue(scheme)
