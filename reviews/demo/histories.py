"""The demo reports' histories.

A report's story is the steps it went through. They are laid on its calendar (counted from its due date, or
pinned a number of days before the day the demo is loaded) and replayed on the report the way the services
take them, by the people who could have taken them: its lead files, adds files, submits, withdraws and
corrects; the reviewer of the lead's ministry endorses or returns it; the secretariat accepts, returns or
reopens it. So a report's fields, its events and its version agree, and four eyes hold.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from ..models import QuarterlyReport, ReportStatus
from ..models import ReportAction as Action
from ..models.reports import CONTENT_FIELDS
from .calendar import at
from .evidence import Evidence

FILES = "files"  # where in a story the lead adds the report's evidence files, one step each

# Days before the demo is loaded, by the report's place among the sub-projects, of the pinned steps.
PINNED_DAYS = {
    "recent": lambda index: 1 + index % 5,  # waiting for the ministry's endorsement for less than a week
    "overdue": lambda index: 15 + index % 4,  # waiting for it over twice the plan's seven days
    "reopened": lambda index: 6,
    "corrected": lambda index: 2,
}
# Days after the step before; a report is opened 20 days before it is due and first submitted days_late - 4
# days after the due date.
GAP = {
    Action.SUBMIT: 3,
    Action.WITHDRAW: 1,
    Action.ENDORSE: 2,
    Action.RETURN: 3,
    Action.ACCEPT: 3,
}

WITHDRAW_REASON = "經費支用數填報有誤，撤回修正後再送。"
MINISTRY_RETURN_REASON = "查核點佐證資料不足，請補附驗收紀錄後再送。"
SECRETARIAT_RETURN_REASON = "請補充經費執行落後之原因與改善措施。"
REOPEN_REASON = "經費支用數與會計報告不符，請依會計報告更正後重送。"


@dataclass(frozen=True)
class Story:
    name: str
    steps: tuple[tuple[str, str], ...]  # (action, "" or the PINNED_DAYS key of the day it was taken)


def story(name: str, *steps) -> Story:
    return Story(name, tuple(step if isinstance(step, tuple) else (step, "") for step in steps))


DRAFT = story("draft", Action.CREATE)
WITHDRAWN = story("withdrawn", Action.CREATE, Action.SUBMIT, Action.WITHDRAW)
# Returned by the ministry for its evidence, which the lead then added: waiting for endorsement again.
RESUBMITTED = story("resubmitted", Action.CREATE, Action.SUBMIT, Action.RETURN, FILES, (Action.SUBMIT, "recent"))
WAITING = story("waiting", Action.CREATE, (Action.SUBMIT, "recent"))
WAITING_LONG = story("waiting long", Action.CREATE, (Action.SUBMIT, "overdue"))
ENDORSED = story("endorsed", Action.CREATE, Action.SUBMIT, Action.ENDORSE)
RETURNED_BY_MINISTRY = story("returned by the ministry", Action.CREATE, Action.SUBMIT, Action.RETURN)
RETURNED_BY_SECRETARIAT = story(
    "returned by the secretariat", Action.CREATE, Action.SUBMIT, Action.ENDORSE, Action.RETURN
)
ACCEPTED = story("accepted", Action.CREATE, Action.SUBMIT, Action.ENDORSE, Action.ACCEPT)
ACCEPTED_AFTER_RETURN = story(
    "accepted after a return", Action.CREATE, Action.SUBMIT, Action.RETURN, Action.SUBMIT, Action.ENDORSE, Action.ACCEPT
)
REOPENED = story("reopened", Action.CREATE, Action.SUBMIT, Action.ENDORSE, Action.ACCEPT, (Action.REOPEN, "reopened"))
# Reopened, and the lead has begun the correction: a ledger added, the spending corrected.
REOPENED_IN_CORRECTION = story(
    "reopened, in correction",
    Action.CREATE,
    Action.SUBMIT,
    Action.ENDORSE,
    Action.ACCEPT,
    (Action.REOPEN, "reopened"),
    (FILES, "corrected"),
    (Action.UPDATE, "corrected"),
)


@dataclass(frozen=True)
class Cast:
    """Who takes a report's steps."""

    lead: object  # files, adds files, submits, withdraws, corrects
    reviewer: object  # the reviewer of the lead's ministry: endorses, or returns a submitted report
    secretariat: object  # accepts, returns an endorsed report, reopens


@dataclass(frozen=True)
class Upload:
    evidence: Evidence
    at: datetime.datetime
    frozen_at: datetime.datetime | None


def _steps(story: Story, files: int) -> list[tuple[str, str]]:
    """The story's steps, its evidence files added one step each: where the story says, else just before its
    last submission, else after the report is opened."""
    steps = list(story.steps)
    place = next((i for i, (action, _pin) in enumerate(steps) if action == FILES), None)
    if place is None:
        submits = [i for i, (action, _pin) in enumerate(steps) if action == Action.SUBMIT]
        place, pin = (submits[-1] if submits else 1), ""
    else:
        pin = steps.pop(place)[1]
    steps[place:place] = [(Action.ADD_FILE, pin)] * files
    return steps


def _days(steps, *, due: datetime.date, days_late: int, on: datetime.date, index: int) -> list[datetime.date]:
    days = []
    for action, pin in steps:
        if pin:
            days.append(on - datetime.timedelta(days=PINNED_DAYS[pin](index)))
            continue
        if action == Action.CREATE:
            day = due - datetime.timedelta(days=20)
        elif action == Action.SUBMIT and all(earlier != Action.SUBMIT for earlier, _pin in steps[: len(days)]):
            day = due + datetime.timedelta(days=days_late - 4)
        else:
            day = days[-1] + datetime.timedelta(days=GAP.get(action, 1))
        days.append(max(day, days[-1] + datetime.timedelta(days=1)) if days else day)
    # The steps on the report's own calendar come before the pinned ones, and before the day the demo is
    # loaded: a report due a few days ago cannot have run its whole course yet, so they move back to end the
    # day before.
    unpinned = next((i for i, (_action, pin) in enumerate(steps) if pin), len(steps))
    limit = days[unpinned] if unpinned < len(steps) else on
    early = datetime.timedelta(days=max(0, (days[unpinned - 1] - limit).days + 1))
    return [day - early for day in days[:unpinned]] + days[unpinned:]


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def replay(
    report: QuarterlyReport,
    story: Story,
    cast: Cast,
    *,
    evidence: list[Evidence],
    days_late: int,
    on: datetime.date,
    index: int,
):
    """Take the story's steps on ``report`` (opened, not saved yet): its status, times, reviewers and version
    as the services would have left them. Returns its events, as (action, actor, from status, to status, at,
    reason, changes), and its uploads."""
    steps = _steps(story, len(evidence))
    days = _days(steps, due=report.due_on, days_late=days_late, on=on, index=index)
    events, uploads, pending = [], [], iter(evidence)
    for number, ((action, _pin), day) in enumerate(zip(steps, days, strict=True)):
        when = at(day, 9 + number)  # a step an hour later in the day than the one before, whatever the day
        before = report.status if events else ""
        actor, reason, changes = cast.lead, "", {}
        if action == Action.CREATE:
            report.status = ReportStatus.DRAFT
        elif action == Action.ADD_FILE:
            item = next(pending)
            uploads.append([item, when, None])
            changes = {"file": [None, item.summary()]}
        elif action == Action.SUBMIT:
            report.status = ReportStatus.SUBMITTED
            report.submitted_at, report.submitted_by = when, cast.lead
            if report.first_submitted_at is None:
                report.first_submitted_at = when
                report.submitted_on_time = day <= report.due_on
        elif action == Action.WITHDRAW:
            report.status, reason = ReportStatus.DRAFT, WITHDRAW_REASON
        elif action == Action.ENDORSE:
            actor = cast.reviewer
            report.status = ReportStatus.ENDORSED
            report.endorsed_at, report.endorsed_by = when, actor
        elif action == Action.RETURN:
            by_ministry = report.status == ReportStatus.SUBMITTED
            actor = cast.reviewer if by_ministry else cast.secretariat
            reason = MINISTRY_RETURN_REASON if by_ministry else SECRETARIAT_RETURN_REASON
            report.status = ReportStatus.RETURNED
            report.returned_at, report.return_reason = when, reason
            report.endorsed_at, report.endorsed_by = None, None
        elif action == Action.ACCEPT:
            actor = cast.secretariat
            report.status = ReportStatus.ACCEPTED
            report.accepted_at, report.accepted_by = when, actor
            report.return_reason, report.accepted_content = "", None
        elif action == Action.REOPEN:
            actor, reason = cast.secretariat, REOPEN_REASON
            report.accepted_content = {field: _plain(getattr(report, field)) for field in CONTENT_FIELDS}
            report.status = ReportStatus.RETURNED
            report.returned_at = report.reopened_at = when
            report.return_reason = report.reopen_reason = reason
        elif action == Action.UPDATE:
            spent = min(report.budget_allocated, report.budget_spent + (report.budget_allocated / 50).quantize(1))
            changes = {"budget_spent": [_plain(report.budget_spent), _plain(spent)]}
            report.budget_spent = spent
        else:
            raise ValueError(action)
        if action in (Action.ENDORSE, Action.ACCEPT):  # the files so far stay, whatever happens to the report next
            for upload in uploads:
                upload[2] = upload[2] or when
        events.append((action, actor, before, report.status, when, reason, changes))
    report.version = len(events)
    return events, [Upload(*upload) for upload in uploads]
