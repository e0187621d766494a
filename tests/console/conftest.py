"""A small programme for the pages: one plan, two lead agencies (one with a sub-unit), a sub-project each and
one more for the sub-unit, and a signed-in browser session per role, the ministry reviewer of 數位發展部
included; ``endorsing`` makes the plan's reports go through the ministry first (初核)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Role
from reviews import services
from reviews.models import FlagStatus, LagRule, ReportStatus, Severity
from reviews.periods import Quarter
from tests.accounts.factories import UserFactory, lead_user, reader_user, secretariat_user
from tests.projects.factories import AgencyFactory, MilestoneFactory, PlanFactory, SubprojectFactory, make_tree
from tests.reviews.factories import DEFAULT_PERIOD, LagFlagFactory, LagSettingsFactory, report_in_status

T0 = datetime.datetime(2025, 2, 1, 9, 0, tzinfo=datetime.UTC)


@dataclass
class World:
    plan: object
    group: object
    measure: object
    agency: object  # 數位發展部, with a sub-unit
    sub_unit: object
    other_agency: object  # 經濟部
    subproject: object  # led by 數位發展部
    unit_subproject: object  # led by its sub-unit
    other_subproject: object  # led by 經濟部
    secretariat: object
    lead: object
    other_lead: object
    reader: object


def subproject(world_or_measure, title, agency, **fields):
    """A sub-project of the world's measure led by ``agency``, running 2024-2025 with a budget of 40 million."""
    measure = getattr(world_or_measure, "measure", world_or_measure)
    fields.setdefault("start_date", datetime.date(2024, 1, 1))
    fields.setdefault("end_date", datetime.date(2025, 12, 31))
    fields.setdefault("budget", Decimal("40000000"))
    return SubprojectFactory(parent=measure, title=title, lead_agency=agency, **fields)


def make_flag(node, *, rule=LagRule.PROGRESS_GAP, severity=Severity.YELLOW, status=FlagStatus.OPEN, **extra):
    """A 2024Q4 flag opened at ``T0``; a resolved one was cleared three days later."""
    extra.setdefault("opened_at", T0)
    extra.setdefault("year", 2024)
    extra.setdefault("quarter", 4)
    if status == FlagStatus.RESOLVED:
        extra.setdefault("resolved_at", T0 + datetime.timedelta(days=3))
        extra.setdefault("resolution", "cleared")
    extra.setdefault("evidence", {"rule": rule, "period": "2024Q4", "gap": "-6.5", "yellow_at_or_below": "-5"})
    return LagFlagFactory(node=node, rule=rule, severity=severity, status=status, **extra)


@pytest.fixture
def world(db):
    plan = PlanFactory(code="smart-nation", name="智慧國家方案")
    agency = AgencyFactory(name="數位發展部", short_name="數位部")
    sub_unit = AgencyFactory(name="數位發展部數位產業署", parent=agency)
    other_agency = AgencyFactory(name="經濟部")
    group, _strategy, measure, (first,) = make_tree(plan, lead_agency=agency)
    first.title = "政府資料開放，民間活化應用發展服務"
    first.start_date, first.end_date = datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)
    first.save()
    for title, planned in (
        ("需求訪談與規劃完成", datetime.date(2024, 6, 30)),
        ("系統建置完成", datetime.date(2025, 6, 30)),
    ):
        MilestoneFactory(node=first, title=title, planned_date=planned, completed_on=planned)
    return World(
        plan=plan,
        group=group,
        measure=measure,
        agency=agency,
        sub_unit=sub_unit,
        other_agency=other_agency,
        subproject=first,
        unit_subproject=subproject(measure, "數位產業署子計畫", sub_unit),
        other_subproject=subproject(measure, "經濟部子計畫", other_agency),
        secretariat=secretariat_user("console-secretariat"),
        lead=lead_user(agency, "console-lead"),
        other_lead=lead_user(other_agency, "console-other-lead"),
        reader=reader_user("console-reader"),
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def secretariat(world):
    return signed_in(world.secretariat)


@pytest.fixture
def lead(world):
    return signed_in(world.lead)


@pytest.fixture
def other_lead(world):
    return signed_in(world.other_lead)


@pytest.fixture
def reader(world):
    return signed_in(world.reader)


@pytest.fixture
def reviewer_user(world):
    """The ministry reviewer (部會管考窗口) of 數位發展部: it endorses the reports of the ministry's and its
    sub-unit's sub-projects, not 經濟部's."""
    return UserFactory(username="console-reviewer", role=Role.REVIEWER, agency=world.agency)


@pytest.fixture
def reviewer(reviewer_user):
    return signed_in(reviewer_user)


@pytest.fixture
def endorsing(world):
    """The plan asks for the ministry's endorsement before the secretariat's review."""
    return LagSettingsFactory(plan=world.plan, endorsement_required=True)


def report_endorsed(*, node, reviewer, period: Quarter = DEFAULT_PERIOD, **content):
    """A report of ``node`` submitted and endorsed by ``reviewer`` (the plan must ask for endorsement)."""
    report = report_in_status(node=node, status=ReportStatus.SUBMITTED, period=period, **content)
    return services.report_endorse(actor=reviewer, report=report, expected_version=report.version)


def report_reopened(*, node, reason="預算執行數有誤，請更正", period: Quarter = DEFAULT_PERIOD, **content):
    """An accepted report of ``node`` reopened by the secretariat for correction."""
    report = report_in_status(node=node, status=ReportStatus.ACCEPTED, period=period, **content)
    return services.report_reopen(
        actor=secretariat_user(), report=report, expected_version=report.version, reason=reason
    )


def small_pdf(text: str = "GSTP") -> bytes:
    """A small, real one-page PDF (a header, four objects, a cross-reference table and a trailer)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def upload(name: str = "佐證資料.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    """A file as a browser uploads it: a small real PDF unless ``content`` is given."""
    return SimpleUploadedFile(name, small_pdf() if content is None else content, content_type="application/pdf")


@pytest.fixture
def evidence_storage(settings, tmp_path):
    """Uploaded files go to a directory of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path
