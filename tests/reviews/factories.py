"""Quarterly reports in any status, for tests.

Two ways in:

* ``report_in_status(node=..., status=...)`` drives the report through ``reviews.services`` (create, submit,
  return, accept), so its fields, version and audit trail are what the application itself would have written.
  Prefer it.
* ``QuarterlyReportFactory`` writes the row directly (no ``ReportEvent``), with the fields each status needs kept
  consistent (``due_on``, ``first_submitted_at``, ``accepted_at``/``accepted_by``...). Use it when the test is about
  data the services cannot produce (an old quarter accepted long ago, many rows at once).
"""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role
from projects.models import AgencyRole, NodeAgency
from reviews import services
from reviews.models import QuarterlyReport, ReportStatus
from reviews.periods import Quarter
from tests.factories import AgencyFactory, UserFactory, make_tree

DEFAULT_PERIOD = Quarter(2024, 1)

# Enough to pass the checks on submission: every required figure, actual ahead of plan (so no delay reasons
# are needed) and no earlier accepted quarter to fall behind.
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
    return UserFactory(username=f"factory-lead-{link.agency_id}", role=Role.LEAD, agency=link.agency)


def secretariat_user():
    return UserFactory(username="factory-secretariat", role=Role.SECRETARIAT)


def report_in_status(
    *,
    node,
    status=ReportStatus.DRAFT,
    period: Quarter = DEFAULT_PERIOD,
    author=None,
    reviewer=None,
    return_reason="請補充預算執行說明",
    **content,
) -> QuarterlyReport:
    """File a report for ``node`` through the services and move it to ``status``.

    draft: created; submitted: created, submitted; returned: ... returned; accepted: ... accepted.
    ``content`` overrides ``COMPLETE_CONTENT``. Returns the report fresh from the database.
    """
    author = author or lead_user_for(node)
    reviewer = reviewer or secretariat_user()
    report = services.report_create(actor=author, node=node, period=period, data={**COMPLETE_CONTENT, **content})
    if status != ReportStatus.DRAFT:
        report = services.report_submit(actor=author, report=report, expected_version=report.version)
    if status == ReportStatus.RETURNED:
        report = services.report_return(
            actor=reviewer, report=report, expected_version=report.version, reason=return_reason
        )
    elif status == ReportStatus.ACCEPTED:
        report = services.report_accept(actor=reviewer, report=report, expected_version=report.version)
    elif status not in (ReportStatus.DRAFT, ReportStatus.SUBMITTED):
        raise ValueError(f"unknown status {status!r}")
    return QuarterlyReport.objects.get(pk=report.pk)


class QuarterlyReportFactory(factory.django.DjangoModelFactory):
    """A report row written directly, without audit events. ``QuarterlyReportFactory(accepted=True)`` etc."""

    class Meta:
        model = QuarterlyReport

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
    year = factory.LazyAttribute(lambda o: o.period.year)
    quarter = factory.LazyAttribute(lambda o: o.period.quarter)
    status = ReportStatus.DRAFT
    version = 1
    due_on = factory.LazyAttribute(lambda o: o.period.due_date(o.node.plan.report_due_days))
    created_by = factory.LazyAttribute(lambda o: lead_user_for(o.node))
    planned_progress = COMPLETE_CONTENT["planned_progress"]
    actual_progress = COMPLETE_CONTENT["actual_progress"]
    budget_allocated = COMPLETE_CONTENT["budget_allocated"]
    budget_spent = COMPLETE_CONTENT["budget_spent"]
    achievements = COMPLETE_CONTENT["achievements"]
