"""Plan revisions (計畫修正) on the pages: a lead's request, the page where the ministry's reviewer endorses and
the secretariat decides (with the original, current and proposed baseline side by side), and the list of what
waits for the user. The request goes through the API's serializer and the service, so the page refuses what
the API refuses, with the same words, next to the field; each step calls the service the API calls, after the
same early check."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from indicators.models import Indicator, IndicatorTarget
from projects.models import BudgetYear, Milestone
from projects.selectors import milestone_list
from reviews import access, selectors, services
from reviews.inputs import DecisionSerializer, RevisionCreateSerializer, WithdrawSerializer
from reviews.models import CHANGE_KEYS, OPEN_REVISION_STATUSES, PlanRevision

from ..forms import BUDGET_FIELDS, RevisionForm
from ..selectors import subproject_scope
from .base import SERVICE_ERRORS, console_page, error_messages, posted_version, service_errors

RECENT_REVISIONS = 50


def _revision(request, pk) -> PlanRevision:
    revisions = selectors.revision_list(user=request.user).select_related("node__plan")
    return get_object_or_404(revisions, pk=pk)


def _revision_url(revision) -> str:
    return reverse("console:revision", kwargs={"pk": revision.pk})


def _budget_labels() -> dict:
    return {name: capfirst(BudgetYear._meta.get_field(name).verbose_name) for name in BUDGET_FIELDS}


@console_page
def revision_new(request, pk):
    """The lead's request form: the current baseline filled in; what it changes is sent."""
    node = get_object_or_404(subproject_scope(request.user).select_related("plan"), pk=pk)
    access.ensure(access.can_request_revision(request.user, node), access.NOT_LEAD_TO_REQUEST_REVISION)
    milestones = milestone_list(user=request.user).filter(node=node).order_by("planned_date", "id")
    form = RevisionForm(request.POST or None, node=node, milestones=milestones, budget_labels=_budget_labels())
    status = 200
    if request.method == "POST":
        serializer = RevisionCreateSerializer(data=form.payload())
        if not serializer.is_valid():
            form.errors_apply(serializer.errors)
            status = 400
        else:
            data = serializer.validated_data
            changes = {key: data[key] for key in CHANGE_KEYS if key in data}
            try:
                revision = services.revision_request(
                    actor=request.user, node=node, reason=data["reason"], changes=changes
                )
            except SERVICE_ERRORS as exc:
                form.errors_apply(service_errors(exc))
                status = getattr(exc, "status_code", 400)
            else:
                messages.success(request, _("Requested a revision of the plan of %(project)s.") % {"project": node})
                return redirect(_revision_url(revision))
    context = {"node": node, "form": form}
    return render(request, "console/revision_new.html", context, status=status)


@dataclass
class Row:
    label: str
    original: object
    current: object
    proposed: object


def _comparison(revision) -> dict:
    """The original plan (原計畫), the current baseline and what the revision proposes, row by row."""
    node = revision.node
    original = selectors.baselines_of([node.pk]).get(node.pk, selectors.NO_BASELINE).original
    changes = revision.changes
    milestones = {m.pk: m for m in Milestone.objects.filter(node=node)}
    original_milestones = {m["id"]: m for m in (original or {}).get("milestones", [])}
    end_rows = [
        Row(
            _("End date"),
            (original or {}).get("end_date") or node.end_date,
            node.end_date,
            changes.get("end_date"),
        )
    ]
    milestone_rows = []
    for item in changes.get("milestones", []):
        milestone = milestones.get(item["milestone"])
        title = milestone.title if milestone else f"#{item['milestone']}"
        first = original_milestones.get(item["milestone"], {})
        milestone_rows.append(
            (
                title,
                Row(
                    _("planned date"),
                    first.get("planned_date"),
                    milestone and milestone.planned_date,
                    item.get("planned_date"),
                ),
                Row(_("weight (%)"), first.get("weight"), milestone and milestone.weight, item.get("weight")),
            )
        )
    budgets = {b.year: b for b in BudgetYear.objects.filter(node=node)}
    original_budgets = {b["year"]: b for b in (original or {}).get("budgets", [])}
    budget_rows = [
        (item, original_budgets.get(item["year"]), budgets.get(item["year"])) for item in changes.get("budgets", [])
    ]
    targets = changes.get("indicator_targets", [])
    indicators = Indicator.objects.in_bulk([item["indicator"] for item in targets]) if targets else {}
    current_targets = {
        (t.indicator_id, t.year, t.quarter): t.value
        for t in IndicatorTarget.objects.filter(indicator__in=[item["indicator"] for item in targets])
    }
    original_targets = {
        (t["indicator"], t["year"], t["quarter"]): t["value"] for t in (original or {}).get("indicator_targets", [])
    }

    def target_row(item):
        key = (item["indicator"], item["year"], item.get("quarter", 0))
        return item, indicators.get(item["indicator"]), original_targets.get(key), current_targets.get(key)

    target_rows = [target_row(item) for item in targets]
    return {
        "end_rows": end_rows,
        "milestone_rows": milestone_rows,
        "budget_rows": budget_rows,
        "target_rows": target_rows,
    }


@console_page
def revision_page(request, pk):
    """One revision: what it changes against the original and current baseline, its history, and the steps the
    user may take on it now."""
    revision = _revision(request, pk)
    user = request.user
    context = {
        "revision": revision,
        "node": revision.node,
        "actions": access.revision_actions(user, revision),
        "history": list(selectors.revision_history(revision=revision))
        if access.can_see_revision_history(user, revision)
        else None,
        **_comparison(revision),
    }
    return render(request, "console/revision.html", context)


@console_page
def revisions_page(request):
    """What waits for the user's step, then the latest revisions the user sees."""
    user = request.user
    context = {
        "waiting": list(selectors.revision_queue(user=user)[:RECENT_REVISIONS]),
        "recent": list(selectors.revision_list(user=user).order_by("-updated_at", "-id")[:RECENT_REVISIONS]),
    }
    return render(request, "console/revisions.html", context)


def _step(request, revision, service, done, **kwargs):
    try:
        service(actor=request.user, revision=revision, expected_version=posted_version(request), **kwargs)
    except SERVICE_ERRORS as exc:
        for message in error_messages(service_errors(exc)):
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect(_revision_url(revision))


def _reason(request, serializer_class) -> str | None:
    serializer = serializer_class(data={"reason": request.POST.get("reason", "")})
    if not serializer.is_valid():
        for message in error_messages(serializer.errors):
            messages.error(request, message)
        return None
    return serializer.validated_data["reason"]


@require_POST
@console_page
def revision_endorse(request, pk):
    revision = _revision(request, pk)
    access.ensure_revision_decider(
        access.may_endorse_revision, request.user, revision, access.NOT_REVIEWER_TO_ENDORSE_REVISION
    )
    return _step(
        request,
        revision,
        services.revision_endorse,
        _("Endorsed the revision: it goes on to the Executive Secretariat."),
    )


@require_POST
@console_page
def revision_approve(request, pk):
    revision = _revision(request, pk)
    access.ensure_revision_decider(
        access.may_approve_revision, request.user, revision, access.NOT_SECRETARIAT_TO_APPROVE_REVISION
    )
    reason = _reason(request, DecisionSerializer)
    if reason is None:
        return redirect(_revision_url(revision))
    return _step(
        request, revision, services.revision_approve, _("Approved the revision: it is the new baseline."), reason=reason
    )


@require_POST
@console_page
def revision_reject(request, pk):
    revision = _revision(request, pk)
    access.ensure_revision_decider(
        access.may_reject_revision, request.user, revision, access.NOT_ALLOWED_TO_REJECT_REVISION
    )
    reason = _reason(request, DecisionSerializer)
    if reason is None:
        return redirect(_revision_url(revision))
    return _step(request, revision, services.revision_reject, _("Rejected the revision."), reason=reason)


@require_POST
@console_page
def revision_withdraw(request, pk):
    revision = _revision(request, pk)
    access.ensure(access.can_withdraw_revision(request.user, revision), access.NOT_LEAD_TO_EDIT_REVISION)
    reason = _reason(request, WithdrawSerializer)
    if reason is None:
        return redirect(_revision_url(revision))
    return _step(request, revision, services.revision_withdraw, _("Withdrew the revision."), reason=reason)


def subproject_baseline(user, node, milestones, *, as_of=None) -> dict:
    """What the sub-project page shows of its baseline: the version, the original plan's end date and
    milestones' planned dates (by milestone id), its revisions the user sees, and whether the user may request
    one now."""
    info = selectors.baselines_of([node.pk], as_of=as_of).get(node.pk, selectors.NO_BASELINE)
    original = info.original
    original_dates = {
        item["id"]: datetime.date.fromisoformat(item["planned_date"]) for item in (original or {}).get("milestones", [])
    }
    revisions = list(selectors.revision_list(user=user, as_of=as_of).filter(node=node).order_by("-requested_at", "-id"))
    if as_of is not None:
        for revision in revisions:  # as it stood then, not as decided since
            revision.status = revision.status_then
    has_open = any(revision.status in OPEN_REVISION_STATUSES for revision in revisions)
    return {
        "baseline_version": info.version,
        "original_end_date": datetime.date.fromisoformat(original["end_date"])
        if original and original.get("end_date")
        else node.end_date,
        "original_dates": original_dates,
        "milestone_originals": [
            (m, original_dates.get(m.pk, m.planned_date) if original else m.planned_date) for m in milestones
        ],
        "revisions": revisions,
        "can_request_revision": as_of is None and not has_open and access.can_request_revision(user, node),
    }
