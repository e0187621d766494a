from .assessments import (
    assessment_file,
    assessment_file_add,
    assessment_file_remove,
    assessment_page,
    assessment_reopen,
    assessment_return,
    assessment_withdraw,
    assessment_year_page,
    assessment_year_publish,
    assessments_page,
)
from .auth import SignInView, SignOutView, home
from .dashboard import dashboard
from .evidence import report_file_add, report_file_remove
from .flags import flag_acknowledge, flag_comment, flag_resolve
from .locks import lock_delete, lock_exception_grant, lock_exception_revoke, locks_page
from .plans import plan_default, plan_page
from .preferences import preferences_page
from .reports import agency_page, report_new, report_page
from .reviews import report_accept, report_endorse, report_reopen, report_return, report_withdraw, review_page
from .revisions import (
    revision_approve,
    revision_endorse,
    revision_new,
    revision_page,
    revision_reject,
    revision_withdraw,
    revisions_page,
)
from .subprojects import subproject_page

__all__ = [
    "assessment_file",
    "assessment_file_add",
    "assessment_file_remove",
    "assessment_page",
    "assessment_reopen",
    "assessment_return",
    "assessment_withdraw",
    "assessment_year_page",
    "assessment_year_publish",
    "assessments_page",
    "preferences_page",
    "revision_approve",
    "revision_endorse",
    "revision_new",
    "revision_page",
    "revision_reject",
    "revision_withdraw",
    "revisions_page",
    "SignInView",
    "SignOutView",
    "agency_page",
    "dashboard",
    "flag_acknowledge",
    "flag_comment",
    "flag_resolve",
    "home",
    "lock_delete",
    "lock_exception_grant",
    "lock_exception_revoke",
    "locks_page",
    "plan_default",
    "plan_page",
    "report_accept",
    "report_endorse",
    "report_file_add",
    "report_file_remove",
    "report_new",
    "report_page",
    "report_reopen",
    "report_return",
    "report_withdraw",
    "review_page",
    "subproject_page",
]
