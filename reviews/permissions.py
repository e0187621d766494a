"""Who may do what with a quarterly report. Visibility is decided in ``selectors``; these predicates decide writes."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

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


# What a refused actor is told; the same words from the API's early check and from the service.
NOT_LEAD_TO_FILE = _("Only a lead of this sub-project's agency can file its reports.")
NOT_LEAD_TO_EDIT = _("Only a lead of this sub-project's agency can edit its reports.")
NOT_LEAD_TO_SUBMIT = _("Only a lead of this sub-project's agency can submit its reports.")
NOT_SECRETARIAT_TO_RETURN = _("Only the Executive Secretariat can return a report.")
NOT_SECRETARIAT_TO_ACCEPT = _("Only the Executive Secretariat can accept a report.")
NOT_SECRETARIAT_TO_RESOLVE = _("Only the Executive Secretariat resolves flags.")
NOT_ALLOWED_TO_COMMENT = _("Only the Executive Secretariat and the sub-project's leads comment on its flags.")


def ensure(allowed: bool, message) -> None:
    """Refuse with 403 and ``message`` unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(message)


def can_comment_on_flag(user, flag) -> bool:
    return user.is_authenticated and (user.role == Role.SECRETARIAT or leads_subproject(user, flag.node))
