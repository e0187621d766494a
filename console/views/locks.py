"""Quarter locks (鎖定): a plan's quarters closed to filing and edits, and the sub-projects let in again until
a date (例外). Every signed-in user sees them, as over the API; the secretariat sets them, through the
services the API calls, with the API's serializers checking what was typed."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gstp import calendar
from projects.selectors import plan_list
from reviews import access, services
from reviews.inputs import LockCreateSerializer, LockExceptionCreateSerializer
from reviews.periods import today
from reviews.selectors import lock_list

from ..forms import LockExceptionForm, LockForm
from ..selectors import default_plan, subproject_scope
from .base import SERVICE_ERRORS, console_page, service_errors


def _plan(request):
    wanted = request.POST.get("plan") or request.GET.get("plan") or ""
    if wanted.isdigit():
        found = plan_list(user=request.user).filter(pk=int(wanted)).first()
        if found is not None:
            return found
    return default_plan(request.user)


def locks_url(plan) -> str:
    return f"{reverse('console:locks')}?{urlencode({'plan': plan.pk})}"


def _lock(request, pk):
    return get_object_or_404(lock_list(user=request.user).select_related("plan"), pk=pk)


def _subprojects(user, plan):
    return list(subproject_scope(user).filter(plan=plan))


def _exception_form(lock, subprojects, data=None) -> LockExceptionForm:
    return LockExceptionForm(data, subprojects=subprojects, prefix=f"exception-{lock.pk}")


def _page(request, plan, *, lock_form=None, bound_exception=None, status=200):
    """The plan's locks, the latest quarter first, each with its exceptions; the forms for whoever may set
    them (``bound_exception``: a lock's refused exception form, to show with its errors)."""
    user = request.user
    can_lock = access.can_lock_quarters(user)
    locks = list(lock_list(user=user).filter(plan=plan).prefetch_related("exceptions__node")) if plan else []
    subprojects = _subprojects(user, plan) if can_lock and plan else []
    rows = []
    for lock in locks:
        if not can_lock:
            form = None
        elif bound_exception is not None and bound_exception[0] == lock.pk:
            form = bound_exception[1]
        else:
            form = _exception_form(lock, subprojects)
        rows.append((lock, form))
    context = {
        "plan": plan,
        "plans": list(plan_list(user=user).order_by("-end_year", "code")),
        "rows": rows,
        "today": today(),
        "lock_form": (lock_form or LockForm()) if can_lock and plan else None,
        "can_lock": can_lock,
    }
    return render(request, "console/locks.html", context, status=status)


@console_page
def locks_page(request):
    """The plan's quarter locks; a POST locks one more quarter."""
    plan = _plan(request)
    if request.method != "POST":
        return _page(request, plan)
    access.ensure(access.can_lock_quarters(request.user), access.NOT_SECRETARIAT_TO_LOCK)
    if plan is None:
        raise Http404
    form = LockForm(request.POST)
    serializer = LockCreateSerializer(data=form.payload(plan))
    if not serializer.is_valid():
        form.errors_apply(serializer.errors)
    else:
        data = serializer.validated_data
        try:
            lock = services.quarter_lock_create(
                actor=request.user, plan=data["plan"], period=data["period"], reason=data["reason"]
            )
        except SERVICE_ERRORS as exc:
            form.errors_apply(service_errors(exc))
        else:
            messages.success(
                request,
                _("Locked %(period)s: no report of it is filed or edited now.")
                % {"period": calendar.format_period(lock.period)},
            )
            return redirect(locks_url(plan))
    return _page(request, plan, lock_form=form, status=400)


@require_POST
@console_page
def lock_delete(request, pk):
    lock = _lock(request, pk)
    access.ensure(access.can_lock_quarters(request.user), access.NOT_SECRETARIAT_TO_LOCK)
    services.quarter_lock_delete(actor=request.user, lock=lock)
    messages.success(request, _("Unlocked %(period)s.") % {"period": calendar.format_period(lock.period)})
    return redirect(locks_url(lock.plan))


@require_POST
@console_page
def lock_exception_grant(request, pk):
    lock = _lock(request, pk)
    access.ensure(access.can_lock_quarters(request.user), access.NOT_SECRETARIAT_TO_LOCK)
    form = _exception_form(lock, _subprojects(request.user, lock.plan), request.POST)
    serializer = LockExceptionCreateSerializer(data=form.payload())
    if not serializer.is_valid():
        form.errors_apply(serializer.errors)
    else:
        data = serializer.validated_data
        try:
            exception = services.lock_exception_grant(
                actor=request.user,
                lock=lock,
                node=data["project"],
                expires_on=data["expires_on"],
                reason=data["reason"],
            )
        except SERVICE_ERRORS as exc:
            form.errors_apply(service_errors(exc))
        else:
            messages.success(
                request,
                _("%(project)s may file and edit its %(period)s report until %(date)s.")
                % {
                    "project": exception.node.title,
                    "period": calendar.format_period(lock.period),
                    "date": calendar.format_date(exception.expires_on),
                },
            )
            return redirect(locks_url(lock.plan))
    return _page(request, lock.plan, bound_exception=(lock.pk, form), status=400)


@require_POST
@console_page
def lock_exception_revoke(request, pk, exception_pk):
    lock = _lock(request, pk)
    access.ensure(access.can_lock_quarters(request.user), access.NOT_SECRETARIAT_TO_LOCK)
    exception = get_object_or_404(lock.exceptions.select_related("node"), pk=exception_pk)
    services.lock_exception_revoke(actor=request.user, exception=exception)
    messages.success(
        request,
        _("Withdrew the exception of %(project)s for %(period)s.")
        % {"project": exception.node.title, "period": lock.period},
    )
    return redirect(locks_url(lock.plan))
