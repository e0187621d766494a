"""Who may do what with a quarterly report. Visibility is decided in ``selectors``; these predicates decide writes."""

from accounts.models import Role
from projects.models import AgencyRole, NodeAgency

from .models import EDITABLE_STATUSES, QuarterlyReport


def leads_subproject(user, node) -> bool:
    """The user's agency, or one of its sub-units, is a lead agency of the sub-project."""
    if not (user.is_authenticated and user.role == Role.LEAD and user.agency_id):
        return False
    return NodeAgency.objects.filter(
        node=node, role=AgencyRole.LEAD, agency__path__startswith=user.agency.path
    ).exists()


def can_file_report(user, node) -> bool:
    return leads_subproject(user, node)


def can_edit_report(user, report: QuarterlyReport) -> bool:
    return leads_subproject(user, report.node)


def can_submit_report(user, report: QuarterlyReport) -> bool:
    return leads_subproject(user, report.node)


def can_review_report(user, report: QuarterlyReport) -> bool:
    return user.is_authenticated and user.role == Role.SECRETARIAT


def is_editable(report: QuarterlyReport) -> bool:
    return report.status in EDITABLE_STATUSES
