"""A small world to attack: three agencies' sub-projects with reports, flags, milestones and indicators.

Agencies: A = 數位發展部, U = its sub-unit 數位發展部數位產業署, B = 經濟部 (the names the shared fixtures use).
Each of A, U and B leads one sub-project, which has a milestone, an indicator, a report in every status
(2024Q1 draft, Q2 submitted, Q3 returned, Q4 accepted, 2025Q1 endorsed: the plan asks for the ministry's
endorsement) and two flags (one open with a comment, one resolved with a reason). The last three quarters
are locked, each with an exception for one sub-project. Each draft and accepted report has an evidence file, and
each open flag's comment one. The plan's assessment of 2024 is open, not published, each sub-project's lead having
scored one criterion with a note. Every text that only its own agency and the secretariat may read carries a marker,
``secret_marker(owner, what)``, so a test can search any answer for it.

``build_world`` is plain code (no pytest), so the fuzzing command builds the same world as the tests; it builds
through the apps' factories (``tests/<app>/factories.py``).
"""

import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Role, User
from accounts.services import token_issue
from assessments import services as assessment_services
from assessments.models import Assessment, AssessmentScheme
from indicators.models import Indicator
from projects.models import Agency, BudgetYear, Milestone, Plan, PlanNode
from reviews.models import (
    CommentKind,
    EvidenceFile,
    FlagResolution,
    FlagStatus,
    LagFlag,
    LagRule,
    LockException,
    QuarterLock,
    QuarterlyReport,
    ReportStatus,
)
from reviews.periods import Quarter
from reviews.services.files import comment_file_add, report_file_add
from tests.accounts.factories import UserFactory, secretariat_user
from tests.indicators.factories import IndicatorFactory
from tests.projects.factories import AgencyFactory, MilestoneFactory, PlanFactory, SubprojectFactory, make_tree
from tests.reviews.evidence_samples import pdf
from tests.reviews.factories import (
    FlagCommentFactory,
    LagFlagFactory,
    LagSettingsFactory,
    lead_user_for,
    report_in_status,
)

OWNERS = ("A", "U", "B")
PRIVATE_STATUSES = (ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.ENDORSED, ReportStatus.RETURNED)
REPORT_PERIODS = {
    ReportStatus.DRAFT: Quarter(2024, 1),
    ReportStatus.SUBMITTED: Quarter(2024, 2),
    ReportStatus.RETURNED: Quarter(2024, 3),
    ReportStatus.ACCEPTED: Quarter(2024, 4),
    ReportStatus.ENDORSED: Quarter(2025, 1),
}
# Quarters the secretariat locked, one a column of the matrices (each may be unlocked once).
LOCKED_PERIODS = {"A": Quarter(2025, 2), "U": Quarter(2025, 3), "B": Quarter(2025, 4)}
# A draft's indicator value and milestone forecasts that no accepted figure shares: they must never appear
# outside the reports that hold them.
PRIVATE_VALUE = Decimal("987654.3210")
PRIVATE_FORECAST = {"A": datetime.date(2025, 2, 17), "U": datetime.date(2025, 2, 18), "B": datetime.date(2025, 2, 19)}


def secret_marker(owner: str, what: str) -> str:
    return f"SECRET-{owner}-{what}-7q"


@dataclass
class Actor:
    """A way in: a user (None for anonymous) and the headers or cookies that sign its requests in."""

    name: str
    user: User | None
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    plan: Plan
    group: PlanNode
    agencies: dict[str, Agency]
    nodes: dict[str, PlanNode]
    milestones: dict[str, Milestone]
    indicators: dict[str, Indicator]
    plan_indicator: Indicator
    group_indicator: Indicator
    reports: dict[tuple[str, str], QuarterlyReport]
    flags: dict[tuple[str, str], LagFlag]
    locks: dict[str, QuarterLock]
    lock_exceptions: dict[str, LockException]
    files: dict[tuple[str, str], EvidenceFile]  # (owner, "draft" | "accepted" | "comment")
    # Each sub-project's budget of 2025 (no report accepted: the secretariat may change it) and of 2024 (frozen)
    budgets: dict[tuple[str, int], BudgetYear] = field(default_factory=dict)
    # The plan's assessment of 2024, not published, and each sub-project's self-assessment in progress
    assessment_scheme: AssessmentScheme | None = None
    assessments: dict[str, Assessment] = field(default_factory=dict)

    def report(self, owner: str, status: str) -> QuarterlyReport:
        return self.reports[(owner, status)]


def build_world(*, agency: Agency | None = None, unit: Agency | None = None, other_agency: Agency | None = None):
    agency = agency or AgencyFactory(name="數位發展部", short_name="數位部")
    unit = unit or AgencyFactory(name="數位發展部數位產業署", parent=agency)
    other_agency = other_agency or AgencyFactory(name="經濟部")
    agencies = {"A": agency, "U": unit, "B": other_agency}

    plan = PlanFactory(code="smart-nation")
    LagSettingsFactory(plan=plan, endorsement_required=True)
    group, _strategy, measure, (led_by_a,) = make_tree(plan, lead_agency=agency)
    nodes = {"A": led_by_a}
    for owner, title in (("U", "數位產業署的子計畫"), ("B", "經濟部的子計畫")):
        nodes[owner] = SubprojectFactory(
            parent=measure,
            title=title,
            start_date=led_by_a.start_date,
            end_date=led_by_a.end_date,
            budget=Decimal("1000000"),
            lead_agency=agencies[owner],
        )

    plan_indicator = IndicatorFactory(
        plan=plan, key="overall/1", name="數位政府服務滿意度", unit="%", targets=[(2025, 0, "90")]
    )
    group_indicator = IndicatorFactory(plan=plan, node=group, key="group/1", name="資料開放集數", unit="集")
    milestones, indicators = {}, {}
    for owner, node in nodes.items():
        milestones[owner] = MilestoneFactory(
            node=node, title=f"{owner} 系統上線", planned_date=datetime.date(2024, 9, 30)
        )
        indicators[owner] = IndicatorFactory(
            node=node, key=f"sub/{owner}", name=f"{owner} 服務使用人次", unit="人次", targets=[(2025, 0, "1000")]
        )

    reports = {}
    for owner, node in nodes.items():
        for status, period in REPORT_PERIODS.items():
            content = _report_content(owner, status, milestones[owner], indicators[owner])
            reports[(owner, status)] = report_in_status(node=node, status=status, period=period, **content)

    flags = {}
    secretariat = secretariat_user()
    for owner, node in nodes.items():
        lead = lead_user_for(node)
        opened = datetime.datetime(2024, 5, 1, 1, tzinfo=datetime.UTC)
        flags[(owner, "open")] = LagFlagFactory(
            node=node,
            rule=LagRule.PROGRESS_GAP,
            severity="yellow",
            period=Quarter(2024, 1),
            opened_at=opened,
            evidence={"rule": LagRule.PROGRESS_GAP, "period": "2024Q1", "gap": "-6"},
        )
        FlagCommentFactory(
            flag=flags[(owner, "open")],
            author=lead,
            kind=CommentKind.IMPROVEMENT_PLAN,
            body=secret_marker(owner, "flag-comment"),
        )
        flags[(owner, "resolved")] = LagFlagFactory(
            node=node,
            rule=LagRule.BUDGET_EXECUTION,
            severity="red",
            status=FlagStatus.RESOLVED,
            period=Quarter(2024, 2),
            opened_at=opened,
            resolved_at=opened + datetime.timedelta(days=3),
            resolved_by=secretariat,
            resolution=FlagResolution.OVERRIDDEN,
            resolution_reason=secret_marker(owner, "flag-resolution"),
            evidence={"rule": LagRule.BUDGET_EXECUTION, "period": "2024Q2", "execution_rate": "70"},
        )
    files = {}
    for owner, node in nodes.items():
        lead = lead_user_for(node)
        draft = reports[(owner, ReportStatus.DRAFT)]
        upload = SimpleUploadedFile(f"{owner} 查核點佐證.pdf", pdf(f"{owner} draft"), content_type="application/pdf")
        files[(owner, "draft")] = report_file_add(actor=lead, report=draft, upload=upload)
        reports[(owner, ReportStatus.DRAFT)] = QuarterlyReport.objects.get(pk=draft.pk)  # a file bumps its version
        files[(owner, "accepted")] = _frozen_file(reports[(owner, ReportStatus.ACCEPTED)], lead, owner)
        comment = flags[(owner, "open")].comments.get()
        upload = SimpleUploadedFile(f"{owner} 改善計畫.pdf", pdf(f"{owner} plan"), content_type="application/pdf")
        files[(owner, "comment")] = comment_file_add(actor=lead, comment=comment, upload=upload)

    locks, lock_exceptions = {}, {}
    for owner, period in LOCKED_PERIODS.items():
        locks[owner] = QuarterLock.objects.create(
            plan=plan, year=period.year, quarter=period.quarter, reason=f"{owner} 年度結算", locked_by=secretariat
        )
        lock_exceptions[owner] = LockException.objects.create(
            lock=locks[owner], node=nodes[owner], expires_on=datetime.date(2099, 12, 31), granted_by=secretariat
        )
    assessment_scheme = assessment_services.scheme_open(actor=secretariat, plan=plan, year=2024)
    assessments = {}
    for owner, node in nodes.items():
        assessment = assessment_scheme.assessments.get(node=node)
        entry = {"criterion": "progress", "score": "77.77", "note": secret_marker(owner, "assessment-note")}
        assessment_services.assessment_score(
            actor=lead_user_for(node), assessment=assessment, expected_version=None, entries=[entry]
        )
        assessments[owner] = Assessment.objects.get(pk=assessment.pk)
    return World(
        plan=plan,
        group=group,
        agencies=agencies,
        nodes=nodes,
        milestones=milestones,
        indicators=indicators,
        plan_indicator=plan_indicator,
        group_indicator=group_indicator,
        reports=reports,
        flags=flags,
        locks=locks,
        lock_exceptions=lock_exceptions,
        files=files,
        # made with the reports, which say what they allocate to date
        budgets={
            (owner, ledger.year): ledger for owner in OWNERS for ledger in BudgetYear.objects.filter(node=nodes[owner])
        },
        assessment_scheme=assessment_scheme,
        assessments=assessments,
    )


def _frozen_file(report: QuarterlyReport, lead, owner: str) -> EvidenceFile:
    """A file an accepted report had when it was endorsed (written directly: files are added to drafts only)."""
    content = pdf(f"{owner} accepted")
    evidence = EvidenceFile(
        report=report,
        name=f"{owner} 驗收紀錄.pdf",
        size=len(content),
        content_type="application/pdf",
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=lead,
        frozen_at=report.endorsed_at or report.accepted_at,
    )
    evidence.content.save("accepted.pdf", ContentFile(content), save=False)
    evidence.save()
    return evidence


def _report_content(owner, status, milestone, indicator) -> dict:
    """What ``owner``'s report in ``status`` says, for ``report_in_status``."""
    if status == ReportStatus.ACCEPTED:
        # Accepted reports are public: plain words, and a figure that becomes the indicator's actual.
        return {
            "achievements": f"{owner} 已驗收的成果",
            "indicator_values": [{"indicator": indicator, "value": Decimal("100"), "text": ""}],
        }
    mark = f"{status}-"
    return {
        "return_reason": secret_marker(owner, f"{mark}return-reason"),
        "achievements": secret_marker(owner, f"{mark}achievements"),
        "delay_reasons": secret_marker(owner, f"{mark}delay-reasons"),
        "countermeasures": secret_marker(owner, f"{mark}countermeasures"),
        "progress_explanation": secret_marker(owner, f"{mark}progress-explanation"),
        "milestone_entries": [
            {
                "milestone": milestone,
                "completed_on": None,
                "forecast_date": PRIVATE_FORECAST[owner],
                "note": secret_marker(owner, f"{mark}milestone-note"),
            }
        ],
        "indicator_values": [
            {"indicator": indicator, "value": PRIVATE_VALUE, "text": secret_marker(owner, f"{mark}indicator-text")}
        ],
    }


def private_markers(owner: str) -> set[str]:
    """Every marker of ``owner``'s private texts (reports not yet accepted, flag threads and reasons), and
    the forecast date its unaccepted reports give."""
    markers = {secret_marker(owner, "flag-comment"), secret_marker(owner, "flag-resolution")}
    markers.add(PRIVATE_FORECAST[owner].isoformat())
    for status in PRIVATE_STATUSES:
        for what in (
            "achievements",
            "delay-reasons",
            "countermeasures",
            "progress-explanation",
            "milestone-note",
            "indicator-text",
        ):
            markers.add(secret_marker(owner, f"{status}-{what}"))
    markers.add(secret_marker(owner, f"{ReportStatus.RETURNED}-return-reason"))
    return markers


def assessment_markers(owner: str) -> set[str]:
    """The marker of ``owner``'s self-assessment note: its chain's to read, before publication and after."""
    return {secret_marker(owner, "assessment-note")}


# --------------------------------------------------------------------------- the people who ask

# actor -> (username, role, agency). The usernames are those of the shared fixtures in tests/conftest.py.
ACCOUNTS = {
    "secretariat": ("secretariat", Role.SECRETARIAT, None),
    "lead": ("lead", Role.LEAD, "A"),
    "unit_lead": ("unit-lead", Role.LEAD, "U"),
    "other_lead": ("other-lead", Role.LEAD, "B"),
    "reviewer": ("reviewer", Role.REVIEWER, "A"),
    "other_reviewer": ("other-reviewer", Role.REVIEWER, "B"),
    "reader": ("reader", Role.READER, None),
    "service": ("portal", Role.READER, None),
}


def make_actor(name: str, world: World, *, session: bool = False) -> Actor:
    """The actor ``name`` (a key of ``ACCOUNTS``, or ``anonymous``): an API key, or a browser session."""
    if name == "anonymous":
        return Actor(name, None)
    username, role, agency_key = ACCOUNTS[name]
    user = UserFactory(username=username, role=role, agency=world.agencies[agency_key] if agency_key else None)
    if session:
        client = Client()
        client.force_login(user)
        return Actor(
            name, user, cookies={settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        )
    key = token_issue(user=user, name="開放資料平臺" if name == "service" else "")
    return Actor(name, user, headers={"Authorization": f"Token {key}"})
