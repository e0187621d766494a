"""The year's assessment (年度考評) on the pages: what waits for the user's step (a lead's self-assessments; the
ministry reviewer's and the secretariat's reviews, the largest gap between self-assessed and suggested scores
first), one assessment's page with the scoring form of the level whose turn it is (the suggestion and its
evidence beside each criterion), its files, the return with a reason, and a year's page: its calendar, criteria
and grades, the secretariat's counts and publication, and after publication every sub-project's grade.

Each step calls the service the API calls, with the version the page was read at (its If-Match); what a
service refuses is shown next to its field, in the reader's language."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assessments import access, selectors, services
from assessments.models import AssessmentStatus, Level, Score, weighted_total
from gstp.exceptions import StaleVersion

from ..assessment_forms import ScoreForm
from ..forms import EvidenceForm, ReasonForm
from .base import SERVICE_ERRORS, console_page, error_messages, error_status, service_errors

PER_PAGE = 25
LATEST = 50
# The form's buttons: save, then the level's step.
STEPS = {
    "submit": (services.assessment_submit, Level.SELF),
    "endorse": (services.assessment_endorse, Level.REVIEW),
    "finalize": (services.assessment_finalize, Level.FINAL),
}


def stale() -> StaleVersion:
    return StaleVersion(
        _("Someone changed this assessment after you opened it; nothing was saved. Reload the page to see it.")
    )


def _posted_version(request) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        raise stale() from None


def _assessment(request, pk):
    assessments = access.assessments_for(request.user).select_related("scheme__plan", "node")
    return get_object_or_404(assessments, pk=pk)


def _url(assessment) -> str:
    return reverse("console:assessment", kwargs={"pk": assessment.pk})


def _scores(assessment) -> list[Score]:
    return list(assessment.scores.select_related("criterion").order_by("criterion__position", "criterion_id"))


def _errors(exc) -> list | dict:
    return [str(stale().detail)] if isinstance(exc, StaleVersion) else service_errors(exc)


# --- what waits ------------------------------------------------------------------------------------------


@console_page
def assessments_page(request):
    """What waits for the user's step (``selectors.review_queue``, the largest gap first), the latest
    assessments the user takes part in, and every year's assessment (its page, and its results once
    published)."""
    user = request.user
    page = Paginator(selectors.review_queue(user=user), PER_PAGE).get_page(request.GET.get("page"))
    latest = (
        access.chain_assessments_for(user)
        .select_related("scheme__plan", "node")
        .order_by("-updated_at", "-id")[:LATEST]
    )
    context = {
        "page": page,
        "reviews": bool(access.can_see_assessment_queue(user)),
        "latest": list(latest),
        "schemes": list(selectors.scheme_list(user=user).order_by("-year", "plan__code")),
    }
    return render(request, "console/assessments.html", context)


# --- one assessment ----------------------------------------------------------------------------------------


def _totals(scores: list[Score]) -> dict:
    """Each level's total as it stands, and the suggestions' (where every criterion has one)."""
    totals = {"suggested": weighted_total((s.suggested, s.criterion.weight) for s in scores)}
    effective = {}
    for score in scores:
        below = None
        for level in (Level.SELF, Level.REVIEW, Level.FINAL):
            value = score.score_at(level)
            below = below if value is None else value
            effective.setdefault(level, []).append((below, score.criterion.weight))
    for level, pairs in effective.items():
        totals[str(level)] = weighted_total(pairs)
    return totals


def assessment_response(request, assessment, *, form=None, file_form=None, status=200):
    user = request.user
    whole = access.sees_whole(user, assessment)
    actions = access.assessment_actions(user, assessment) if whole else frozenset()
    scores = _scores(assessment) if whole else []
    level = access.level_of(user, assessment) if "score" in actions else None
    if form is None and level is not None:
        form = ScoreForm(scores=scores, level=level)
    if "add_file" in actions and file_form is None:
        file_form = EvidenceForm()
    context = {
        "assessment": assessment,
        "scheme": assessment.scheme,
        "node": assessment.node,
        "whole": whole,
        "published": access.published_visible(assessment),
        "actions": actions,
        "level": level,
        "form": form,
        "scores": scores,
        "totals": _totals(scores) if whole else {},
        "files": list(access.files_for(user, assessment).select_related("uploaded_by")) if whole else None,
        "file_form": file_form if "add_file" in actions else None,
        "return_form": ReasonForm(prefix=f"return-{assessment.pk}") if "return" in actions else None,
        "withdraw_form": ReasonForm(prefix=f"withdraw-{assessment.pk}", optional=True)
        if "withdraw" in actions
        else None,
        "reopen_form": ReasonForm(prefix=f"reopen-{assessment.pk}") if "reopen" in actions else None,
        "history": list(assessment.events.select_related("actor"))
        if access.can_see_history(user, assessment)
        else None,
    }
    return render(request, "console/assessment.html", context, status=status)


@console_page
def assessment_page(request, pk):
    """One assessment: the suggestions and every level's scores (for its chain), the scoring form of the
    user's level with the buttons of its step; to anyone else, once published, its grade and total."""
    assessment = _assessment(request, pk)
    if request.method != "POST":
        return assessment_response(request, assessment)
    user = request.user
    level = access.level_of(user, assessment) if "score" in access.assessment_actions(user, assessment) else None
    if level is None:
        # Not the user's turn: the service says why (403 by role, 409 by status or publication).
        try:
            services.assessment_score(actor=user, assessment=assessment, expected_version=None, entries=[])
        except SERVICE_ERRORS as exc:
            for message in error_messages(_errors(exc)):
                messages.error(request, message)
            return assessment_response(request, assessment, status=error_status(exc))
        return redirect(_url(assessment))
    form = ScoreForm(request.POST, scores=_scores(assessment), level=level)
    form.full_clean()
    step = request.POST.get("action", "save")
    try:
        # The scores and the step together, or neither: a refused step leaves the scores as they were.
        with transaction.atomic():
            version = _posted_version(request)
            if form.has_changes():
                services.assessment_score(
                    actor=user, assessment=assessment, expected_version=version, entries=form.entries()
                )
            elif version != assessment.version:
                raise stale()
            if step in STEPS and STEPS[step][1] == level:
                STEPS[step][0](actor=user, assessment=assessment, expected_version=assessment.version)
    except SERVICE_ERRORS as exc:
        form.errors_apply(_errors(exc))
        assessment.refresh_from_db()
        return assessment_response(request, assessment, form=form, status=error_status(exc))
    messages.success(request, _done(step, level, assessment))
    return redirect(_url(assessment))


def _done(step: str, level: Level, assessment) -> str:
    named = {"project": assessment.node.title}
    if step == "submit" and level == Level.SELF:
        return _("Submitted the self-assessment of %(project)s to the ministry's reviewer.") % named
    if step == "endorse" and level == Level.REVIEW:
        return _("Reviewed the assessment of %(project)s: it goes on to the Executive Secretariat.") % named
    if step == "finalize" and level == Level.FINAL:
        return _("Set the final scores of %(project)s: grade %(grade)s.") % {**named, "grade": assessment.grade}
    return _("Saved the scores of %(project)s.") % named


def _reasoned_step(request, pk, *, allowed, refusal, service, prefix: str, done: str):
    """A step with a reason (``prefix`` names its form): the early check, then the service with the version
    the page was read at; back to the page, saying what happened or why nothing did."""
    assessment = _assessment(request, pk)
    access.ensure(allowed(request.user, assessment), refusal)
    reason = ReasonForm(request.POST, prefix=f"{prefix}-{assessment.pk}").payload()["reason"]
    try:
        service(actor=request.user, assessment=assessment, expected_version=_posted_version(request), reason=reason)
    except SERVICE_ERRORS as exc:
        for message in error_messages(_errors(exc)):
            messages.error(request, message)
        return redirect(_url(assessment) + f"#{prefix}")
    messages.success(request, done % {"project": assessment.node.title})
    return redirect(_url(assessment))


@require_POST
@console_page
def assessment_return(request, pk):
    """The ministry's reviewer returns a self-assessment to the lead, the secretariat a review to the ministry,
    with the reason."""
    return _reasoned_step(
        request,
        pk,
        allowed=access.can_return,
        refusal=access.NOT_ALLOWED_TO_RETURN,
        service=services.assessment_return,
        prefix="return",
        done=_("Returned the assessment of %(project)s."),
    )


@require_POST
@console_page
def assessment_withdraw(request, pk):
    """The lead takes back a self-assessment nobody has reviewed yet; the reason is optional."""
    return _reasoned_step(
        request,
        pk,
        allowed=access.can_withdraw,
        refusal=access.NOT_LEAD_TO_WITHDRAW,
        service=services.assessment_withdraw,
        prefix="withdraw",
        done=_("Withdrew the self-assessment of %(project)s: it can be changed again."),
    )


@require_POST
@console_page
def assessment_reopen(request, pk):
    """The secretariat takes back final scores before publication, with the reason."""
    return _reasoned_step(
        request,
        pk,
        allowed=access.can_reopen,
        refusal=access.NOT_SECRETARIAT_TO_REOPEN,
        service=services.assessment_reopen,
        prefix="reopen",
        done=_("Reopened the assessment of %(project)s: it waits for its final scores again."),
    )


# --- files ----------------------------------------------------------------------------------------------------


def _files_url(assessment) -> str:
    return _url(assessment) + "#files"


@require_POST
@console_page
def assessment_file_add(request, pk):
    assessment = _assessment(request, pk)
    access.ensure(access.can_add_files(request.user, assessment), access.NOT_LEAD_TO_ADD_FILES)
    form = EvidenceForm(request.POST, request.FILES)
    upload = form.upload()
    status = 400
    if upload is None:
        form.errors_apply({"file": [_("Choose a file to add.")]})
    else:
        try:
            evidence = services.assessment_file_add(
                actor=request.user, assessment=assessment, upload=upload, expected_version=_posted_version(request)
            )
        except SERVICE_ERRORS as exc:
            form.errors_apply(_errors(exc))
            status = error_status(exc)
        else:
            messages.success(request, _("Added %(name)s to the assessment's evidence.") % {"name": evidence.name})
            return redirect(_files_url(assessment))
    assessment.refresh_from_db()
    return assessment_response(request, assessment, file_form=form, status=status)


@require_POST
@console_page
def assessment_file_remove(request, pk, file_pk):
    assessment = _assessment(request, pk)
    evidence = get_object_or_404(access.files_for(request.user, assessment), pk=file_pk)
    access.ensure(access.can_add_files(request.user, assessment), access.NOT_LEAD_TO_ADD_FILES)
    try:
        services.assessment_file_remove(
            actor=request.user, evidence=evidence, expected_version=_posted_version(request)
        )
    except SERVICE_ERRORS as exc:
        for message in error_messages(_errors(exc)):
            messages.error(request, message)
    else:
        messages.success(request, _("Removed %(name)s from the assessment's evidence.") % {"name": evidence.name})
    return redirect(_files_url(assessment))


@console_page
def assessment_file(request, pk, file_pk):
    """An evidence file's content, to whoever sees the assessment whole; under its own name, as an attachment."""
    assessment = _assessment(request, pk)
    evidence = get_object_or_404(access.files_for(request.user, assessment), pk=file_pk)
    response = FileResponse(evidence.content.open("rb"), as_attachment=True, filename=evidence.name)
    response["Content-Type"] = evidence.content_type
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- a year ------------------------------------------------------------------------------------------------


def _scheme(request, pk):
    return get_object_or_404(selectors.scheme_list(user=request.user).select_related("published_by"), pk=pk)


@console_page
def assessment_year_page(request, pk):
    """A plan's assessment of a year: its calendar, criteria and grades; for the secretariat the assessments
    counted by status and the publication; the chain's own assessments before publication, every sub-project's
    grade and final total after it."""
    user = request.user
    scheme = _scheme(request, pk)
    secretariat = bool(access.can_publish(user))
    counts = []
    if secretariat:
        found = dict(
            scheme.assessments.order_by()
            .values_list("status")
            .annotate(count=Count("pk"))
            .values_list("status", "count")
        )
        counts = [(status, label, found.get(status, 0)) for status, label in AssessmentStatus.choices]
    shown = access.assessments_for(user) if scheme.is_published else access.chain_assessments_for(user)
    rows = list(shown.filter(scheme=scheme).select_related("node").order_by("node__path"))
    context = {
        "scheme": scheme,
        "criteria": list(scheme.criteria.all()),
        "bands": list(scheme.bands.all()),
        "counts": counts,
        "rows": rows,
        "can_publish": secretariat and not scheme.is_published,
        "can_set": bool(access.can_change_scheme_in_admin(user)) and not scheme.is_published,
    }
    return render(request, "console/assessment_year.html", context)


@require_POST
@console_page
def assessment_year_publish(request, pk):
    """The secretariat publishes the year's results at once; refused, saying how many still wait, while any
    assessment lacks its final scores."""
    scheme = _scheme(request, pk)
    access.ensure(access.can_publish(request.user), access.NOT_SECRETARIAT_TO_PUBLISH)
    try:
        version = _posted_version(request)
        services.scheme_publish(actor=request.user, scheme=scheme, expected_version=version)
    except SERVICE_ERRORS as exc:
        for message in error_messages(_errors(exc)):
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("Published the %(year)s assessment of %(plan)s: every signed-in user now sees the grades.")
            % {"year": scheme.year, "plan": scheme.plan.name},
        )
    return redirect("console:assessment-year", pk=scheme.pk)
