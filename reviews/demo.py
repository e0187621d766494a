"""Demo data: the 2024 report's plan structure with deterministic sub-project figures, milestones,
indicators and eight quarters of reports (2024Q1-2025Q4), so a fresh install shows flags at once.

Profiles cycle over the sub-projects in outline order: most are on plan; some run behind (yellow or
red gap), under-spend (yellow or red), submit late, or let a milestone slip past the end date; in the
latest quarter some reports are still drafts, waiting for review, or returned.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from accounts.access import Capability, users_with
from indicators.models import Indicator, IndicatorActual, IndicatorTarget, Measure
from projects.models import AgencyRole, Milestone, NodeKind, PlanNode

from .models import QuarterlyReport, ReportAction, ReportEvent, ReportStatus
from .periods import Quarter, quarters_between
from .rules import decimal_text

FIRST, LAST = Quarter(2024, 1), Quarter(2025, 4)
START, END = datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))


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
MILESTONES = [
    ("需求訪談與規劃完成", datetime.date(2024, 6, 30), Decimal(20), False),
    ("系統建置完成", datetime.date(2024, 12, 31), Decimal(30), True),
    ("試營運", datetime.date(2025, 6, 30), Decimal(20), False),
    ("驗收結案", datetime.date(2025, 12, 31), Decimal(30), True),
]


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TAIPEI)


@transaction.atomic
def demo_reports_load() -> int:
    """Give every sub-project dates, budget, milestones, an indicator and its reports; once."""
    if QuarterlyReport.objects.exists():
        return 0
    secretariat = users_with(Capability.OVERSEE).order_by("pk").first()
    leads = {user.agency_id: user for user in users_with(Capability.FILE).order_by("pk")}
    subprojects = list(
        PlanNode.objects.filter(kind=NodeKind.SUBPROJECT)
        .select_related("plan")
        .prefetch_related("agency_links__agency")
        .order_by("path")
    )
    reports, events, actuals = [], [], []
    for index, node in enumerate(subprojects):
        profile = PROFILES[index % len(PROFILES)]
        budget = Decimal((index % 7 + 3) * 10_000_000)
        PlanNode.objects.filter(pk=node.pk).update(start_date=START, end_date=END, budget=budget)
        _milestones(node, profile)
        indicator = _indicator(node, index)
        author = _author(node, leads, secretariat)
        latest = LATEST_STATUS.get(index % 13, ReportStatus.ACCEPTED)
        for step, period in enumerate(quarters_between(FIRST, LAST), start=1):
            status = latest if period == LAST else ReportStatus.ACCEPTED
            report, report_events = _report(node, period, step, profile, budget, status, author, secretariat)
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
    return len(reports)


def indicator_baseline(index: int) -> Decimal:
    return Decimal(1000 + 100 * (index % 9))


def _indicator_step(index: int, profile: Profile) -> Decimal:
    # On plan: the 2025 target (+1200) is passed in 2025Q3; a project behind plan grows more slowly.
    return Decimal(110 if profile.gap < 0 else 175)


def _indicator(node, index: int) -> Indicator:
    baseline = indicator_baseline(index)
    indicator = Indicator.objects.create(
        plan=node.plan,
        node=node,
        key=f"{node.outline_key or node.pk}/usage",
        name="服務使用人次",
        unit="人次",
        measure=Measure.NUMBER,
        is_cumulative=True,
        baseline_year=2023,
        baseline_value=baseline,
    )
    IndicatorTarget.objects.bulk_create(
        [
            IndicatorTarget(indicator=indicator, year=2024, value=baseline + 600),
            IndicatorTarget(indicator=indicator, year=2025, value=baseline + 1200),
        ]
    )
    return indicator


def _milestones(node, profile: Profile) -> None:
    rows = []
    for title, planned, weight, critical in MILESTONES:
        done, forecast = True, None
        if profile.slipping_milestone and title == "試營運":
            done, forecast = False, datetime.date(2026, 3, 31)
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
    for link in node.agency_links.all():
        if link.role == AgencyRole.LEAD:
            agency = link.agency
            while agency is not None:
                if agency.pk in leads:
                    return leads[agency.pk]
                agency = agency.parent
    return secretariat


def _report(node, period, step, profile, budget, status, author, secretariat):
    planned = min(Decimal(100), Decimal("12.5") * step)
    actual = max(Decimal(0), min(Decimal(100), planned + profile.gap))
    allocated = (budget * step / 8).quantize(Decimal(1))
    spent = (allocated * profile.execution).quantize(Decimal(1))
    due = period.due_date(node.plan.report_due_days)
    submitted = _at(due + datetime.timedelta(days=profile.days_late - 4))
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
    events = [(ReportAction.CREATE, author, "", ReportStatus.DRAFT, _at(due - datetime.timedelta(days=20)), "")]
    if status != ReportStatus.DRAFT:
        report.first_submitted_at = report.submitted_at = submitted
        report.submitted_on_time = submitted.date() <= due
        events.append((ReportAction.SUBMIT, author, ReportStatus.DRAFT, ReportStatus.SUBMITTED, submitted, ""))
    if status == ReportStatus.RETURNED:
        report.returned_at = submitted + datetime.timedelta(days=3)
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
        report.accepted_at = submitted + datetime.timedelta(days=5)
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
