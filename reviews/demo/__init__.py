"""Demo data: the 2024 report's plan structure with deterministic sub-project figures, milestones,
indicators and eight quarters of reports, laid on a calendar counted back from the day it is loaded, so a
fresh install shows flags at once, every lead has a quarter to file and every reviewer reports to endorse.

The eight quarters reported end with the latest quarter whose report fell due before that day; after them
come the quarters still to report (in the first days of a quarter the one just ended, not due yet; the
current quarter; the next), the sub-projects running twelve quarters in all. Profiles cycle over the
sub-projects in outline order: most are on plan; some run behind (yellow or red gap), under-spend (yellow or
red), submit late, or let a milestone slip past the end date.

The plan asks for its ministries' endorsement (初核) before the secretariat's review (複核), and every report
went through the chain (``histories``): in the past quarters all accepted after their ministry endorsed
them, two reopened by the secretariat for correction (one in the first quarter, which is locked, its
sub-project granted an exception); in the latest quarter some reports are drafts (some withdrawn after
submission), waiting for endorsement (some for over two weeks), endorsed and waiting for the secretariat,
returned by the ministry or by the secretariat. Some carry evidence files, real small PDF and PNG files.
A few sub-projects' plans were revised (``revisions``): one moved twice, one with a cut budget, one request
pending and one rejected. The sub-projects whose control level reports monthly also gave monthly updates
(``monthly``), the latest missing for some of them.
Sub-projects whose agencies have no demo account are filed and endorsed by stand-in accounts of their
ministries, which never sign in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.access import Capability, users_with
from accounts.models import Role
from accounts.services import account_create_or_update
from indicators.models import IndicatorActual
from projects.models import Agency, NodeKind, Plan, PlanNode

from ..models import (
    EvidenceFile,
    LagSettings,
    LagSettingsChange,
    LockException,
    QuarterLock,
    QuarterlyReport,
    ReportEvent,
)
from ..periods import Quarter, today
from ..services import lag_settings_update, lock_exception_grant, quarter_lock_create
from . import histories, history
from .calendar import DemoCalendar, at, demo_calendar, shifted
from .evidence import demo_evidence
from .figures import (
    PROFILES,
    budget_of,
    demo_indicator,
    demo_ledgers,
    demo_milestones,
    indicator_value,
    report_content,
)
from .histories import Cast
from .levels import demo_levels_set
from .monthly import demo_monthly_updates
from .revisions import demo_revisions_load

__all__ = [
    "DemoCalendar",
    "DemoReports",
    "PROFILES",
    "demo_calendar",
    "demo_casts",
    "demo_flag_history_backdate",
    "demo_reports_load",
    "shifted",
]

# The latest quarter's report, by the sub-project's place in the outline (modulo 13); the others accepted.
LATEST_STORY = {
    0: histories.DRAFT,
    2: histories.WITHDRAWN,
    4: histories.RESUBMITTED,
    6: histories.ENDORSED,
    8: histories.RETURNED_BY_MINISTRY,
    10: histories.RETURNED_BY_SECRETARIAT,
    11: histories.WAITING,  # every other one WAITING_LONG (``_story``)
}
# The evidence files of the latest quarter's reports of the first 26 sub-projects, by place modulo 13.
LATEST_EVIDENCE = {0: "chart", 1: "checkpoint", 4: "acceptance", 6: "checkpoint"}
EVIDENCE_ON_FIRST = 26
REOPENED_BEFORE_LATEST = 1  # the sub-project whose report of the quarter before the latest is being corrected
REOPENED_IN_FIRST = 3  # the sub-project whose report of the first quarter (then locked) was reopened
LOCK_REASON = "年度決算完成，本季季報鎖定。"
EXCEPTION_REASON = "本季季報經重新開啟，特准於期限前更正。"
EXCEPTION_DAYS = 30


@dataclass(frozen=True)
class DemoReports:
    filed: int  # quarterly reports
    updates: int  # monthly updates
    revisions: int
    files: int
    first: Quarter
    latest: Quarter


@transaction.atomic
def demo_reports_load(*, on: datetime.date | None = None) -> DemoReports | None:
    """Give every sub-project dates, budget, milestones, an indicator and its reports, on the calendar seen
    on ``on`` (today); once: None when reports are there already, or no sub-project to report on."""
    if QuarterlyReport.objects.exists():
        return None
    on = on or today()
    # The plan structure loaded just before (and what this writes) stands from the calendar's start.
    since = min(Plan.objects.values_list("created_at", flat=True), default=timezone.now())
    secretariat = users_with(Capability.OVERSEE).order_by("pk").first()
    subprojects = list(
        PlanNode.objects.filter(kind=NodeKind.SUBPROJECT).select_related("plan").with_agency_links().order_by("path")
    )
    if not subprojects:
        return None
    calendars = {}
    for plan in Plan.objects.filter(pk__in={node.plan_id for node in subprojects}):
        calendar = calendars[plan.pk] = demo_calendar(on, due_days=plan.report_due_days)
        # The plan's years reach the sub-projects' last one: reports and annual reports fall within them.
        Plan.objects.filter(pk=plan.pk).update(
            start_year=min(plan.start_year, calendar.first.year), end_year=max(plan.end_year, calendar.last.year)
        )
        _endorsement_required(plan, secretariat, since=calendar.start)
    demo_levels_set(subprojects, secretariat, calendars)
    casts = demo_casts(subprojects, secretariat)
    reports, events, uploads, actuals, accepted = [], [], [], [], []
    node_ledgers, node_profiles = {}, {}
    for index, node in enumerate(subprojects):
        calendar, cast = calendars[node.plan_id], casts[node.pk]
        profile = PROFILES[index % len(PROFILES)]
        budget = budget_of(index)
        PlanNode.objects.filter(pk=node.pk).update(start_date=calendar.start, end_date=calendar.end, budget=budget)
        demo_milestones(node, profile, calendar)
        indicator = demo_indicator(node, index, calendar)
        ledgers = node_ledgers[node.pk] = demo_ledgers(node, budget, calendar)
        node_profiles[node.pk] = profile
        for period in calendar.reported():
            step = calendar.step(period)
            story = _story(index, period, calendar, profile)
            allocated = ledgers[period.year].allocated_to(period.quarter)
            report = QuarterlyReport(
                node=node,
                year=period.year,
                quarter=period.quarter,
                due_on=period.due_date(node.plan.report_due_days),
                created_by=cast.lead,
                **report_content(period, step, profile, allocated),
            )
            report.ledger_allocated = allocated  # what ``budget_allocated`` reads, without asking the ledger
            evidence = _evidence(index, period, calendar, story, step, profile)
            report_events, report_uploads = histories.replay(
                report, story, cast, evidence=evidence, days_late=profile.days_late, on=on, index=index
            )
            reports.append(report)
            events.append(report_events)
            uploads.append(report_uploads)
            if report.accepted_at is not None:  # what its acceptance applied stays in force, reopened or not
                actuals.append(
                    IndicatorActual(
                        indicator=indicator,
                        year=period.year,
                        quarter=period.quarter,
                        value=indicator_value(index, profile, step),
                        as_of=period.end,
                        source=f"季報 {period}",
                        recorded_by=secretariat,
                    )
                )
                accepted.append(report.accepted_at)
    for update, update_events, update_uploads in demo_monthly_updates(
        subprojects, calendars=calendars, casts=casts, ledgers=node_ledgers, profiles=node_profiles, on=on
    ):
        reports.append(update)
        events.append(update_events)
        uploads.append(update_uploads)
    QuarterlyReport.objects.bulk_create(reports)
    files = _files_store(reports, uploads, casts)
    ReportEvent.objects.bulk_create(
        [event for report, rows in zip(reports, events, strict=True) for event in _bind(report, rows)]
    )
    IndicatorActual.objects.bulk_create(actuals)
    PlanNode.history.bulk_history_create(PlanNode.objects.filter(pk__in=[node.pk for node in subprojects]), update=True)
    history.plan_history_backdate(since=since, start=min(calendar.start for calendar in calendars.values()))
    history.report_history_record(reports, events)
    history.actual_history_record(actuals, accepted)
    for plan_id, calendar in calendars.items():
        _first_quarter_locked(plan_id, calendar, reports, secretariat, on=on)
    # Last: a revision's baseline records the sub-project's milestones, budget years and targets as loaded.
    revisions = demo_revisions_load(subprojects, casts, on=on)
    return DemoReports(
        revisions=revisions,
        filed=sum(1 for report in reports if report.month is None),
        updates=sum(1 for report in reports if report.month is not None),
        files=files,
        first=min(calendar.first for calendar in calendars.values()),
        latest=max(calendar.latest for calendar in calendars.values()),
    )


def demo_flag_history_backdate() -> int:
    """After the first scan: date the flags' history to when the demo's lags began (``history``)."""
    plan = Plan.objects.order_by("pk").first()
    return history.flag_history_backdate(report_due_days=plan.report_due_days) if plan else 0


def _story(index: int, period, calendar: DemoCalendar, profile) -> histories.Story:
    if period == calendar.latest:
        story = LATEST_STORY.get(index % 13, histories.ACCEPTED)
        return histories.WAITING_LONG if story is histories.WAITING and index % 26 == 11 else story
    if index == REOPENED_BEFORE_LATEST and period == shifted(calendar.latest, -1):
        return histories.REOPENED_IN_CORRECTION
    if index == REOPENED_IN_FIRST and period == calendar.first:
        return histories.REOPENED
    if profile.slipping_milestone and period == shifted(calendar.latest, -2):
        return histories.ACCEPTED_AFTER_RETURN
    return histories.ACCEPTED


def _evidence(index: int, period, calendar: DemoCalendar, story, step: int, profile):
    kind = ""
    if story is histories.REOPENED_IN_CORRECTION:
        kind = "ledger"
    elif period == calendar.latest and index < EVIDENCE_ON_FIRST:
        kind = LATEST_EVIDENCE.get(index % 13, "")
    if not kind:
        return []
    return demo_evidence(kind, period=str(period), subproject=index + 1, step=step, gap=int(profile.gap))


def _endorsement_required(plan, secretariat, *, since: datetime.date) -> None:
    """The plan's reports are endorsed by their ministry first, as the secretariat set it before the
    sub-projects began."""
    settings, _created = LagSettings.objects.get_or_create(plan=plan)
    lag_settings_update(lag_settings=settings, actor=secretariat, values={"endorsement_required": True})
    LagSettingsChange.objects.filter(lag_settings=settings).update(at=at(since - datetime.timedelta(days=14)))


def demo_casts(subprojects, secretariat) -> dict[int, Cast]:
    """Who files each sub-project's reports: the lead account of its first lead agency with one, or of the
    nearest agency above it; who endorses them: the reviewer of that lead's ministry. Where the demo has no
    such account, a stand-in of the ministry, which never signs in, takes the part."""
    leads = {user.agency_id: user for user in users_with(Capability.FILE).select_related("agency").order_by("pk")}
    reviewers = {user.agency_id: user for user in users_with(Capability.ENDORSE).order_by("pk")}
    ministries = Agency.objects.in_bulk({agency.path_ids[0] for node in subprojects for agency in node.lead_agencies})
    casts = {}
    for node in subprojects:
        lead = next(
            (leads[pk] for agency in node.lead_agencies for pk in reversed(agency.path_ids) if pk in leads), None
        )
        if lead is None:
            ministry = ministries[node.lead_agencies[0].path_ids[0]]
            lead = leads[ministry.pk] = _stand_in(ministry, Role.LEAD)
        ministry = ministries[lead.agency.path_ids[0]]
        if ministry.pk not in reviewers:
            reviewers[ministry.pk] = _stand_in(ministry, Role.REVIEWER)
        casts[node.pk] = Cast(lead=lead, reviewer=reviewers[ministry.pk], secretariat=secretariat)
    return casts


def _stand_in(ministry: Agency, role: str):
    user, _password = account_create_or_update(
        username=f"{ministry.short_name or ministry.name}-{role}", role=role, agency=ministry, can_sign_in=False
    )
    return user


def _files_store(reports, uploads, casts) -> int:
    """Store the evidence files through the default storage and record them, uploaded when their history
    says."""
    files = []
    for report, report_uploads in zip(reports, uploads, strict=True):
        for upload in report_uploads:
            item = upload.evidence
            file = EvidenceFile(
                report=report,
                name=item.name,
                size=len(item.data),
                content_type=item.content_type,
                sha256=item.sha256,
                uploaded_by=casts[report.node_id].lead,
                frozen_at=upload.frozen_at,
            )
            file.content.save(item.name, ContentFile(item.data), save=False)
            file.uploaded_at = upload.at
            files.append(file)
    uploaded = [file.uploaded_at for file in files]
    EvidenceFile.objects.bulk_create(files)  # which sets uploaded_at to now: put back the history's
    for file, when in zip(files, uploaded, strict=True):
        file.uploaded_at = when
    EvidenceFile.objects.bulk_update(files, ["uploaded_at"])
    return len(files)


def _first_quarter_locked(plan_id, calendar: DemoCalendar, reports, secretariat, *, on: datetime.date) -> None:
    """The secretariat locked the first quarter after its reports were accepted; a report of it reopened since
    has its sub-project let in again for a month."""
    plan = Plan.objects.get(pk=plan_id)
    lock = quarter_lock_create(actor=secretariat, plan=plan, period=calendar.first, reason=LOCK_REASON)
    locked = calendar.first.due_date(plan.report_due_days) + datetime.timedelta(days=90)
    QuarterLock.objects.filter(pk=lock.pk).update(locked_at=at(locked, 17))
    for report in reports:
        if report.node.plan_id == plan_id and report.quarter_obj == calendar.first and report.reopened_at:
            exception = lock_exception_grant(
                actor=secretariat,
                lock=lock,
                node=report.node,
                expires_on=on + datetime.timedelta(days=EXCEPTION_DAYS),
                reason=EXCEPTION_REASON,
            )
            granted = report.reopened_at + datetime.timedelta(hours=1)
            LockException.objects.filter(pk=exception.pk).update(granted_at=granted)


def _bind(report, rows):
    for version, (action, actor, from_status, to_status, when, reason, changes) in enumerate(rows, start=1):
        event = ReportEvent(
            report=report,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            version=version,
            reason=reason,
            changes=changes,
        )
        event.at = when
        yield event
