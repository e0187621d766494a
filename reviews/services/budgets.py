"""Writes to sub-projects' budget ledgers: a year's appropriation (預算數) and its allocation schedule (分配數)
by quarter, set by the Executive Secretariat.

Once a report of the year is accepted the ledger is what that report was measured against, and it changes
only through a plan revision (``access.baseline_frozen``); these writes refuse it with 409.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from gstp.exceptions import InvalidTransition, StaleVersion
from projects import services as project_services
from projects.models import BudgetYear, NodeKind, PlanNode

from .. import access
from ..models import QuarterlyReport, executed_expression
from ..selectors import subproject_quarters


class StaleBudget(StaleVersion):
    default_detail = _("The budget has changed since it was read; fetch it again and retry with the new ETag.")


def _money(value) -> str:
    return f"{value:,.0f}"


def _ensure_open(node, year: int) -> None:
    if access.baseline_frozen(node, year=year):
        raise InvalidTransition(access.BUDGET_YEAR_FROZEN % {"year": year})


def most_executed(node, year: int) -> Decimal | None:
    """The most any report of the sub-project's year gives as executed (spent, payables and savings): what
    an appropriation of that year may not fall below. None without figures."""
    return (
        QuarterlyReport.objects.filter(node=node, year=year)
        .annotate(executed=executed_expression())
        .aggregate(most=Max("executed"))["most"]
    )


def budget_validate(ledger: BudgetYear) -> None:
    """The ledger as it would stand after the write; raises ValidationError naming each field."""
    errors: dict[str, list[str]] = {}
    first, last = subproject_quarters(ledger.node)
    if not first.year <= ledger.year <= last.year:
        errors["year"] = [
            _("%(year)s is outside the sub-project's years (%(first)s to %(last)s).")
            % {"year": ledger.year, "first": first.year, "last": last.year}
        ]
    try:
        ledger.full_clean(exclude=["node"], validate_unique=False, validate_constraints=False)
    except ValidationError as invalid:
        for name, messages in invalid.message_dict.items():
            errors.setdefault(name, []).extend(messages)
        raise ValidationError(errors) from None
    allocated = sum(ledger.schedule, Decimal(0))
    if allocated > ledger.appropriation:
        errors.setdefault("appropriation", []).append(
            _("The allocations of the four quarters add up to %(allocated)s, more than the appropriation.")
            % {"allocated": _money(allocated)}
        )
    executed = most_executed(ledger.node, ledger.year)
    if executed is not None and executed > ledger.appropriation:
        errors.setdefault("appropriation", []).append(
            _("A report of %(year)s gives %(executed)s spent, payables and savings, more than this appropriation.")
            % {"year": ledger.year, "executed": _money(executed)}
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def budget_year_create(*, actor, node: PlanNode, year: int, values: dict) -> BudgetYear:
    """The secretariat sets a sub-project's budget for a year it has none for."""
    access.ensure(access.can_set_budget(actor), access.NOT_SECRETARIAT_TO_SET_BUDGET)
    if node.kind != NodeKind.SUBPROJECT:
        raise ValidationError({"project": [_("Budgets are set for sub-projects.")]})
    project_services.node_lock(node.pk)  # a report of the year accepted meanwhile freezes it
    _ensure_open(node, year)
    ledger = BudgetYear(node=node, year=year, **values)
    budget_validate(ledger)
    try:
        with transaction.atomic():
            ledger.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"year": [_("The sub-project already has a budget for %(year)s: change that one.") % {"year": year}]}
        ) from exc
    return ledger


@transaction.atomic
def budget_year_update(*, actor, budget_year: BudgetYear, expected_etag: str | None, values: dict) -> BudgetYear:
    """The secretariat changes a year's appropriation or schedule; fields not in ``values`` keep theirs.
    ``expected_etag`` is the ledger's ETag as the client read it (None: whatever is current)."""
    access.ensure(access.can_set_budget(actor), access.NOT_SECRETARIAT_TO_SET_BUDGET)
    project_services.node_lock(budget_year.node_id)  # a report of the year accepted meanwhile freezes it
    ledger = BudgetYear.objects.select_for_update().select_related("node__plan").get(pk=budget_year.pk)
    if expected_etag is not None and expected_etag != ledger.etag:
        raise StaleBudget()
    _ensure_open(ledger.node, ledger.year)
    for name, value in values.items():
        setattr(ledger, name, value)
    budget_validate(ledger)
    ledger.save(update_fields=[*values, "updated_at"])
    return ledger
