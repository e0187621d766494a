"""Who sees and does what with the year's assessments (年度考評): the one place that answers it. The API, the
console, the services' own second check, the exports, the dashboard, the annual report, the admin and the jobs
all ask here.

Rows:
- schemes (a plan's criteria, grade bands and calendar for a year): every signed-in user; only the
  secretariat opens, changes and publishes them;
- assessments: the secretariat all of them; a lead those of the sub-projects its agency (or a sub-unit)
  leads; a ministry reviewer those its ministry reviews; and, once a scheme is published, every signed-in
  user (readers and other systems' keys included) every assessment of it;
- fields: the chain (the secretariat, the sub-project's leads and its ministry's reviewers) sees an
  assessment whole: the suggestions, each level's scores and reasons, files and history. Anyone else sees
  only what publication makes public: the sub-project, the final total and the grade
  (``AssessmentFields.PUBLISHED``). Before publication nobody outside the chain sees any score.

The chain: a lead scores each criterion with a justification and submits (自評); the ministry's reviewer
adjusts with reasons and passes it on (初核) or returns it to the lead; the secretariat sets the final scores
(複核) or returns it to the ministry, and may reopen a finalized assessment until the scheme is published. Nobody
reviews an assessment they submitted, and nobody sets the final scores of one they reviewed (four eyes).

Predicates are django-rules, registered as ``assessments.<action>_assessment``; whether the status allows the
action is the service's to check (409). ``assessment_actions`` joins the two for pages.
"""

from __future__ import annotations

import enum

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from accounts.access import (
    Capability,
    administers,
    endorses_for_ministry,
    files_for_agency,
    is_signed_in,
    oversees,
    users_with,
)
from accounts.models import User
from projects.access import leads_node, leads_of_node, led_by, reviewed_by, reviewers_of_node, reviews_node

from .models import (
    EDITABLE_STATUSES,
    Assessment,
    AssessmentAction,
    AssessmentFile,
    AssessmentScheme,
    AssessmentStatus,
    Level,
)

NOT_SECRETARIAT_TO_SET_SCHEME = _("Only the Executive Secretariat sets the year's assessment.")
NOT_SECRETARIAT_TO_PUBLISH = _("Only the Executive Secretariat publishes the year's assessment.")
NOT_LEAD_TO_SCORE = _("Only a lead of this sub-project's agency scores its self-assessment.")
NOT_LEAD_TO_SUBMIT = _("Only a lead of this sub-project's agency submits its self-assessment.")
NOT_LEAD_TO_WITHDRAW = _("Only a lead of this sub-project's agency withdraws its self-assessment.")
NOT_LEAD_TO_ADD_FILES = _("Only a lead of this sub-project's agency adds or removes its self-assessment's files.")
NOT_REVIEWER_TO_REVIEW = _("Only a reviewer of this sub-project's ministry reviews its self-assessment.")
NOT_SECRETARIAT_TO_FINALIZE = _("Only the Executive Secretariat sets the final scores.")
NOT_ALLOWED_TO_RETURN = _(
    "Only the ministry's reviewer (to the lead) or the Executive Secretariat (to the ministry) returns an assessment."
)
NOT_SECRETARIAT_TO_REOPEN = _("Only the Executive Secretariat reopens an assessment with final scores.")
FOUR_EYES_SUBMITTED = _("You submitted this self-assessment: someone else must review it.")
FOUR_EYES_REVIEWED = _("You reviewed this assessment for the ministry: someone else must set its final scores.")


def ensure(allowed: bool, message) -> None:
    """Refuse with 403 and ``message`` unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(message)


# --- rows -------------------------------------------------------------------------------------------

PUBLISHED = Q(scheme__published_at__isnull=False)


def schemes_for(user) -> QuerySet[AssessmentScheme]:
    return AssessmentScheme.objects.all() if is_signed_in(user) else AssessmentScheme.objects.none()


def assessments_for(user) -> QuerySet[Assessment]:
    """The assessments a user sees (the module's docstring says which; ``assessment_fields`` which fields)."""
    assessments = Assessment.objects.all()
    if oversees(user):
        return assessments
    if not is_signed_in(user):
        return assessments.none()
    if files_for_agency(user) or endorses_for_ministry(user):
        return assessments.filter(PUBLISHED | led_by(user, "node") | reviewed_by(user, "node"))
    return assessments.filter(PUBLISHED)


def in_chain(user, node_ref: str = "node") -> Q:
    """The assessments the user sees whole, as a condition (its own chain's)."""
    if oversees(user):
        return Q()
    if files_for_agency(user) or endorses_for_ministry(user):
        return led_by(user, node_ref) | reviewed_by(user, node_ref)
    return Q(pk__in=[])


def sees_whole_expression(user):
    """``assessment_fields`` as an expression on assessment rows: true where the user sees the row whole, so
    a list decides each row's fields in its one query."""
    if oversees(user):
        return Value(True)
    return Case(When(in_chain(user), then=Value(True)), default=Value(False), output_field=BooleanField())


def chain_assessments_for(user) -> QuerySet[Assessment]:
    """The assessments a user sees whole: published or not, with every level's scores."""
    if not is_signed_in(user):
        return Assessment.objects.none()
    return Assessment.objects.filter(in_chain(user))


def files_for(user, assessment) -> QuerySet[AssessmentFile]:
    files = AssessmentFile.objects.filter(assessment=assessment)
    return files if sees_whole(user, assessment) else files.none()


class AssessmentFields(enum.Enum):
    WHOLE = "whole"  # suggestions, every level's scores and reasons, files, history, who did what
    PUBLISHED = "published"  # the sub-project, the final total and the grade, once published


@rules.predicate
def leads_assessment(user, assessment) -> bool:
    return assessment is not None and leads_node(user, assessment.node)


@rules.predicate
def reviews_assessment(user, assessment) -> bool:
    return assessment is not None and reviews_node(user, assessment.node)


sees_whole = oversees | leads_assessment | reviews_assessment


def assessment_fields(user, assessment) -> AssessmentFields:
    return AssessmentFields.WHOLE if sees_whole(user, assessment) else AssessmentFields.PUBLISHED


def published_visible(assessment) -> bool:
    """Whether the final grade and total are public: the scheme is published."""
    return assessment.scheme.published_at is not None


# --- actions ----------------------------------------------------------------------------------------


@rules.predicate
def submitted_assessment(user, assessment) -> bool:
    """Four eyes: the user submitted the self-assessment (at any time)."""
    if assessment is None or not is_signed_in(user):
        return False
    if assessment.submitted_by_id == user.pk:
        return True
    return assessment.events.filter(actor=user, action=AssessmentAction.SUBMIT).exists()


@rules.predicate
def reviewed_assessment(user, assessment) -> bool:
    """Four eyes: the user reviewed the assessment for the ministry (at any time)."""
    if assessment is None or not is_signed_in(user):
        return False
    if assessment.endorsed_by_id == user.pk:
        return True
    return assessment.events.filter(actor=user, action=AssessmentAction.ENDORSE).exists()


can_set_scheme = oversees | rules.is_superuser
can_publish = oversees
can_score = leads_assessment  # the self-assessment, while it is editable: the service
can_submit = leads_assessment
can_withdraw = leads_assessment
can_add_files = leads_assessment
may_review = reviews_assessment  # by role and ministry; four eyes aside
may_finalize = oversees
can_review = may_review & ~submitted_assessment
can_finalize = may_finalize & ~submitted_assessment & ~reviewed_assessment
can_return = oversees | reviews_assessment  # which of them, by the status: the service
can_reopen = oversees
can_see_history = sees_whole
can_refresh_suggestions = leads_assessment | oversees  # while the lead scores: the service
can_change_scheme_in_admin = can_set_scheme & administers
can_see_assessment_queue = oversees | endorses_for_ministry  # (user)
can_self_assess = files_for_agency  # (user): scores some sub-projects at all


def ensure_reviewer(user, assessment) -> None:
    ensure(may_review(user, assessment), NOT_REVIEWER_TO_REVIEW)
    ensure(not submitted_assessment(user, assessment), FOUR_EYES_SUBMITTED)


def ensure_finalizer(user, assessment) -> None:
    ensure(may_finalize(user, assessment), NOT_SECRETARIAT_TO_FINALIZE)
    ensure(not submitted_assessment(user, assessment), FOUR_EYES_SUBMITTED)
    ensure(not reviewed_assessment(user, assessment), FOUR_EYES_REVIEWED)


def level_of(user, assessment) -> Level | None:
    """Which score column the user writes in the assessment's present status, or None."""
    status = assessment.status
    if status in EDITABLE_STATUSES and can_score(user, assessment):
        return Level.SELF
    if status == AssessmentStatus.SUBMITTED and can_review(user, assessment):
        return Level.REVIEW
    if status == AssessmentStatus.ENDORSED and can_finalize(user, assessment):
        return Level.FINAL
    return None


def assessment_actions(user, assessment) -> frozenset[str]:
    """What the user can do with the assessment now: role, four eyes, status and publication together."""
    actions = set()
    if assessment.scheme.published_at is not None:
        return frozenset()
    status = assessment.status
    if status in EDITABLE_STATUSES and can_score(user, assessment):
        actions.update({"score", "submit", "add_file"})
    if status == AssessmentStatus.SUBMITTED:
        if assessment.withdrawable and can_withdraw(user, assessment):
            actions.add("withdraw")
        if can_review(user, assessment):
            actions.update({"score", "endorse", "return"})
    if status == AssessmentStatus.ENDORSED and can_finalize(user, assessment):
        actions.update({"score", "finalize", "return"})
    if status == AssessmentStatus.FINALIZED and can_reopen(user, assessment):
        actions.add("reopen")
    return frozenset(actions)


def assessments_waiting_for(user) -> QuerySet[Assessment]:
    """What waits for the user's step: a reviewer's ministry's self-assessments, the secretariat's reviewed ones."""
    assessments = Assessment.objects.filter(scheme__published_at__isnull=True)
    if oversees(user):
        return assessments.filter(status=AssessmentStatus.ENDORSED)
    if endorses_for_ministry(user):
        return assessments.filter(Q(status=AssessmentStatus.SUBMITTED) & reviewed_by(user, "node"))
    if files_for_agency(user):
        return assessments.filter(Q(status__in=EDITABLE_STATUSES) & led_by(user, "node"))
    return assessments.none()


# --- who is told ------------------------------------------------------------------------------------


def submitted_recipients(assessment) -> QuerySet[User]:
    """Who is told a self-assessment waits for review: the ministry's reviewers."""
    return reviewers_of_node(assessment.node)


def endorsed_recipients() -> QuerySet[User]:
    return users_with(Capability.OVERSEE)


def returned_recipients(assessment, *, to_status: str) -> QuerySet[User]:
    """Back to the lead (returned) or to the ministry (submitted again)."""
    if to_status == AssessmentStatus.RETURNED:
        return leads_of_node(assessment.node)
    return reviewers_of_node(assessment.node)


def reminder_recipients(level: Level, node) -> QuerySet[User]:
    """Who is reminded before a due date: the leads (self-assessment), reviewers (初核), the secretariat (複核)."""
    if level == Level.SELF:
        return leads_of_node(node)
    if level == Level.REVIEW:
        return reviewers_of_node(node)
    return users_with(Capability.OVERSEE)


def published_recipients() -> QuerySet[User]:
    """Publication is news to everyone with a role in the chain."""
    return User.objects.filter(is_active=True).exclude(email="")


for _action, _predicate in {
    "score": can_score,
    "submit": can_submit,
    "withdraw": can_withdraw,
    "review": can_review,
    "finalize": can_finalize,
    "return": can_return,
    "reopen": can_reopen,
    "view_history_of": can_see_history,
}.items():
    rules.add_perm(f"assessments.{_action}_assessment", _predicate)
rules.add_perm("assessments.set_scheme", can_set_scheme)
rules.add_perm("assessments.publish_scheme", can_publish)
