"""Demo data: the 2024 report's plan structure with deterministic sub-project figures, milestones,
indicators and eight quarters of reports, laid on a calendar counted back from the day it is loaded, so a
fresh install shows flags at once and every lead has a quarter to file.

The eight quarters reported end with the latest quarter whose report fell due before that day; after them
come the quarters still to report (in the first days of a quarter the one just ended, not due yet; the
current quarter; the next), the sub-projects running twelve quarters in all. Profiles cycle over the sub-projects in
outline order: most are on plan; some run behind (yellow or red gap), under-spend (yellow or red), submit
late, or let a milestone slip past the end date; in the latest quarter reported some reports are still
drafts, waiting for review, or returned.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from accounts.access import Capability, users_with
from indicators.models import Indicator, IndicatorActual, IndicatorTarget, Measure
from projects.models import Milestone, NodeKind, Plan, PlanNode

from .models import QuarterlyReport, ReportAction, ReportEvent, ReportStatus
from .periods import Quarter, quarters_between, today
from .rules import decimal_text

HISTORY = 8  # quarters reported: enough for every lag rule to have its evidence at the first scan
SPAN = 12  # quarters a demo sub-project runs: the history, then the quarters still to report
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))


def shifted(quarter: Quarter, quarters: int) -> Quarter:
    """The quarter ``quarters`` after (or, negative, before) ``quarter``."""
    index = quarter.year * 4 + quarter.quarter - 1 + quarters
    return Quarter(index // 4, index % 4 + 1)


@dataclass(frozen=True)
class DemoCalendar:
    """The demo's quarters as seen on a day."""

    first: Quarter  # the sub-projects' first quarter, the first one reported
    latest: Quarter  # the last quarter reported: the latest whose report fell due before the day
    last: Quarter  # the sub-projects' last quarter

    @property
    def start(self) -> datetime.date:
        return self.first.start

    @property
    def end(self) -> datetime.date:
        return self.last.end

    def step(self, period: Quarter) -> int:
        """The period's place in the sub-projects' quarters, the first being 1."""
        return (period.year - self.first.year) * 4 + period.quarter - self.first.quarter + 1

    def reported(self):
        return quarters_between(self.first, self.latest)


def demo_calendar(day: datetime.date, *, due_days: int) -> DemoCalendar:
    """Eight quarters reported up to the latest one due before ``day``; the current quarter and the next
    are still to report, within the sub-projects' twelve quarters."""
    latest = Quarter.containing(day).previous()
    while latest.due_date(due_days) >= day:
        latest = latest.previous()
    first = shifted(latest, 1 - HISTORY)
    return DemoCalendar(first=first, latest=latest, last=shifted(first, SPAN - 1))


@dataclass(frozen=True)
class DemoReports:
    filed: int
    first: Quarter
    latest: Quarter


@dataclass(frozen=True)
class Profile:
    name: str
    gap: Decimal = Decimal(0)  # actual minus planned progress, in points
    execution: Decimal = Decimal("0.97")  # spent over allocated
    days_late: int = 0  # submitted this many days after the due date (negative: before)
    slipping_milestone: bool = False


PROFILES = [
    Profile("on plan"),
    Profile("on plan", gap=Decimal("1.5")),
    Profile("on plan", execution=Decimal("0.93")),
    Profile("behind plan", gap=Decimal("-6.5")),
    Profile("on plan"),
    Profile("far behind plan", gap=Decimal("-12"), slipping_milestone=True),
    Profile("under-spending", execution=Decimal("0.86")),
    Profile("on plan", gap=Decimal("0.5")),
    Profile("severely under-spending", execution=Decimal("0.72")),
    Profile("late submitter", days_late=14),
    Profile("on plan", execution=Decimal("0.95")),
]
# The latest quarter's report, by sub-project position: most accepted, some still in the review queue.
LATEST_STATUS = {0: ReportStatus.DRAFT, 4: ReportStatus.SUBMITTED, 8: ReportStatus.RETURNED, 11: ReportStatus.SUBMITTED}
# (title, the quarter it is planned to end, by its place in the sub-project's quarters, weight, critical)
MILESTONES = [
    ("需求訪談與規劃完成", 2, Decimal(20), False),
    ("系統建置完成", 4, Decimal(30), True),
    ("試營運", 7, Decimal(20), False),
    ("驗收結案", SPAN, Decimal(30), True),
]
# Planned growth of the demo indicator per quarter; on plan it grows faster, behind plan slower.
INDICATOR_PLAN_STEP = Decimal(150)


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TAIPEI)


@transaction.atomic
def demo_reports_load(*, on: datetime.date | None = None) -> DemoReports | None:
    """Give every sub-project dates, budget, milestones, an indicator and its reports, on the calendar seen
    on ``on`` (today); once: None when reports are there already, or no sub-project to report on."""
    if QuarterlyReport.objects.exists():
        return None
    on = on or today()
    secretariat = users_with(Capability.OVERSEE).order_by("pk").first()
    leads = {user.agency_id: user for user in users_with(Capability.FILE).order_by("pk")}
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
    reports, events, actuals = [], [], []
    for index, node in enumerate(subprojects):
        calendar = calendars[node.plan_id]
        profile = PROFILES[index % len(PROFILES)]
        budget = Decimal((index % 7 + 3) * 10_000_000)
        PlanNode.objects.filter(pk=node.pk).update(start_date=calendar.start, end_date=calendar.end, budget=budget)
        _milestones(node, profile, calendar)
        indicator = _indicator(node, index, calendar)
        author = _author(node, leads, secretariat)
        latest = LATEST_STATUS.get(index % 13, ReportStatus.ACCEPTED)
        for period in calendar.reported():
            step = calendar.step(period)
            status = latest if period == calendar.latest else ReportStatus.ACCEPTED
            report, report_events = _report(node, period, step, profile, budget, status, author, secretariat, before=on)
            reports.append(report)
            events.append(report_events)
            if status == ReportStatus.ACCEPTED:
                value = indicator_baseline(index) + Decimal(step) * _indicator_step(index, profile)
                actuals.append(
                    IndicatorActual(
                        indicator=indicator,
                        year=period.year,
                        quarter=period.quarter,
                        value=value,
                        as_of=period.end,
                        source=f"季報 {period}",
                        recorded_by=secretariat,
                    )
                )
    QuarterlyReport.objects.bulk_create(reports)
    ReportEvent.objects.bulk_create(
        [event for report, report_events in zip(reports, events, strict=True) for event in _bind(report, report_events)]
    )
    IndicatorActual.objects.bulk_create(actuals)
    return DemoReports(
        filed=len(reports),
        first=min(calendar.first for calendar in calendars.values()),
        latest=max(calendar.latest for calendar in calendars.values()),
    )


def indicator_baseline(index: int) -> Decimal:
    return Decimal(1000 + 100 * (index % 9))


def _indicator_step(index: int, profile: Profile) -> Decimal:
    # On plan it stays ahead of the targets (INDICATOR_PLAN_STEP a quarter), on track whatever the day even when
    # its latest report is still in review; behind plan it falls behind them.
    return Decimal(110 if profile.gap < 0 else 190)


def _indicator(node, index: int, calendar: DemoCalendar) -> Indicator:
    """A cumulative indicator from a baseline at the end of the year before the sub-project, with a target for
    each of its years: INDICATOR_PLAN_STEP for each of its quarters up to the year's end."""
    baseline = indicator_baseline(index)
    indicator = Indicator.objects.create(
        plan=node.plan,
        node=node,
        key=f"{node.outline_key or node.pk}/usage",
        name="服務使用人次",
        unit="人次",
        measure=Measure.NUMBER,
        is_cumulative=True,
        baseline_year=calendar.first.year - 1,
        baseline_value=baseline,
    )
    IndicatorTarget.objects.bulk_create(
        [
            IndicatorTarget(
                indicator=indicator,
                year=year,
                value=baseline + INDICATOR_PLAN_STEP * calendar.step(min(Quarter(year, 4), calendar.last)),
            )
            for year in range(calendar.first.year, calendar.last.year + 1)
        ]
    )
    return indicator


def _milestones(node, profile: Profile, calendar: DemoCalendar) -> None:
    """Those planned within the quarters reported are done, but for a slipping sub-project's 試營運, forecast
    beyond the end; those planned later are still to come."""
    rows = []
    for title, step, weight, critical in MILESTONES:
        planned = shifted(calendar.first, step - 1).end
        done, forecast = step <= HISTORY, None
        if profile.slipping_milestone and title == "試營運":
            done, forecast = False, shifted(calendar.last, 1).end
        rows.append(
            Milestone(
                node=node,
                title=title,
                planned_date=planned,
                weight=weight,
                is_critical=critical,
                completed_on=planned - datetime.timedelta(days=5) if done else None,
                forecast_date=forecast,
            )
        )
    Milestone.objects.bulk_create(rows)


def _author(node, leads, secretariat):
    """The lead account of the sub-project's first lead agency with one, or of the nearest agency above it."""
    for agency in node.lead_agencies:
        for pk in reversed(agency.path_ids):
            if pk in leads:
                return leads[pk]
    return secretariat


def _report(node, period, step, profile, budget, status, author, secretariat, *, before: datetime.date):
    planned = (Decimal(100) * step / SPAN).quantize(Decimal("0.01"))
    actual = max(Decimal(0), min(Decimal(100), planned + profile.gap))
    allocated = (budget * step / SPAN).quantize(Decimal(1))
    spent = (allocated * profile.execution).quantize(Decimal(1))
    due = period.due_date(node.plan.report_due_days)
    created = due - datetime.timedelta(days=20)
    submitted = due + datetime.timedelta(days=profile.days_late - 4)
    reviewed = submitted + datetime.timedelta(days=3 if status == ReportStatus.RETURNED else 5)
    last = {ReportStatus.DRAFT: created, ReportStatus.SUBMITTED: submitted}.get(status, reviewed)
    # A report due a few days ago cannot have run its whole course yet: its events move back to end by the
    # day before ``before``.
    early = datetime.timedelta(days=max(0, (last - before).days + 1))
    created, submitted, reviewed = (_at(day - early) for day in (created, submitted, reviewed))
    behind = actual < planned
    report = QuarterlyReport(
        node=node,
        year=period.year,
        quarter=period.quarter,
        status=status,
        planned_progress=planned,
        actual_progress=actual,
        budget_allocated=allocated,
        budget_spent=spent,
        achievements=f"{period} 依計畫推動，累計完成 {decimal_text(actual)}%。",
        delay_reasons="採購作業延宕，系統整合測試較預期費時。" if behind else "",
        countermeasures="增派人力並調整驗收時程，按月追蹤。" if behind else "",
        due_on=due,
        created_by=author,
    )
    events = [(ReportAction.CREATE, author, "", ReportStatus.DRAFT, created, "")]
    if status != ReportStatus.DRAFT:
        report.first_submitted_at = report.submitted_at = submitted
        report.submitted_on_time = submitted.date() <= due
        events.append((ReportAction.SUBMIT, author, ReportStatus.DRAFT, ReportStatus.SUBMITTED, submitted, ""))
    if status == ReportStatus.RETURNED:
        report.returned_at = reviewed
        report.return_reason = "請補充經費執行落後之原因與改善措施。"
        events.append(
            (
                ReportAction.RETURN,
                secretariat,
                ReportStatus.SUBMITTED,
                ReportStatus.RETURNED,
                report.returned_at,
                report.return_reason,
            )
        )
    if status == ReportStatus.ACCEPTED:
        report.accepted_at = reviewed
        report.accepted_by = secretariat
        events.append(
            (ReportAction.ACCEPT, secretariat, ReportStatus.SUBMITTED, ReportStatus.ACCEPTED, report.accepted_at, "")
        )
    report.version = len(events)
    return report, events


def _bind(report, rows):
    for version, (action, actor, from_status, to_status, at, reason) in enumerate(rows, start=1):
        event = ReportEvent(
            report=report,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            version=version,
            reason=reason,
        )
        event.at = at
        yield event
