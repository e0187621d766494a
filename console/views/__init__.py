from .auth import SignInView, SignOutView, home
from .dashboard import dashboard
from .flags import flag_acknowledge, flag_comment, flag_resolve
from .plans import plan_default, plan_page
from .reports import agency_page, report_new, report_page
from .reviews import report_accept, report_return
from .subprojects import subproject_page

__all__ = [
    "SignInView",
    "SignOutView",
    "agency_page",
    "dashboard",
    "flag_acknowledge",
    "flag_comment",
    "flag_resolve",
    "home",
    "plan_default",
    "plan_page",
    "report_accept",
    "report_new",
    "report_page",
    "report_return",
    "subproject_page",
]
