"""Writes to quarterly reports: filing, editing, the review chain and its audit trail.

The chain: a lead files a draft and submits it (and may withdraw it until a reviewer acts); where the
plan asks for it, the ministry's reviewer endorses it (初核) or returns it; the secretariat accepts it (複核)
or returns it, and may reopen an accepted report for correction. A quarter the secretariat locked takes no
filing, edits, submissions or withdrawals (review goes on), but for sub-projects it granted an exception.

Every write is one transaction that checks the actor and the transition on the
server, saves through a conditional update on ``version`` (so a stale ETag
loses, whatever the timing) and appends a ``ReportEvent``.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gstp.exceptions import InvalidTransition, StaleVersion
from indicators import services as indicator_services
from indicators.models import Measure
from projects import services as project_services
from projects.models import NodeKind, PlanNode
from projects.selectors import budget_year_of

from .. import access
from ..models import (
    ACTIVE_STATUSES,
    EDITABLE_STATUSES,
    IS_FILED,
    EvidenceFile,
    LagFlag,
    LagRule,
    LagSettings,
    QuarterlyReport,
    ReportAction,
    ReportEvent,
    ReportIndicatorValue,
    ReportMilestoneEntry,
    ReportStatus,
    Rhythm,
    period_condition,
)
from ..models.reports import CONTENT_FIELDS, MONTHLY_FIELDS
from ..periods import Month, Quarter, today
from ..selectors import last_accepted_before, node_settings, quarter_lock, subproject_quarters, update_months_of
from .notifications import report_step_notify_enqueue, webhook_event_enqueue
from .outbox import outbox_enqueue

REQUIRED_TO_SUBMIT = ("planned_progress", "actual_progress", "budget_spent")
# Cumulative budget figures of a year that may not fall from one accepted quarter to the next without a
# budget_explanation: (field named, what is compared).
BUDGET_TO_DATE = (
    ("budget_spent", lambda r: r.budget_spent),
    ("budget_payables", lambda r: None if r.budget_spent is None else r.budget_spent + (r.budget_payables or 0)),
    ("budget_savings", lambda r: r.budget_savings),
)


def _money(value) -> str:
    return f"{value:,.0f}"


def _validate_budget(report: QuarterlyReport, previous, add) -> None:
    """The budget figures against the year's ledger and the last accepted report of the same year."""
    figures = {name: getattr(report, name) for name in ("budget_spent", "budget_payables", "budget_savings")}
    ledger = budget_year_of(node=report.node_id, year=report.year)
    if ledger is not None:
        limit = {"appropriation": _money(ledger.appropriation), "year": report.year}
        for name, value in figures.items():
            if value is not None and value > ledger.appropriation:
                add(name, _("Above the appropriation of %(appropriation)s for %(year)s.") % limit)
        total = sum((value or 0 for value in figures.values()), Decimal(0))
        if total > ledger.appropriation and all(value <= ledger.appropriation for value in figures.values() if value):
            add(
                "budget_spent",
                _(
                    "Spent, payables and savings add up to %(total)s, above the appropriation of %(appropriation)s for "
                    "%(year)s."
                )
                % {**limit, "total": _money(total)},
            )
    if previous is None or previous.year != report.year or report.budget_explanation.strip():
        return
    labels = {
        "budget_spent": _("Cumulative spent"),
        "budget_payables": _("Cumulative spent and payables"),
        "budget_savings": _("Cumulative savings"),
    }
    # A monthly update gives spent alone: against it, or from it, only spent is compared.
    compared = BUDGET_TO_DATE[:1] if report.is_monthly or previous.month is not None else BUDGET_TO_DATE
    for name, to_date in compared:
        before, now = to_date(previous), to_date(report)
        if before is not None and now is not None and now < before:
            add(
                "budget_explanation",
                _("%(figure)s (%(now)s) is lower than the %(before)s accepted for %(period)s: explain why.")
                % {"figure": labels[name], "now": _money(now), "before": _money(before), "period": previous.period},
            )


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _entries_snapshot(entries) -> list[dict]:
    return [
        {
            "milestone": entry["milestone"].pk,
            "completed_on": _json_value(entry.get("completed_on")),
            "forecast_date": _json_value(entry.get("forecast_date")),
            "note": entry.get("note", ""),
        }
        for entry in entries
    ]


def _values_snapshot(values) -> list[dict]:
    return [
        {"indicator": item["indicator"].pk, "value": _json_value(item.get("value")), "text": item.get("text", "")}
        for item in values
    ]


def _current_entries(report) -> list[dict]:
    return [
        {"milestone": e.milestone, "completed_on": e.completed_on, "forecast_date": e.forecast_date, "note": e.note}
        for e in report.milestone_entries.select_related("milestone")
    ]


def _current_values(report) -> list[dict]:
    return [
        {"indicator": v.indicator, "value": v.value, "text": v.text}
        for v in report.indicator_values.select_related("indicator")
    ]


def _validate_content(report: QuarterlyReport, *, entries, values, for_submission: bool) -> None:
    """Rules on the report as it would stand after the write; raises ValidationError naming each field."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    for index, entry in enumerate(entries):
        if entry["milestone"].node_id != report.node_id:
            add(
                "milestone_entries",
                _("Entry %(index)s: the milestone belongs to another sub-project.") % {"index": index + 1},
            )
    seen = [entry["milestone"].pk for entry in entries]
    if len(seen) != len(set(seen)):
        add("milestone_entries", _("A milestone is listed more than once."))
    for index, item in enumerate(values):
        indicator = item["indicator"]
        if indicator.node_id != report.node_id:
            message = _("Value %(index)s: the indicator belongs to another sub-project.")
            add("indicator_values", message % {"index": index + 1})
        elif indicator.measure == Measure.QUALITATIVE and item.get("value") is not None:
            message = _("Value %(index)s: a qualitative indicator takes text, not a number.")
            add("indicator_values", message % {"index": index + 1})
        elif indicator.measure != Measure.QUALITATIVE and item.get("value") is None:
            message = _("Value %(index)s: this indicator needs a number.")
            add("indicator_values", message % {"index": index + 1})
    seen = [item["indicator"].pk for item in values]
    if len(seen) != len(set(seen)):
        add("indicator_values", _("An indicator is listed more than once."))

    planned, actual = report.planned_progress, report.actual_progress
    if planned is not None and actual is not None and actual < planned and not report.delay_reasons.strip():
        add("delay_reasons", _("Actual progress is behind plan: give the reasons for the delay."))
    previous = last_accepted_before(node=report.node, period=report.period_obj)
    if actual is not None:
        if (
            previous is not None
            and previous.actual_progress is not None
            and actual < previous.actual_progress
            and not report.progress_explanation.strip()
        ):
            add(
                "progress_explanation",
                _("Actual cumulative progress is lower than the %(progress)s%% accepted for %(period)s: explain why.")
                % {"progress": format(previous.actual_progress.normalize(), "f"), "period": previous.period},
            )
    _validate_budget(report, previous, add)
    if for_submission:
        for field in REQUIRED_TO_SUBMIT:
            if getattr(report, field) is None:
                add(field, _("Required to submit the report."))
    if errors:
        raise ValidationError(errors)


def ensure_quarter_open(*, node, period: Quarter) -> None:
    """Refuse (409) filing and edits in a quarter the secretariat locked, unless the sub-project holds an
    exception that has not expired."""
    lock = quarter_lock(node=node, period=period)
    if lock is not None:
        raise InvalidTransition(
            _("%(period)s is locked for this plan: ask the Executive Secretariat for an exception.")
            % {"period": period}
        )


def _ensure_version(report: QuarterlyReport, expected_version: int) -> None:
    """If-Match is judged before the step itself (RFC 9110 13.2.2): a client that read an older version
    gets 412 whatever happened since, not a 409 about a status it has not seen."""
    if expected_version != report.version:
        raise StaleVersion()


def _conditional_save(report: QuarterlyReport, *, expected_version: int, fields) -> None:
    """Write ``fields`` only if the report is still at ``expected_version``; the loser of a race gets 412."""
    now = timezone.now()
    values = {field: getattr(report, field) for field in fields}
    updated = QuarterlyReport.objects.filter(pk=report.pk, version=expected_version).update(
        **values, version=expected_version + 1, updated_at=now
    )
    if not updated:
        raise StaleVersion()
    report.version = expected_version + 1
    report.updated_at = now
    # The conditional update sends no post_save: record the report's new state in its history here.
    QuarterlyReport.history.bulk_history_create([report], update=True, default_date=now)


def _record(report, *, actor, action, from_status, changes=None, reason="") -> None:
    ReportEvent.objects.create(
        report=report,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=report.status,
        version=report.version,
        changes=changes or {},
        reason=reason,
    )


def _replace_children(report, *, entries, values) -> None:
    if entries is not None:
        report.milestone_entries.all().delete()
        ReportMilestoneEntry.objects.bulk_create(
            [
                ReportMilestoneEntry(
                    report=report,
                    milestone=entry["milestone"],
                    completed_on=entry.get("completed_on"),
                    forecast_date=entry.get("forecast_date"),
                    note=entry.get("note", ""),
                )
                for entry in entries
            ]
        )
    if values is not None:
        report.indicator_values.all().delete()
        ReportIndicatorValue.objects.bulk_create(
            [
                ReportIndicatorValue(
                    report=report, indicator=item["indicator"], value=item.get("value"), text=item.get("text", "")
                )
                for item in values
            ]
        )
    report.forget_prefetched(milestone_entries=entries is not None, indicator_values=values is not None)


def _ensure_monthly_content(data: dict) -> None:
    """A monthly update carries ``MONTHLY_FIELDS`` only: anything else is refused, field by field."""
    others = sorted(name for name in data if name not in MONTHLY_FIELDS)
    if others:
        message = _("Not part of a monthly update: it is given in the quarterly report.")
        raise ValidationError({name: [message] for name in others})


def _ensure_month_open(node: PlanNode, month: Month, settings: LagSettings) -> None:
    """A monthly update is for a sub-project whose control level reports monthly, for a month that does
    not close its quarter, while the quarter's report is not filed yet (it covers the months before it)."""
    if settings.rhythm != Rhythm.MONTHLY:
        message = _("This sub-project reports quarterly (its control level): file the quarterly report instead.")
        raise ValidationError({"period": [message]})
    if month.closes_quarter:
        message = _("%(month)s closes %(quarter)s: the quarterly report covers it.")
        raise ValidationError({"period": [message % {"month": month, "quarter": month.quarter}]})
    quarter = month.quarter
    if QuarterlyReport.objects.filter(IS_FILED, period_condition(quarter), node=node).exists():
        message = _("The quarterly report of %(quarter)s is filed and covers %(month)s.")
        raise ValidationError({"period": [message % {"month": month, "quarter": quarter}]})


@transaction.atomic
def report_create(*, actor, node: PlanNode, period: Quarter | Month, data: dict) -> QuarterlyReport:
    """A lead of the sub-project opens the quarter's report, or a month's update (``Month``), as a draft."""
    if node.kind != NodeKind.SUBPROJECT:
        raise ValidationError({"project": [_("Reports are filed for sub-projects.")]})
    access.ensure(access.can_file_report(actor, node), access.NOT_LEAD_TO_FILE)
    monthly = isinstance(period, Month)
    quarter = period.quarter if monthly else period
    first, last = subproject_quarters(node)
    if not first <= quarter <= last:
        raise ValidationError(
            {
                "period": [
                    _("%(period)s is outside the sub-project's quarters (%(first)s to %(last)s).")
                    % {"period": period, "first": first, "last": last}
                ]
            }
        )
    if monthly:
        first_month, last_month = update_months_of(node)
        if not first_month <= period <= last_month:
            message = _("%(period)s is outside the sub-project's months (%(first)s to %(last)s).")
            raise ValidationError({"period": [message % {"period": period, "first": first_month, "last": last_month}]})
    if period.start > today():
        raise ValidationError({"period": [_("%(period)s has not begun yet.") % {"period": period}]})
    settings = node_settings(node)
    if monthly:
        _ensure_monthly_content(data)
        _ensure_month_open(node, period, settings)
    ensure_quarter_open(node=node, period=quarter)
    entries = data.pop("milestone_entries", [])
    values = data.pop("indicator_values", [])
    report = QuarterlyReport(
        node=node,
        year=period.year,
        quarter=quarter.quarter,
        month=period.month if monthly else None,
        due_on=period.due_date(settings.monthly_due_days if monthly else settings.report_due_days),
        created_by=actor,
        **data,
    )
    _validate_content(report, entries=entries, values=values, for_submission=False)
    report.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"period": [_("A report for %(period)s already exists for this sub-project.") % {"period": period}]}
        ) from exc
    _replace_children(report, entries=entries, values=values)
    changes = {
        field: [None, _json_value(getattr(report, field))]
        for field in CONTENT_FIELDS
        if data.get(field) not in (None, "")
    }
    if entries:
        changes["milestone_entries"] = [[], _entries_snapshot(entries)]
    if values:
        changes["indicator_values"] = [[], _values_snapshot(values)]
    _record(report, actor=actor, action=ReportAction.CREATE, from_status="", changes=changes)
    return report


@transaction.atomic
def report_update(*, actor, report: QuarterlyReport, expected_version: int, data: dict) -> QuarterlyReport:
    """A lead edits a draft or returned report; fields not in ``data`` keep their values."""
    access.ensure(access.can_edit_report(actor, report), access.NOT_LEAD_TO_EDIT)
    _ensure_version(report, expected_version)
    if report.status not in EDITABLE_STATUSES:
        raise InvalidTransition(_("Only a draft or a returned report can be edited."))
    ensure_quarter_open(node=report.node, period=report.quarter_obj)
    if report.is_monthly:
        _ensure_monthly_content(data)
    entries = data.pop("milestone_entries", None)
    values = data.pop("indicator_values", None)
    changes = {}
    for field, value in data.items():
        before = getattr(report, field)
        if before != value:
            changes[field] = [_json_value(before), _json_value(value)]
            setattr(report, field, value)
    if entries is not None:
        before, after = _entries_snapshot(_current_entries(report)), _entries_snapshot(entries)
        if before != after:
            changes["milestone_entries"] = [before, after]
    if values is not None:
        before, after = _values_snapshot(_current_values(report)), _values_snapshot(values)
        if before != after:
            changes["indicator_values"] = [before, after]
    _validate_content(
        report,
        entries=entries if entries is not None else _current_entries(report),
        values=values if values is not None else _current_values(report),
        for_submission=False,
    )
    report.full_clean(validate_unique=False, validate_constraints=False)
    _conditional_save(report, expected_version=expected_version, fields=list(data))
    _replace_children(report, entries=entries, values=values)
    _record(report, actor=actor, action=ReportAction.UPDATE, from_status=report.status, changes=changes)
    return report


@transaction.atomic
def report_submit(*, actor, report: QuarterlyReport, expected_version: int) -> QuarterlyReport:
    access.ensure(access.can_submit_report(actor, report), access.NOT_LEAD_TO_SUBMIT)
    _ensure_version(report, expected_version)
    if report.status not in EDITABLE_STATUSES:
        raise InvalidTransition(_("Only a draft or a returned report can be submitted."))
    ensure_quarter_open(node=report.node, period=report.quarter_obj)
    _validate_content(report, entries=_current_entries(report), values=_current_values(report), for_submission=True)
    from_status = report.status
    now = timezone.now()
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = now
    report.submitted_by = actor
    fields = ["status", "submitted_at", "submitted_by"]
    if report.first_submitted_at is None:
        report.first_submitted_at = now
        report.submitted_on_time = timezone.localdate(now) <= report.due_on
        fields += ["first_submitted_at", "submitted_on_time"]
    _conditional_save(report, expected_version=expected_version, fields=fields)
    _record(report, actor=actor, action=ReportAction.SUBMIT, from_status=from_status)
    if access.review_level(report) == access.ReviewLevel.MINISTRY:
        report_step_notify_enqueue(report, step="awaiting_endorsement")
    return report


@transaction.atomic
def report_withdraw(*, actor, report: QuarterlyReport, expected_version: int, reason: str = "") -> QuarterlyReport:
    """A lead takes back a submitted report that no reviewer has acted on: it is a draft again."""
    access.ensure(access.can_withdraw_report(actor, report), access.NOT_LEAD_TO_WITHDRAW)
    _ensure_version(report, expected_version)
    if report.status != ReportStatus.SUBMITTED:
        raise InvalidTransition(_("Only a submitted report that nobody has endorsed or accepted can be withdrawn."))
    ensure_quarter_open(node=report.node, period=report.quarter_obj)
    report.status = ReportStatus.DRAFT
    _conditional_save(report, expected_version=expected_version, fields=["status"])
    _record(
        report, actor=actor, action=ReportAction.WITHDRAW, from_status=ReportStatus.SUBMITTED, reason=reason.strip()
    )
    _rescan_if_review_overdue(report)
    return report


def _rescan_if_review_overdue(report: QuarterlyReport) -> None:
    """The ministry acted on a report (or its lead took it back): an overdue-endorsement flag on its
    sub-project clears at once, not at the next night's scan."""
    overdue = LagFlag.objects.filter(node_id=report.node_id, rule=LagRule.REVIEW_OVERDUE, status__in=ACTIVE_STATUSES)
    if overdue.exists():
        outbox_enqueue("reviews.scan_lagging", node_ids=[report.node_id])


def _required_reason(reason: str, message) -> str:
    if not reason or not reason.strip():
        raise ValidationError({"reason": [message]})
    return reason.strip()


def _freeze_files(report: QuarterlyReport, now) -> None:
    """Endorsed or accepted: the report's files so far stay, whatever happens to it next."""
    EvidenceFile.objects.filter(report=report, frozen_at__isnull=True).update(frozen_at=now)


@transaction.atomic
def report_endorse(*, actor, report: QuarterlyReport, expected_version: int) -> QuarterlyReport:
    """The ministry's reviewer vouches for a submitted report (初核): it goes on to the secretariat."""
    access.ensure_reviewer(access.may_endorse_report, actor, report, access.NOT_REVIEWER_TO_ENDORSE)
    _ensure_version(report, expected_version)
    if report.status != ReportStatus.SUBMITTED:
        raise InvalidTransition(_("Only a submitted report can be endorsed."))
    if access.review_level(report) != access.ReviewLevel.MINISTRY:
        raise InvalidTransition(_("This plan's reports go straight to the Executive Secretariat."))
    now = timezone.now()
    report.status = ReportStatus.ENDORSED
    report.endorsed_at = now
    report.endorsed_by = actor
    _conditional_save(report, expected_version=expected_version, fields=["status", "endorsed_at", "endorsed_by"])
    _freeze_files(report, now)
    _record(report, actor=actor, action=ReportAction.ENDORSE, from_status=ReportStatus.SUBMITTED)
    _rescan_if_review_overdue(report)
    report_step_notify_enqueue(report, step="endorsed")
    webhook_event_enqueue(report_endorsed=[report])
    return report


@transaction.atomic
def report_return(*, actor, report: QuarterlyReport, expected_version: int, reason: str) -> QuarterlyReport:
    """The reviewer sends back a submitted report, or the secretariat one that waits for it, saying why:
    either way it goes back to the lead."""
    access.ensure(access.can_return_report(actor, report), access.NOT_REVIEWER_TO_RETURN)
    _ensure_version(report, expected_version)
    level = access.review_level(report)
    if access.oversees(actor):
        if level != access.ReviewLevel.SECRETARIAT:
            raise InvalidTransition(_("Only a report waiting for the Executive Secretariat can be returned by it."))
    elif level != access.ReviewLevel.MINISTRY:
        raise InvalidTransition(_("Only a submitted report waiting for the ministry's endorsement can be returned."))
    reason = _required_reason(reason, _("Say why the report is returned."))
    from_status = report.status
    report.status = ReportStatus.RETURNED
    report.returned_at = timezone.now()
    report.return_reason = reason
    report.endorsed_at, report.endorsed_by = None, None
    _conditional_save(
        report,
        expected_version=expected_version,
        fields=["status", "returned_at", "return_reason", "endorsed_at", "endorsed_by"],
    )
    _record(report, actor=actor, action=ReportAction.RETURN, from_status=from_status, reason=reason)
    _rescan_if_review_overdue(report)
    report_step_notify_enqueue(report, step="returned")
    webhook_event_enqueue(report_returned=[report])
    return report


@transaction.atomic
def report_accept(*, actor, report: QuarterlyReport, expected_version: int) -> QuarterlyReport:
    """The secretariat accepts a report waiting for it (複核): it is locked, and its milestone updates and
    indicator values become the accepted actuals, all in this transaction."""
    access.ensure_reviewer(access.may_accept_report, actor, report, access.NOT_SECRETARIAT_TO_ACCEPT)
    project_services.node_lock(report.node_id)  # acceptance freezes the baseline: after any write to it
    _ensure_version(report, expected_version)
    if access.review_level(report) != access.ReviewLevel.SECRETARIAT:
        if report.status == ReportStatus.SUBMITTED:
            raise InvalidTransition(_("The report waits for its ministry's endorsement first."))
        raise InvalidTransition(_("Only a report waiting for the Executive Secretariat can be accepted."))
    from_status = report.status
    now = timezone.now()
    report.status = ReportStatus.ACCEPTED
    report.accepted_at = now
    report.accepted_by = actor
    # An accepted report is public; why it was once returned or reopened stays in its history, which is not. A
    # corrected report's figures now replace those it was first accepted with.
    report.return_reason = ""
    report.reopen_reason = ""  # why it was reopened stays in its history; `reopened_at` says it was corrected
    report.accepted_content = None
    _conditional_save(
        report,
        expected_version=expected_version,
        fields=["status", "accepted_at", "accepted_by", "return_reason", "reopen_reason", "accepted_content"],
    )
    _freeze_files(report, now)
    for entry in report.milestone_entries.select_related("milestone"):
        project_services.milestone_record_progress(
            milestone=entry.milestone, completed_on=entry.completed_on, forecast_date=entry.forecast_date
        )
    for item in report.indicator_values.select_related("indicator"):
        indicator_services.indicator_actual_record(
            indicator=item.indicator,
            year=report.year,
            quarter=report.quarter,
            value=item.value,
            text=item.text,
            source=f"季報 {report.period}",
            as_of=report.quarter_obj.end,
            recorded_by=actor,
        )
    _record(report, actor=actor, action=ReportAction.ACCEPT, from_status=from_status)
    # The accepted figures may clear or raise this sub-project's flags: scan it once this commits.
    outbox_enqueue("reviews.scan_lagging", node_ids=[report.node_id])
    report_step_notify_enqueue(report, step="accepted")
    webhook_event_enqueue(report_accepted=[report])
    return report


@transaction.atomic
def report_reopen(*, actor, report: QuarterlyReport, expected_version: int, reason: str) -> QuarterlyReport:
    """The secretariat sends an accepted report back to the lead for correction, saying why. What its
    acceptance applied stays in force (the milestones, the indicator actuals and, for the lag rules and
    the annual report, its figures, kept in ``accepted_content``) until the correction is accepted."""
    access.ensure(access.can_reopen_report(actor, report), access.NOT_SECRETARIAT_TO_REOPEN)
    _ensure_version(report, expected_version)
    if report.status != ReportStatus.ACCEPTED:
        raise InvalidTransition(_("Only an accepted report can be reopened."))
    reason = _required_reason(reason, _("Say why the report is reopened."))
    now = timezone.now()
    report.accepted_content = {field: _json_value(getattr(report, field)) for field in CONTENT_FIELDS}
    report.status = ReportStatus.RETURNED
    report.returned_at = now
    report.return_reason = reason
    report.reopened_at = now
    report.reopen_reason = reason
    report.endorsed_at, report.endorsed_by = None, None  # the correction is endorsed anew
    _conditional_save(
        report,
        expected_version=expected_version,
        fields=[
            "accepted_content",
            "status",
            "returned_at",
            "return_reason",
            "reopened_at",
            "reopen_reason",
            "endorsed_at",
            "endorsed_by",
        ],
    )
    _record(report, actor=actor, action=ReportAction.REOPEN, from_status=ReportStatus.ACCEPTED, reason=reason)
    report_step_notify_enqueue(report, step="reopened")
    webhook_event_enqueue(report_reopened=[report])
    return report
