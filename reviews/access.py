"""Who sees and does what with quarterly reports, their history, lag flags, what is owed and the annual
report: the one place that answers it. The API, the console, the services' own second check, the exports,
the annual report, the admin and the jobs all ask here.

Rows (querysets):
- reports: the secretariat all of them; a lead every report of the sub-projects its agency (or a sub-unit)
  leads, a ministry reviewer every report of the sub-projects its ministry (or a sub-unit) leads, and both
  everyone's accepted reports; a reader accepted reports only;
- reports in force (what the annual report publishes): to every signed-in user, the accepted reports and
  the reopened ones under correction, by the content they were accepted with;
- a report's history (draft values, return reasons) and its evidence files: the secretariat, the leads of
  the sub-project and its ministry's reviewers;
- flags: the secretariat all; a lead or a reviewer those of the sub-projects it leads or reviews; a reader
  all, public fields only;
- quarter locks: every signed-in user (a lead must know what is closed); only the secretariat sets them;
- budget ledgers (``projects.access.budget_years_for``): read as the plan tree; only the secretariat sets
  them, and only until a report of the year is accepted (``baseline_frozen(node, year=…)``), then through a plan
  revision.
- plan revisions (計畫修正): the secretariat all; a lead those of the sub-projects it leads, a reviewer those
  its ministry reviews, and both (and readers) everyone's approved ones, which are the baseline in force.

A plan revision follows the same chain: a lead requests it; where the plan asks for it, the ministry's
reviewer endorses it or rejects it; the secretariat approves (核定) or rejects (駁回) it. Nobody endorses or
decides a revision they requested. Once a sub-project has an accepted report its baseline is frozen
(``baseline_frozen``): its end date, milestones' planned dates and weights, budgets and indicator targets
change only through an approved revision.

The review chain: a lead files and submits; where the plan asks for it, the ministry's reviewer endorses
(初核) or returns; the secretariat accepts (複核) or returns, and may reopen an accepted report. Nobody
endorses or accepts a report they filed or submitted (four eyes).

Actions are django-rules predicates (see ``accounts.access`` for why), registered as object permissions
under ``reviews.<action>_report`` and ``reviews.<action>_flag``. They say who may act; whether the object's
status allows the action is the service's to check (409). ``report_actions`` and ``flag_actions`` join the
two, for pages that offer only what can be done now.
"""

from __future__ import annotations

import enum

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.access import (
    Capability,
    endorses_for_ministry,
    files_for_agency,
    is_signed_in,
    oversees,
    reads_published,
    users_with,
)
from accounts.models import Role, User
from gstp.history import rows
from projects.access import leads_node, leads_of_node, led_by, reviewed_by, reviewers_of_node, reviews_node

from .models import (
    ACTIVE_STATUSES,
    EDITABLE_STATUSES,
    OPEN_REVISION_STATUSES,
    Baseline,
    EvidenceFile,
    FlagStatus,
    LagFlag,
    LagRule,
    LagSettings,
    PlanRevision,
    QuarterLock,
    QuarterlyReport,
    ReportAction,
    ReportStatus,
    RevisionStatus,
)

# What a refused actor is told: the same words from the API's early check, the console and the service.
NOT_LEAD_TO_FILE = _("Only a lead of this sub-project's agency can file its reports.")
NOT_LEAD_TO_EDIT = _("Only a lead of this sub-project's agency can edit its reports.")
NOT_LEAD_TO_SUBMIT = _("Only a lead of this sub-project's agency can submit its reports.")
NOT_LEAD_TO_WITHDRAW = _("Only a lead of this sub-project's agency can withdraw its reports.")
NOT_REVIEWER_TO_ENDORSE = _("Only a reviewer of this sub-project's ministry can endorse its reports.")
NOT_REVIEWER_TO_RETURN = _("Only the ministry's reviewer or the Executive Secretariat can return a report.")
NOT_SECRETARIAT_TO_RETURN = NOT_REVIEWER_TO_RETURN
NOT_SECRETARIAT_TO_ACCEPT = _("Only the Executive Secretariat can accept a report.")
NOT_SECRETARIAT_TO_REOPEN = _("Only the Executive Secretariat can reopen an accepted report.")
NOT_SECRETARIAT_TO_LOCK = _("Only the Executive Secretariat locks quarters and grants exceptions.")
NOT_LEAD_TO_ADD_FILES = _("Only a lead of this sub-project's agency adds or removes its reports' files.")
NOT_AUTHOR_TO_ADD_FILES = _("Only the comment's author adds files to it.")
FOUR_EYES = _("You filed or submitted this report: someone else must endorse or accept it.")
NOT_ALLOWED_TO_SEE_REVIEW_QUEUE = _("Only ministry reviewers and the Executive Secretariat have a review queue.")
NOT_SECRETARIAT_TO_ACKNOWLEDGE = _("Only the Executive Secretariat acknowledges flags.")
NOT_SECRETARIAT_TO_RESOLVE = _("Only the Executive Secretariat resolves flags.")
NOT_ALLOWED_TO_COMMENT = _("Only the Executive Secretariat and the sub-project's leads comment on its flags.")
NOT_LEAD_TO_PLAN_IMPROVEMENT = _("The improvement plan comes from the sub-project's lead agency.")
NOT_ALLOWED_TO_SEE_OWED = _("Only leads and the Executive Secretariat see what is owed.")
NOT_ALLOWED_TO_CHANGE_LAG_SETTINGS = _("Only the Executive Secretariat changes the lag thresholds.")
NOT_SECRETARIAT_TO_SET_BUDGET = _("Only the Executive Secretariat sets sub-projects' budgets.")
BUDGET_YEAR_FROZEN = _(
    "%(year)s has an accepted report: its budget changes only through a plan revision (/api/v1/revisions/)."
)
NOT_ALLOWED_TO_RESEND_WEBHOOK = _("Only the Executive Secretariat sends abandoned webhook deliveries again.")
NOT_ALLOWED_TO_DOWNLOAD_ANNUAL_REPORT = _("Only the Executive Secretariat and readers may download the annual report.")


def ensure(allowed: bool, message) -> None:
    """Refuse with 403 and ``message`` unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(message)


# --- rows -------------------------------------------------------------------------------------------


def reports_for(user, *, as_of=None) -> QuerySet[QuarterlyReport]:
    """The reports a user sees (the module's docstring says which); at ``as_of``, by their status then."""
    reports = rows(QuarterlyReport, as_of)
    if oversees(user):
        return reports
    if not is_signed_in(user):
        return reports.none()
    accepted = Q(status=ReportStatus.ACCEPTED)
    if files_for_agency(user) or endorses_for_ministry(user):
        return reports.filter(accepted | led_by(user, "node") | reviewed_by(user, "node"))
    return reports.filter(accepted)


def reports_in_force_for(user) -> QuerySet[QuarterlyReport]:
    """The reports whose accepted figures a user may read, as the annual report publishes them: every
    accepted report, and every reopened one under correction, which stands by the figures it was accepted
    with (``accepted_content``), never by its correction in progress. Whoever sees everyone's accepted
    reports (every signed-in user, ``reports_for``) sees these; what a reader may take from a reopened
    report is its accepted content and that it was reopened, when and why."""
    if not is_signed_in(user):
        return QuarterlyReport.objects.none()
    return QuarterlyReport.objects.filter(Q(status=ReportStatus.ACCEPTED) | Q(accepted_content__isnull=False))


def flags_for(user, *, as_of=None) -> QuerySet[LagFlag]:
    """The flags a user sees (as they were at ``as_of``); which of their fields is ``flag_fields_for``."""
    flags = rows(LagFlag, as_of)
    if oversees(user) or reads_published(user):
        return flags
    if files_for_agency(user) or endorses_for_ministry(user):
        return flags.filter(led_by(user, "node") | reviewed_by(user, "node"))
    return flags.none()


def locks_for(user) -> QuerySet[QuarterLock]:
    return QuarterLock.objects.all() if is_signed_in(user) else QuarterLock.objects.none()


def report_files_for(user, report) -> QuerySet[EvidenceFile]:
    """A report's evidence files: all of them to whoever may see them (``can_see_report_files``), else none."""
    files = EvidenceFile.objects.filter(report=report)
    return files if can_see_report_files(user, report) else files.none()


def evidence_files_for(user) -> QuerySet[EvidenceFile]:
    """Every report's evidence files that the user sees (``can_see_report_files``, as rows), for the exports
    and the pages' lists of reports."""
    files = EvidenceFile.objects.filter(report__isnull=False)
    if oversees(user):
        return files
    if files_for_agency(user) or endorses_for_ministry(user):
        return files.filter(led_by(user, "report__node") | reviewed_by(user, "report__node"))
    return files.none()


def comment_files_for(user, flag) -> QuerySet[EvidenceFile]:
    """The files of a flag's comments: to whoever sees the flag whole, else none."""
    files = EvidenceFile.objects.filter(comment__flag=flag)
    return files if can_see_flag_files(user, flag) else files.none()


class FlagFields(enum.Enum):
    FULL = "full"  # who acknowledged and resolved it, why, and its thread
    PUBLIC = "public"  # the sub-project, rule, period, severity, status and evidence


class ReportFields(enum.Enum):
    WHOLE = "whole"


def report_fields_for(user) -> ReportFields:
    """Whoever sees a report sees all of its fields, whatever their role: its representation is the same for
    all of them (and cached once for all of them, ``gstp.representations``). A field kept from some role would
    make a second kind of representation here."""
    return ReportFields.WHOLE


def flag_fields_for(user) -> FlagFields:
    """A reader sees every flag's public fields; the secretariat, leads and reviewers (who see only their
    own flags) see each flag whole."""
    whole = oversees(user) or files_for_agency(user) or endorses_for_ministry(user)
    return FlagFields.FULL if whole else FlagFields.PUBLIC


def publication_reader() -> User:
    """The account a published report is built as when no person asks for it (the command): a reader,
    who sees accepted reports and every flag's public fields, and nothing more. Never saved."""
    return User(username="annual-report", role=Role.READER, is_active=True)


# --- actions on reports ---------------------------------------------------------------------------


@rules.predicate
def leads_report(user, report) -> bool:
    return report is not None and leads_node(user, report.node)


@rules.predicate
def reviews_report(user, report) -> bool:
    return report is not None and reviews_node(user, report.node)


@rules.predicate
def leads_flag(user, flag) -> bool:
    return flag is not None and leads_node(user, flag.node)


@rules.predicate
def reviews_flag(user, flag) -> bool:
    return flag is not None and reviews_node(user, flag.node)


@rules.predicate
def handled_report(user, report) -> bool:
    """The user filed or (at any time) submitted the report: four eyes keep it from endorsing or accepting it."""
    if report is None or not is_signed_in(user):
        return False
    if user.pk in (report.created_by_id, report.submitted_by_id):
        return True
    return report.events.filter(actor=user, action=ReportAction.SUBMIT).exists()


can_file_reports = files_for_agency  # (user): files for some sub-projects at all
can_file_report = leads_node  # (user, sub-project)
can_edit_report = leads_report
can_submit_report = leads_report
can_withdraw_report = leads_report
may_endorse_report = reviews_report  # by role and ministry; four eyes aside
may_accept_report = oversees
can_endorse_report = may_endorse_report & ~handled_report
can_accept_report = may_accept_report & ~handled_report
can_return_report = oversees | reviews_report  # which of them, by the report's status: the service
can_reopen_report = oversees
can_see_history_of = oversees | leads_node | reviews_node  # (user, sub-project): its reports' histories
can_see_review_queue = oversees | endorses_for_ministry
can_endorse_reports = endorses_for_ministry  # (user): endorses some ministry's reports at all
can_lock_quarters = oversees


@rules.predicate
def can_see_report_history(user, report) -> bool:
    """The report's history (draft values, return reasons): the secretariat, the sub-project's leads and
    its ministry's reviewers."""
    return report is not None and can_see_history_of(user, report.node)


can_see_report_files = can_see_report_history  # the same people: the secretariat, leads, reviewers
can_add_report_files = leads_report  # while the report is editable and its quarter open: the service


def ensure_reviewer(may, user, report, message) -> None:
    """Refuse (403) an actor whose role or ministry may not take the step, then one four eyes rule out."""
    ensure(may(user, report), message)
    ensure(not handled_report(user, report), FOUR_EYES)


# --- actions on flags -------------------------------------------------------------------------------

can_acknowledge_flag = oversees
can_resolve_flag = oversees
can_comment_on_flag = oversees | leads_flag
can_plan_improvement = leads_flag  # a comment of kind improvement_plan (改善措施)
can_see_flag_files = oversees | leads_flag | reviews_flag  # the files of its comments


@rules.predicate
def can_add_comment_files(user, comment) -> bool:
    """A comment's files come from its author, who may still comment on the flag."""
    return comment is not None and comment.author_id == user.pk and can_comment_on_flag(user, comment.flag)


can_change_lag_settings = oversees | rules.is_superuser

# --- budget ledgers (預算數, 分配數) ---------------------------------------------------------------

can_set_budget = oversees | rules.is_superuser  # while the year is not frozen: ``baseline_frozen``

# --- webhooks -------------------------------------------------------------------------------------------

can_resend_webhook = oversees | rules.is_superuser  # an abandoned delivery, from the admin

# --- the schedule of periodic jobs (django-celery-beat's rows, in the admin) ------------------------------

can_change_schedule = oversees | rules.is_superuser  # the scan's time, the digest's day, the reminders' times
# The jobs every email and webhook waits on: shown in the admin, changed by nobody there.
SCHEDULE_FIXED = frozenset({"relay-outbox", "sweep-webhooks", "resume-scans"})

# A report counts as accepted while it is, and while a reopened one is corrected: then with the figures it
# was accepted with (``accepted_content``), which stay in force until the correction is accepted.
IN_FORCE = Q(status=ReportStatus.ACCEPTED) | Q(accepted_content__isnull=False)


def accepted_in_year(node_ref: str = "node", year_ref: str = "year"):
    """SQL of ``baseline_frozen(node, year=…)`` on rows naming a sub-project and a year."""
    accepted = QuarterlyReport.objects.filter(IN_FORCE, node=OuterRef(node_ref), year=OuterRef(year_ref))
    return Exists(accepted) | Exists(Baseline.objects.filter(node=OuterRef(node_ref)))


# --- what is owed, the annual report ---------------------------------------------------------------

can_see_owed = files_for_agency | oversees
can_choose_owed_agency = oversees  # a lead always sees its own agency's
can_download_annual_report = oversees | reads_published


def owed_agency(user, *, requested=None):
    """Whose owed reports a user sees: a lead its own agency's, whatever it asks for; the secretariat the
    agency it names (None until it names one); anyone else is refused."""
    ensure(can_see_owed(user), NOT_ALLOWED_TO_SEE_OWED)
    if can_choose_owed_agency(user):
        return requested
    return user.agency


class ReviewLevel(enum.StrEnum):
    MINISTRY = "ministry"  # submitted, in a plan whose reports its ministry endorses (初核)
    SECRETARIAT = "secretariat"  # endorsed, or submitted in a plan without the ministry level (複核)


def review_level(report, *, endorsement_required: bool | None = None) -> ReviewLevel | None:
    """Whose review a report waits for now, or None when it waits for nobody's (a draft, returned or
    accepted report). ``endorsement_required``: whether the report's plan asks for the ministry level (read
    from its settings when not given)."""
    if report.status == ReportStatus.ENDORSED:
        return ReviewLevel.SECRETARIAT
    if report.status != ReportStatus.SUBMITTED:
        return None
    if endorsement_required is None:
        endorsement_required = LagSettings.endorsement_required_for(report.node.plan_id)
    return ReviewLevel.MINISTRY if endorsement_required else ReviewLevel.SECRETARIAT


def endorsement_required(node_ref: str = "node") -> Exists:
    """Whether a row's plan asks for the ministry level, as SQL (``node_ref``: the path to its sub-project)."""
    return Exists(LagSettings.objects.filter(plan_id=OuterRef(f"{node_ref}__plan_id"), endorsement_required=True))


def waiting_for(level: ReviewLevel, node_ref: str = "node") -> Q:
    """``review_level`` as a condition on reports (``node_ref``: the path to their sub-project)."""
    required = Q(endorsement_required(node_ref))
    submitted = Q(status=ReportStatus.SUBMITTED)
    if level == ReviewLevel.MINISTRY:
        return submitted & required
    return Q(status=ReportStatus.ENDORSED) | (submitted & ~required)


def report_actions(user, report, *, endorsement_required: bool | None = None) -> frozenset[str]:
    """What the user can do with the report now: its role, four eyes and the report's status together
    (``endorsement_required``: the plan's reports go through the ministry before the secretariat). A lock
    closes editing, submitting and withdrawing; the service says so when they are tried."""
    actions = set()
    status = report.status
    if status in EDITABLE_STATUSES and can_edit_report(user, report):
        actions.update({"edit", "submit"})
    if status == ReportStatus.SUBMITTED and can_withdraw_report(user, report):
        actions.add("withdraw")
    level = review_level(report, endorsement_required=endorsement_required)
    if level == ReviewLevel.MINISTRY and reviews_report(user, report):
        actions.add("return")
        if can_endorse_report(user, report):
            actions.add("endorse")
    if level == ReviewLevel.SECRETARIAT and oversees(user, report):
        actions.add("return")
        if can_accept_report(user, report):
            actions.add("accept")
    if status == ReportStatus.ACCEPTED and can_reopen_report(user, report):
        actions.add("reopen")
    return frozenset(actions)


def flag_actions(user, flag) -> frozenset[str]:
    """What the user can do with the flag now: acknowledge an open one, resolve an active one, comment
    (a lead also with its improvement plan)."""
    actions = set()
    if flag.status == FlagStatus.OPEN and can_acknowledge_flag(user, flag):
        actions.add("acknowledge")
    if flag.status in ACTIVE_STATUSES and can_resolve_flag(user, flag):
        actions.add("resolve")
    if can_comment_on_flag(user, flag):
        actions.add("comment")
        if can_plan_improvement(user, flag):
            actions.add("improvement_plan")
    return frozenset(actions)


# --- who is told -------------------------------------------------------------------------------------


def red_flag_recipients(node, rule: str = "") -> tuple[QuerySet[User], ...]:
    """Who is emailed a new red flag: the secretariat, then the sub-project's leads; for a ministry's
    overdue endorsement, its reviewers instead of the leads, whose part is done."""
    if rule == LagRule.REVIEW_OVERDUE:
        return users_with(Capability.OVERSEE), reviewers_of_node(node)
    return users_with(Capability.OVERSEE), leads_of_node(node)


def digest_recipients() -> QuerySet[User]:
    return users_with(Capability.OVERSEE)


def reminder_recipients() -> QuerySet[User]:
    """Who is reminded of the reports its agency owes: every lead."""
    return users_with(Capability.FILE)


def reviewers() -> QuerySet[User]:
    """Every ministry reviewer, for the endorsement reminders."""
    return users_with(Capability.ENDORSE)


def review_recipients(node) -> QuerySet[User]:
    """Who is told that a sub-project's report awaits endorsement, and reminded when it waits too long:
    its ministry's reviewers."""
    return reviewers_of_node(node)


def lead_recipients(node) -> QuerySet[User]:
    """Who is told that a report was returned, reopened or accepted: the sub-project's leads."""
    return leads_of_node(node)


def secretariat_recipients() -> QuerySet[User]:
    """Who is told that a report was endorsed and waits for the secretariat."""
    return users_with(Capability.OVERSEE)


for _action, _predicate in {
    "file": can_file_report,
    "edit": can_edit_report,
    "submit": can_submit_report,
    "withdraw": can_withdraw_report,
    "endorse": can_endorse_report,
    "return": can_return_report,
    "accept": can_accept_report,
    "reopen": can_reopen_report,
    "view_history_of": can_see_report_history,
    "view_files_of": can_see_report_files,
    "add_files_to": can_add_report_files,
}.items():
    rules.add_perm(f"reviews.{_action}_report", _predicate)
for _action, _predicate in {
    "acknowledge": can_acknowledge_flag,
    "resolve": can_resolve_flag,
    "comment_on": can_comment_on_flag,
}.items():
    rules.add_perm(f"reviews.{_action}_flag", _predicate)
rules.add_perm("reviews.see_owed", can_see_owed)
rules.add_perm("reviews.see_review_queue", can_see_review_queue)
rules.add_perm("reviews.lock_quarters", can_lock_quarters)
rules.add_perm("reviews.download_annual_report", can_download_annual_report)
rules.add_perm("reviews.change_lag_thresholds", can_change_lag_settings)
rules.add_perm("reviews.set_budget", can_set_budget)
rules.add_perm("reviews.resend_webhook", can_resend_webhook)
rules.add_perm("reviews.change_schedule", can_change_schedule)


# --- plan revisions (計畫修正) and the baseline --------------------------------------------------------

REVISIONS_PATH = "/api/v1/revisions/"
NOT_LEAD_TO_REQUEST_REVISION = _("Only a lead of this sub-project's agency can request a revision of its plan.")
NOT_LEAD_TO_EDIT_REVISION = _("Only a lead of this sub-project's agency can change or withdraw its revision requests.")
NOT_REVIEWER_TO_ENDORSE_REVISION = _("Only a reviewer of this sub-project's ministry can endorse its revisions.")
NOT_ALLOWED_TO_REJECT_REVISION = _("Only the ministry's reviewer or the Executive Secretariat can reject a revision.")
NOT_SECRETARIAT_TO_APPROVE_REVISION = _("Only the Executive Secretariat can approve a revision.")
FOUR_EYES_REVISION = _("You requested this revision: someone else must endorse or decide it.")
BASELINE_FROZEN = _(
    "This sub-project has an accepted report: its baseline (end date, milestones' planned dates and weights, "
    "budgets, indicator targets) changes only through a plan revision (%(path)s)."
)


def baseline_frozen(node, *, year: int | None = None) -> bool:
    """Whether a sub-project's baseline is frozen: it has a report that was accepted (a reopened one
    counts: its figures stay in force), so what accepted reports were measured against stays on record and
    changes only through a plan revision. With ``year``, only that year's reports count: a year's budget
    (appropriation and schedule) freezes with the year's first accepted report. A sub-project with a recorded
    baseline (a revision was requested: version 1 is the original) is frozen whole, so the original and the
    live fields never part but through an approved revision. ``node`` is a sub-project or its id."""
    node_id = getattr(node, "pk", node)
    if node_id is None:
        return False
    reports = QuarterlyReport.objects.filter(IN_FORCE, node_id=node_id)
    if year is not None:
        reports = reports.filter(year=year)
    return reports.exists() or Baseline.objects.filter(node_id=node_id).exists()


def baseline_frozen_message() -> str:
    """What an in-place edit of a frozen baseline is told: where to go instead."""
    return BASELINE_FROZEN % {"path": REVISIONS_PATH}


def revisions_for(user) -> QuerySet[PlanRevision]:
    """The revisions a user sees (the module's docstring says which)."""
    revisions = PlanRevision.objects.all()
    if oversees(user):
        return revisions
    if not is_signed_in(user):
        return revisions.none()
    approved = Q(status=RevisionStatus.APPROVED)
    if files_for_agency(user) or endorses_for_ministry(user):
        return revisions.filter(approved | led_by(user, "node") | reviewed_by(user, "node"))
    return revisions.filter(approved)


@rules.predicate
def leads_revision(user, revision) -> bool:
    return revision is not None and leads_node(user, revision.node)


@rules.predicate
def reviews_revision(user, revision) -> bool:
    return revision is not None and reviews_node(user, revision.node)


@rules.predicate
def requested_revision(user, revision) -> bool:
    """Four eyes: who requested a revision never endorses or decides it."""
    return revision is not None and is_signed_in(user) and revision.requested_by_id == user.pk


can_request_revision = leads_node  # (user, sub-project)
# Who requested, endorsed and decided a revision: the chain's own people, not everyone who reads the
# approved ones.
can_see_revision_people = oversees | leads_revision | reviews_revision
can_edit_revision = leads_revision
can_withdraw_revision = leads_revision
may_endorse_revision = reviews_revision
may_approve_revision = oversees
may_reject_revision = oversees | reviews_revision  # which of them, by the revision's level: the service
can_endorse_revision = may_endorse_revision & ~requested_revision
can_approve_revision = may_approve_revision & ~requested_revision
can_reject_revision = may_reject_revision & ~requested_revision
can_see_revision_history = oversees | leads_revision | reviews_revision
can_see_revision_queue = oversees | endorses_for_ministry  # (user): decides or endorses some revisions


def ensure_revision_decider(may, user, revision, message) -> None:
    """Refuse (403) an actor whose role or ministry may not take the step, then the revision's requester."""
    ensure(may(user, revision), message)
    ensure(not requested_revision(user, revision), FOUR_EYES_REVISION)


def revision_review_level(revision, *, endorsement_required: bool | None = None) -> ReviewLevel | None:
    """Whose decision a revision waits for now (as ``review_level`` for reports), or None once it is decided
    or withdrawn."""
    if revision.status == RevisionStatus.ENDORSED:
        return ReviewLevel.SECRETARIAT
    if revision.status != RevisionStatus.REQUESTED:
        return None
    if endorsement_required is None:
        endorsement_required = LagSettings.endorsement_required_for(revision.node.plan_id)
    return ReviewLevel.MINISTRY if endorsement_required else ReviewLevel.SECRETARIAT


def revision_waiting_for(level: ReviewLevel, node_ref: str = "node") -> Q:
    """``revision_review_level`` as a condition on revisions."""
    required = Q(endorsement_required(node_ref))
    requested = Q(status=RevisionStatus.REQUESTED)
    if level == ReviewLevel.MINISTRY:
        return requested & required
    return Q(status=RevisionStatus.ENDORSED) | (requested & ~required)


def revisions_waiting_for(user) -> QuerySet[PlanRevision]:
    """What waits for the user's step: a reviewer's ministry's requests to endorse, the secretariat's to decide."""
    revisions = revisions_for(user)
    if oversees(user):
        return revisions.filter(revision_waiting_for(ReviewLevel.SECRETARIAT))
    if endorses_for_ministry(user):
        return revisions.filter(revision_waiting_for(ReviewLevel.MINISTRY) & reviewed_by(user, "node"))
    return revisions.none()


def revision_actions(user, revision, *, endorsement_required: bool | None = None) -> frozenset[str]:
    """What the user can do with the revision now: role, four eyes and status together."""
    actions = set()
    if revision.status == RevisionStatus.REQUESTED and can_edit_revision(user, revision):
        actions.add("edit")
    if revision.status in OPEN_REVISION_STATUSES and can_withdraw_revision(user, revision):
        actions.add("withdraw")
    level = revision_review_level(revision, endorsement_required=endorsement_required)
    if level == ReviewLevel.MINISTRY and can_endorse_revision(user, revision):
        actions.update({"endorse", "reject"})
    if level == ReviewLevel.SECRETARIAT and can_approve_revision(user, revision):
        actions.update({"approve", "reject"})
    return frozenset(actions)


def revision_request_recipients(revision, level: ReviewLevel | None) -> QuerySet[User]:
    """Who is told that a revision waits for a step: the ministry's reviewers, or the secretariat."""
    if level == ReviewLevel.MINISTRY:
        return reviewers_of_node(revision.node)
    return users_with(Capability.OVERSEE)


def revision_decision_recipients(revision) -> tuple[QuerySet[User], ...]:
    """Who is told of a decision: the sub-project's leads, and its ministry's reviewers where they endorsed it."""
    if revision.endorsed_by_id is not None:
        return leads_of_node(revision.node), reviewers_of_node(revision.node)
    return (leads_of_node(revision.node),)


for _action, _predicate in {
    "edit": can_edit_revision,
    "withdraw": can_withdraw_revision,
    "endorse": can_endorse_revision,
    "approve": can_approve_revision,
    "reject": can_reject_revision,
    "view_history_of": can_see_revision_history,
}.items():
    rules.add_perm(f"reviews.{_action}_revision", _predicate)
rules.add_perm("reviews.request_revision", can_request_revision)
