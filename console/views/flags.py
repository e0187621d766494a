"""The secretariat's work on a lag flag (acknowledge, resolve with a reason) and the thread on it, through
the services the API calls, with the API's serializers checking what was typed."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gstp.exceptions import ApplicationError
from reviews import access, services
from reviews.inputs import CommentSerializer, ResolveSerializer

from ..forms import CommentForm, ReasonForm
from ..selectors import flag_queue
from .base import SERVICE_ERRORS, console_page, dashboard_url, next_url, service_errors


@dataclass
class FlagActions:
    """What a user may do with a flag shown in a list (``access.flag_actions``), and the forms for it;
    the services check again."""

    flag: object
    acknowledge: bool
    resolve: ReasonForm | None
    comment: CommentForm | None
    full: bool  # the thread and who did what: the secretariat's and leads' view, not a reader's


def flag_actions(flag, user, *, as_of=None) -> FlagActions:
    """The flag with the actions the user may take on it: none on a flag as it was at a past moment."""
    actions = access.flag_actions(user, flag) if as_of is None else frozenset()
    return FlagActions(
        flag=flag,
        acknowledge="acknowledge" in actions,
        resolve=ReasonForm(with_override=True, prefix=f"resolve-{flag.pk}") if "resolve" in actions else None,
        comment=CommentForm(with_kind="improvement_plan" in actions, prefix=f"comment-{flag.pk}")
        if "comment" in actions
        else None,
        full=access.flag_fields_for(user) is access.FlagFields.FULL,
    )


def _flag(request, pk):
    return get_object_or_404(flag_queue(user=request.user), pk=pk)


@require_POST
@console_page
def flag_acknowledge(request, pk):
    flag = _flag(request, pk)
    try:
        services.lag_flag_acknowledge(flag=flag, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("Flag acknowledged."))
    return redirect(next_url(request, dashboard_url()))


def _act(request, *, flag, form, serializer_class, service, done, title, button):
    """On POST, check what was typed with the API's serializer, call the service and go back with ``done``;
    otherwise (or on an error, named next to its field) show the form."""
    if request.method == "POST":
        serializer = serializer_class(data=form.payload())
        if not serializer.is_valid():
            form.errors_apply(serializer.errors)
        else:
            try:
                service(flag=flag, actor=request.user, **serializer.validated_data)
            except SERVICE_ERRORS as exc:
                form.errors_apply(service_errors(exc))
            else:
                messages.success(request, done)
                return redirect(next_url(request, dashboard_url()))
    return render(
        request,
        "console/flag_action.html",
        {"flag": flag, "form": form, "title": title, "button": button, "next": next_url(request, dashboard_url())},
        status=400 if form.is_bound and form.errors else 200,
    )


@console_page
def flag_resolve(request, pk):
    flag = _flag(request, pk)
    # As the API does: who may resolve is decided before anything typed is read.
    access.ensure(access.can_resolve_flag(request.user, flag), access.NOT_SECRETARIAT_TO_RESOLVE)
    form = ReasonForm(request.POST if request.method == "POST" else None, with_override=True, prefix=f"resolve-{pk}")
    return _act(
        request,
        flag=flag,
        form=form,
        serializer_class=ResolveSerializer,
        service=services.lag_flag_resolve,
        done=_("Flag resolved."),
        title=_("Resolve the flag"),
        button=_("Resolve"),
    )


@console_page
def flag_comment(request, pk):
    flag = _flag(request, pk)
    access.ensure(access.can_comment_on_flag(request.user, flag), access.NOT_ALLOWED_TO_COMMENT)
    with_kind = access.can_plan_improvement(request.user, flag)
    form = CommentForm(request.POST if request.method == "POST" else None, with_kind=with_kind, prefix=f"comment-{pk}")
    return _act(
        request,
        flag=flag,
        form=form,
        serializer_class=CommentSerializer,
        service=services.lag_flag_comment,
        done=_("Comment added."),
        title=_("Comment on the flag"),
        button=_("Add comment"),
    )
