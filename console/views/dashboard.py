"""The secretariat's dashboard: lights by group and by agency, the flag queue, reports waiting for review."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from assessments.selectors import grade_distribution, grade_names, latest_published_scheme
from gstp.calendar import format_year
from projects.selectors import plan_list
from reviews import access

from .. import charts
from ..filters import FlagQueueFilter
from ..forms import ControlLevelForm
from ..selectors import (
    default_plan,
    flag_queue,
    light_rollup,
    report_years,
    review_queue,
    with_agencies_of_subprojects,
)
from .base import console_page, page_as_of
from .flags import flag_actions
from .reviews import return_form

FLAGS_PER_PAGE = 20
REPORTS_PER_PAGE = 20


def _plan(request):
    wanted = request.GET.get("plan", "")
    plans = plan_list(user=request.user)
    if wanted.isdigit():
        found = plans.filter(pk=int(wanted)).first()
        if found is not None:
            return found
    return default_plan(request.user)


def annual_report_links(plan) -> list[dict]:
    """Download links of the plan's annual report (階段成果報告), one per year with accepted reports; none
    while the export is not installed."""
    links = []
    for year in report_years(plan=plan):
        formats = []
        for fmt, label in (("docx", "Word (.docx)"), ("md", "Markdown (.md)")):
            try:
                url = reverse("annual-report", kwargs={"year": year, "fmt": fmt})
                formats.append({"url": f"{url}?{urlencode({'plan': plan.code})}", "label": label})
            except NoReverseMatch:
                return []
        links.append({"year": year, "formats": formats})
    return links


def _grades(plan, user) -> dict:
    """The plan's latest published assessment: its grades by group and by lead agency, as charts and tables."""
    scheme = latest_published_scheme(plan=plan, user=user)
    if scheme is None:
        return {}
    grades = grade_names(scheme)
    by_group = grade_distribution(scheme=scheme, user=user, by="group")
    by_agency = grade_distribution(scheme=scheme, user=user, by="agency")
    for row in (*by_group, *by_agency):
        row["counts"] = [row["grades"].get(grade, 0) for grade in grades]
    return {
        "grade_scheme": scheme,
        "grade_year": format_year(scheme.year),
        "grades": grades,
        "grades_by_group": by_group,
        "grades_by_agency": by_agency,
        "grade_group_chart": charts.grade_bars(
            by_group, grades, chart_id="grades-by-group", title=_("Grades by group")
        ),
        "grade_agency_chart": charts.grade_bars(
            by_agency, grades, chart_id="grades-by-agency", title=_("Grades by lead agency")
        ),
    }


@console_page
def dashboard(request):
    user = request.user
    plan = _plan(request)
    as_of, as_of_error = page_as_of(request)
    level_form = ControlLevelForm(request.GET)
    level = level_form.level()
    levels = [level] if level else []
    context = {
        "plan": plan,
        "as_of": as_of,
        "as_of_error": as_of_error,
        "as_of_value": request.GET.get("as_of", ""),
        "level_form": level_form,
        "control_level": level,
    }
    if plan is not None:
        by_group = light_rollup(plan=plan, user=user, by="group", as_of=as_of, control_levels=levels)
        # The agencies with the most red first: the ones to call.
        by_agency = sorted(
            light_rollup(plan=plan, user=user, by="agency", as_of=as_of, control_levels=levels),
            key=lambda row: (-row.red, -row.yellow, -row.total),
        )
        context.update(
            overall=light_rollup(plan=plan, user=user, by="plan", as_of=as_of, control_levels=levels)[0],
            by_group=by_group,
            by_agency=by_agency,
            group_chart=charts.light_bars(by_group, chart_id="lights-by-group", title=_("Lights by group")),
            agency_chart=charts.light_bars(by_agency, chart_id="lights-by-agency", title=_("Lights by agency")),
        )
        if access.can_download_annual_report(user) and as_of is None:
            context["annual_reports"] = annual_report_links(plan)
        if as_of is None:
            context.update(_grades(plan, user))

    # The flag queue is narrowed by the level through its own filter (``control_level``, carried by its form).
    filterset = FlagQueueFilter(request.GET, queryset=flag_queue(user=user, as_of=as_of), plan=plan, request=request)
    flags = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    flag_page = with_agencies_of_subprojects(Paginator(flags, FLAGS_PER_PAGE).get_page(request.GET.get("page")))
    flag_rows = [flag_actions(flag, user, as_of=as_of) for flag in flag_page]
    context.update(filterset=filterset, flag_page=flag_page, flag_rows=flag_rows)
    # The review queue is work to do now: not shown on the dashboard of a past moment.
    if access.can_see_review_queue(user) and as_of is None:
        review_page = with_agencies_of_subprojects(
            Paginator(review_queue(user=user, control_levels=levels), REPORTS_PER_PAGE).get_page(
                request.GET.get("reviews")
            )
        )
        # The buttons are offered when the user may accept a report of the page; each step checks again.
        can_review = access.may_accept_report(user) and any(
            "accept" in access.report_actions(user, report, endorsement_required=report.endorsement_required)
            for report in review_page
        )
        context.update(
            reviews_shown=True,
            review_page=review_page,
            review_rows=[(report, return_form(report)) for report in review_page],
            can_review=can_review,
        )
    return render(request, "console/dashboard.html", context)
