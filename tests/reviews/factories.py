"""Quarterly reports in any status, and lag flags with their threads, for tests.

Reports, three ways in:

* ``report_in_status(node=..., status=...)`` drives the report through ``reviews.services`` (create, submit,
  return, accept), so its fields, version and audit trail are what the application itself would have written.
  Prefer it.
* ``QuarterlyReportFactory`` writes the row directly (no ``ReportEvent``), with the fields each status needs kept
  consistent (``due_on``, ``first_submitted_at``, ``accepted_at``/``accepted_by``...). Use it when the test is about
  data the services cannot produce (an old quarter accepted long ago, many rows at once).
* ``file_report_through_api(lead_client, node, status=...)`` files it over the API, as a lead and the secretariat
  would, for tests about the requests themselves (the broker faults time each step).

Flags: ``LagFlagFactory`` writes a flag row as a scan would have left it (``period``, ``rule``, ``severity``,
``status``; a resolved flag gets a resolution time), ``FlagCommentFactory`` a comment in its thread.
``LagSettingsFactory`` gives a plan its thresholds (the programme's defaults unless told), and
``WebhookSubscriptionFactory`` subscribes another system to events.
"""

import datetime
import time
from dataclasses import dataclass, field
from decimal import Decimal

import factory
from django.utils import timezone

from projects.access import reviewing_ministries
from projects.models import AgencyRole, BudgetYear, ControlLevel, NodeAgency
from reviews import services
from reviews.models import (
    CommentKind,
    FlagComment,
    FlagResolution,
    FlagStatus,
    LagFlag,
    LagRule,
    LagSettings,
    QuarterlyReport,
    ReportKind,
    ReportStatus,
    Rhythm,
    Severity,
    WebhookEvent,
    WebhookSubscription,
)
from reviews.periods import Month, Quarter, parse_period
from reviews.selectors import node_settings
from tests.accounts.factories import lead_user, reviewer_user, secretariat_user
from tests.projects.factories import AgencyFactory, MilestoneFactory, PlanFactory, allocate, make_tree

DEFAULT_PERIOD = Quarter(2024, 1)
# Reports come in two kinds: the quarterly report, and the monthly update of a sub-project whose control
# level reports monthly. Tests of what both share run over both (the ``report_kind`` fixture).
REPORT_KINDS = (ReportKind.QUARTERLY, ReportKind.MONTHLY)
DEFAULT_MONTH = Month(2024, 2)  # a month of DEFAULT_PERIOD with an update of its own


def of_kind(node, kind):
    """``node`` made to report as ``kind`` asks: monthly at the Executive Yuan's level (院列管); else as stored
    (a node shared by a module's tests may still hold the level a rolled-back test gave it)."""
    if kind == ReportKind.MONTHLY:
        node.control_level = ControlLevel.EXECUTIVE_YUAN
        node.save(update_fields=["control_level"])
    else:
        node.refresh_from_db(fields=["control_level"])
    return node


def reports_monthly(node) -> bool:
    return node_settings(node).rhythm == Rhythm.MONTHLY


# Enough to pass the checks on submission: every required figure, actual ahead of plan (so no delay reasons
# are needed) and no earlier accepted quarter to fall behind. ``budget_allocated`` is not the report's: the
# helpers below write it into the sub-project's budget ledger (``allocate``).
COMPLETE_CONTENT = {
    "planned_progress": Decimal("40.00"),
    "actual_progress": Decimal("45.00"),
    "budget_allocated": Decimal("500000"),
    "budget_spent": Decimal("200000"),
    "achievements": "完成資料盤點",
}


def lead_user_for(node):
    """A lead user of the (first) lead agency of ``node``, created on first use."""
    link = NodeAgency.objects.filter(node=node, role=AgencyRole.LEAD).select_related("agency").order_by("pk").first()
    if link is None:
        raise ValueError(f"{node} has no lead agency to file its reports")
    return lead_user(link.agency)


def ministry_reviewer_for(node):
    """A reviewer of the ministry above the (first) lead agency of ``node``, created on first use."""
    ministry = reviewing_ministries(node).order_by("pk").first()
    if ministry is None:
        raise ValueError(f"{node} has no lead agency whose ministry could endorse its reports")
    return reviewer_user(ministry)


def report_in_status(
    *,
    node,
    status=ReportStatus.DRAFT,
    period: Quarter | Month | None = None,
    author=None,
    reviewer=None,
    endorser=None,
    return_reason="請補充預算執行說明",
    **content,
) -> QuarterlyReport:
    """File a report for ``node`` through the services and move it to ``status``.

    draft: created; submitted: created, submitted; endorsed: ... endorsed by the ministry's reviewer
    (``endorser``); returned: ... returned by the secretariat (``reviewer``); accepted: ... accepted, having
    been endorsed first when the plan asks for it. ``content`` overrides ``COMPLETE_CONTENT``; its
    ``budget_allocated`` (None: leave the ledger alone) goes to the sub-project's ledger of the year. Returns the
    report fresh from the database.
    """
    if period is None:
        period = DEFAULT_MONTH if reports_monthly(node) else DEFAULT_PERIOD
    author = author or lead_user_for(node)
    reviewer = reviewer or secretariat_user()
    endorsed_first = status == ReportStatus.ENDORSED or (
        status in (ReportStatus.RETURNED, ReportStatus.ACCEPTED) and LagSettings.endorsement_required_for(node.plan_id)
    )
    content = {**COMPLETE_CONTENT, **content}
    allocated = content.pop("budget_allocated")
    if allocated is not None:
        quarter = period.quarter if isinstance(period, Month) else period
        allocate(node, period.year, quarter.quarter, allocated)
    report = services.report_create(actor=author, node=node, period=period, data=content)
    if status != ReportStatus.DRAFT:
        report = services.report_submit(actor=author, report=report, expected_version=report.version)
    if endorsed_first:
        report = services.report_endorse(
            actor=endorser or ministry_reviewer_for(node), report=report, expected_version=report.version
        )
    if status == ReportStatus.RETURNED:
        report = services.report_return(
            actor=reviewer, report=report, expected_version=report.version, reason=return_reason
        )
    elif status == ReportStatus.ACCEPTED:
        report = services.report_accept(actor=reviewer, report=report, expected_version=report.version)
    elif status not in (ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.ENDORSED):
        raise ValueError(f"unknown status {status!r}")
    return QuarterlyReport.objects.get(pk=report.pk)


class AllocatedToDate(factory.declarations.PostGenerationDeclaration):
    """``budget_allocated=`` on a report factory: what the sub-project's ledger of the year allocates up to the
    report's quarter, written there once the report is (``allocate``); ``default`` unless given."""

    def __init__(self, default):
        super().__init__()
        self.default = default

    def call(self, instance, step, context):
        allocated = context.value if context.value_provided else self.default
        if allocated is not None and step.builder.strategy == factory.enums.CREATE_STRATEGY:
            allocate(instance.node, instance.year, instance.quarter, allocated)


class QuarterlyReportFactory(factory.django.DjangoModelFactory):
    """A report row written directly, without audit events. ``QuarterlyReportFactory(accepted=True)`` etc."""

    class Meta:
        model = QuarterlyReport
        skip_postgeneration_save = True

    class Params:
        period = DEFAULT_PERIOD
        submitted = factory.Trait(
            status=ReportStatus.SUBMITTED,
            version=2,
            first_submitted_at=factory.LazyAttribute(lambda o: o.submitted_at),
            submitted_at=factory.LazyAttribute(
                lambda o: timezone.make_aware(datetime.datetime.combine(o.due_on, datetime.time(9)))
            ),
            submitted_on_time=True,
        )
        returned = factory.Trait(
            submitted=True,
            status=ReportStatus.RETURNED,
            version=3,
            returned_at=factory.LazyAttribute(lambda o: o.submitted_at + datetime.timedelta(days=3)),
            return_reason="請補充預算執行說明",
        )
        accepted = factory.Trait(
            submitted=True,
            status=ReportStatus.ACCEPTED,
            version=3,
            accepted_at=factory.LazyAttribute(lambda o: o.submitted_at + datetime.timedelta(days=5)),
            accepted_by=factory.LazyFunction(secretariat_user),
        )

    # A sub-project needs its tree and a lead agency; pass ``node=`` to file for a sub-project of your own.
    node = factory.LazyFunction(lambda: make_tree(lead_agency=AgencyFactory())[3][0])
    # ``period`` a Month: the month's monthly update.
    year = factory.LazyAttribute(lambda o: o.period.year)
    quarter = factory.LazyAttribute(
        lambda o: o.period.quarter.quarter if isinstance(o.period, Month) else o.period.quarter
    )
    month = factory.LazyAttribute(lambda o: o.period.month if isinstance(o.period, Month) else None)
    status = ReportStatus.DRAFT
    version = 1
    due_on = factory.LazyAttribute(lambda o: o.period.due_date(o.node.plan.report_due_days))
    created_by = factory.LazyAttribute(lambda o: lead_user_for(o.node))
    planned_progress = COMPLETE_CONTENT["planned_progress"]
    actual_progress = COMPLETE_CONTENT["actual_progress"]
    budget_spent = COMPLETE_CONTENT["budget_spent"]
    achievements = COMPLETE_CONTENT["achievements"]

    # Written into the sub-project's budget ledger of the year (``allocate``); None leaves the ledger alone.
    budget_allocated = AllocatedToDate(COMPLETE_CONTENT["budget_allocated"])


# --------------------------------------------------------------------------- reports through the API

API_REPORTS = "/api/v1/reports/"
# A report body the API accepts for a sub-project running in 2024Q3: on plan, within budget (the allocation
# to date comes from the sub-project's ledger, which ``file_report_through_api`` sets to API_ALLOCATED).
API_REPORT_CONTENT = {
    "period": "2024Q3",
    "planned_progress": "60",
    "actual_progress": "60",
    "budget_spent": "4600000",
    "achievements": "完成平臺上線。",
}
API_ALLOCATED = Decimal("5000000")
API_MONTH = "2024-08"


def report_body(node, **fields) -> dict:
    """The body that files a report for ``node``: ``API_REPORT_CONTENT`` changed by ``fields`` (None is sent as
    null); for a sub-project that reports monthly, the update of a month of its quarter (``API_MONTH``)."""
    monthly = {"period": API_MONTH} if reports_monthly(node) else {}
    return {"project": node.pk, **API_REPORT_CONTENT, **monthly, **fields}


@dataclass
class ApiStep:
    action: str  # create, submit, return or accept
    response: object
    seconds: float


@dataclass
class FiledReport:
    """What ``file_report_through_api`` did: each request, its answer and how long it took."""

    steps: list[ApiStep] = field(default_factory=list)

    @property
    def response(self):
        """The last answer: the report as it now is, with its ETag."""
        return self.steps[-1].response

    @property
    def id(self) -> int:
        return self.steps[0].response.json()["id"]

    @property
    def timings(self) -> list[tuple[str, int, float]]:
        """``[(action, status code, seconds)]``, one per request."""
        return [(step.action, step.response.status_code, step.seconds) for step in self.steps]


def file_report_through_api(
    lead_client,
    node,
    *,
    status=ReportStatus.DRAFT,
    secretariat_client=None,
    return_reason="請補充預算執行說明",
    **fields,
) -> FiledReport:
    """The lead POSTs a report for ``node`` (``report_body(node, **fields)``) and, as ``status`` asks, submits it,
    and the secretariat returns or accepts it. Every request must succeed (201, then 200). A sub-project without
    a ledger for the year first gets one allocating API_ALLOCATED up to the quarter."""
    filed = FiledReport()
    period = parse_period(report_body(node, **fields)["period"])
    quarter = period.quarter if isinstance(period, Month) else period
    if not BudgetYear.objects.filter(node=node, year=period.year).exists():
        allocate(node, period.year, quarter.quarter, API_ALLOCATED)

    def step(action, call, expected=200):
        started = time.perf_counter()
        response = call()
        filed.steps.append(ApiStep(action, response, time.perf_counter() - started))
        assert response.status_code == expected, response.content
        return response

    created = step("create", lambda: lead_client.post(API_REPORTS, report_body(node, **fields), format="json"), 201)
    actions = {
        ReportStatus.DRAFT: [],
        ReportStatus.SUBMITTED: [("submit", lead_client, {})],
        ReportStatus.RETURNED: [("submit", lead_client, {}), ("return", secretariat_client, {"reason": return_reason})],
        ReportStatus.ACCEPTED: [("submit", lead_client, {}), ("accept", secretariat_client, {})],
    }
    if status not in actions:
        raise ValueError(f"unknown status {status!r}")
    url = f"{API_REPORTS}{created.json()['id']}/"
    for action, client, body in actions[status]:
        if client is None:
            raise ValueError(f"a report to {action} needs the secretariat_client")
        etag = filed.response["ETag"]
        step(
            action,
            lambda client=client, action=action, body=body, etag=etag: client.post(
                f"{url}{action}/", body, format="json", HTTP_IF_MATCH=etag
            ),
        )
    assert filed.response.json()["status"] == status, filed.response.content
    return filed


# --------------------------------------------------------------------------- lag flags and their threads


class LagFlagFactory(factory.django.DjangoModelFactory):
    """A flag row as an earlier scan would have left it. ``period`` (a ``Quarter``) sets year and quarter; a
    resolved flag is resolved a day after it opened, the condition cleared, unless told otherwise."""

    class Meta:
        model = LagFlag

    class Params:
        period = DEFAULT_PERIOD

    node = factory.LazyFunction(lambda: make_tree(lead_agency=AgencyFactory())[3][0])
    rule = LagRule.PROGRESS_GAP
    year = factory.LazyAttribute(lambda o: o.period.year)
    quarter = factory.LazyAttribute(lambda o: o.period.quarter)
    severity = Severity.YELLOW
    status = FlagStatus.OPEN
    opened_at = factory.LazyFunction(timezone.now)
    evidence = factory.LazyAttribute(lambda o: {"rule": o.rule, "period": str(o.period), "gap": "-6"})
    resolved_at = factory.LazyAttribute(
        lambda o: o.opened_at + datetime.timedelta(days=1) if o.status == FlagStatus.RESOLVED else None
    )
    resolution = factory.LazyAttribute(lambda o: FlagResolution.CLEARED if o.status == FlagStatus.RESOLVED else "")


class FlagCommentFactory(factory.django.DjangoModelFactory):
    """A comment in a flag's thread, by the secretariat unless ``author`` is given."""

    class Meta:
        model = FlagComment

    flag = factory.SubFactory(LagFlagFactory)
    author = factory.LazyFunction(secretariat_user)
    kind = CommentKind.COMMENT
    body = factory.Sequence(lambda n: f"意見 {n}")


class LagSettingsFactory(factory.django.DjangoModelFactory):
    """A plan's lag thresholds: the model's defaults (the programme's) unless given."""

    class Meta:
        model = LagSettings

    plan = factory.SubFactory(PlanFactory)


# --------------------------------------------------------------------------- webhooks


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    name = "portal"
    url = "https://example.org/hook"
    secret = "whsec-portal"
    events = factory.LazyFunction(lambda: [WebhookEvent.REPORT_ACCEPTED])


# --------------------------------------------------------------------------- a scripted history


def moment() -> str:
    """Now, as an ISO 8601 time for ``?as_of=``."""
    return timezone.now().isoformat()


def scripted_history(agency):
    """A sub-project's quarter as it happened (filed, accepted, flagged by a scan, its end date moved, the
    flag resolved): ``(sub-project, milestone, report, flag, {step: the moment after it})``."""
    _, _, _, (sub,) = make_tree(lead_agency=agency)
    sub.start_date = datetime.date(2024, 1, 1)
    sub.save()
    milestone = MilestoneFactory(node=sub, planned_date=datetime.date(2025, 3, 31))
    moments = {"planned": moment()}
    report = report_in_status(
        node=sub,
        status=ReportStatus.SUBMITTED,
        period=Quarter(2024, 1),
        planned_progress=Decimal("60.00"),
        actual_progress=Decimal("20.00"),
        budget_spent=Decimal("450000"),
        delay_reasons="採購流標",
    )
    moments["filed"] = moment()
    services.report_accept(actor=secretariat_user(), report=report, expected_version=report.version)
    moments["accepted"] = moment()
    services.lag_scan(as_of=datetime.date(2024, 5, 20))
    assert list(LagFlag.objects.filter(node=sub).values_list("rule", flat=True)) == ["progress_gap"]
    flag = LagFlag.objects.get(node=sub, rule="progress_gap")
    moments["flagged"] = moment()
    sub.end_date = datetime.date(2026, 6, 30)
    sub.save()
    moments["revised"] = moment()
    services.lag_flag_resolve(flag=flag, actor=secretariat_user(), reason="已提出改善措施")
    moments["resolved"] = moment()
    return sub, milestone, QuarterlyReport.objects.get(pk=report.pk), flag, moments
