"""Writes to the plan structure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, router, transaction
from django.db.models import Max, ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from . import access
from .models import Agency, AgencyAlias, AgencyRole, ControlLevel, NodeAgency, NodeKind, Plan, PlanNode
from .outline import agencies as agency_names
from .outline.document import OutlineDocument, OutlineError, OutlineNode
from .outline.matching import Row, match_rows, written_nodes
from .selectors import agency_find


@dataclass(frozen=True)
class NodeChange:
    """One entry of an import's change log: what happened to a node (created, renamed, moved, removed or pruned),
    its key and title as they now stand, and what it was (the title before a rename, the parent before a move)."""

    change: str
    key: str
    title: str
    node_id: int | None = None
    was: str = ""
    now: str = ""  # the parent after a move
    protected: bool = False  # removed from the outline, but records (reports) keep its row


@dataclass
class ImportResult:
    plan: Plan
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    agencies_created: int = 0
    agencies_added: list[str] = field(default_factory=list)  # the names of the agencies the import created
    absent: list[str] = field(default_factory=list)  # keys in the database but not in the outline
    changes: list[NodeChange] = field(default_factory=list)  # the change log, in outline order
    nodes: dict[str, PlanNode] = field(default_factory=dict)  # the outline's nodes by key, as written

    def add(self, other) -> None:
        """Count another import's rows (the indicators of the same outline) as this one's."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.pruned or self.agencies_created)

    def count(self, change: str) -> int:
        return sum(1 for entry in self.changes if entry.change == change)


def _save_if_changed(instance, values: dict) -> bool:
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    if changed:
        instance.full_clean()
        instance.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


@transaction.atomic
def node_control_level_set(*, node: PlanNode, actor, level: str, reason: str) -> PlanNode:
    """Set a sub-project's control level (列管等級); its history records the level with who set it and why.
    Setting the level it has changes nothing."""
    if not access.can_set_control_level(actor, node):
        raise PermissionDenied(access.NOT_ALLOWED_TO_SET_CONTROL_LEVEL)
    if node.kind != NodeKind.SUBPROJECT:
        raise ValidationError({"control_level": [_("Only a sub-project has a control level.")]})
    if level not in ControlLevel.values:
        raise ValidationError({"control_level": [_("Use executive_yuan, ministry or agency.")]})
    node = PlanNode.objects.select_for_update().get(pk=node.pk)
    if node.control_level == level:
        return node
    node.control_level = level
    node._change_reason = reason
    node._history_user = actor
    node.save(update_fields=["control_level", "updated_at"])
    return node


def agency_get_or_create(*, name: str) -> tuple[Agency, bool]:
    """The agency for a name as written in a tag, creating it (and its parent) when new.

    A sub-unit written as parent + unit (數位發展部數位產業署) is placed under its
    parent; the known short names of a top-level agency become its aliases.
    """
    existing = agency_find(name)
    if existing:
        return existing, False
    resolved = agency_names.resolve(name) or agency_names.AgencyName(name=name)
    parent = None
    if resolved.parent:
        parent, _ = agency_get_or_create(name=resolved.parent)
        existing = Agency.objects.filter(name=resolved.name).first()
        if existing:
            return existing, False
    aliases = agency_names.KNOWN_AGENCIES.get(resolved.name, ())
    agency = Agency(name=resolved.name, parent=parent, short_name=aliases[0] if aliases else resolved.unit)
    agency.full_clean()
    agency.save()
    for alias in aliases:
        AgencyAlias.objects.get_or_create(alias=alias, defaults={"agency": agency})
    return agency, True


def plan_code_for(document: OutlineDocument) -> str:
    return slugify(document.plan_name) or f"plan-{document.start_year}-{document.end_year}"


@transaction.atomic
def plan_tree_import(
    *,
    document: OutlineDocument,
    plan_code: str | None = None,
    prune: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Write an outline's plan tree into the database, in one transaction (``indicators.services.outline_import``
    writes the whole outline: this and the indicators it states).

    Each node of the outline continues the row it was before (``projects.outline.matching``: by key and title,
    so a renamed measure or a sub-project moved to another measure keeps its row, its id and what hangs on it),
    so importing the same outline again changes nothing and a revised one updates the tree in place. Each change
    is in ``result.changes`` and in the node's history (``history_change_reason``: "imported: renamed, moved").
    Nodes no longer in the outline are reported in ``absent`` and deleted only with ``prune``, which refuses to
    delete one that other records (quarterly reports) keep.
    """
    code = plan_code or plan_code_for(document)
    plan = Plan.objects.select_for_update().filter(code=code).first()
    plan_values = {
        "name": document.plan_name,
        "start_year": document.start_year,
        "end_year": document.end_year,
    }
    if document.secretariat:
        plan_values["secretariat"] = document.secretariat
    result = ImportResult(plan=plan)
    if plan is None:
        plan = Plan(code=code, **plan_values)
        plan.full_clean()
        plan.save()
        result.plan = plan
        result.created += 1
    elif _save_if_changed(plan, plan_values):
        result.updated += 1
    else:
        result.unchanged += 1

    last_agency = Agency.objects.aggregate(last=Max("pk"))["last"] or 0
    rows = list(PlanNode.objects.filter(plan=plan).exclude(outline_key="").order_by("path"))
    by_id = {row.pk: row for row in rows}
    matches = match_rows(
        written_nodes(document), (Row(id=row.pk, key=row.outline_key, kind=row.kind, title=row.title) for row in rows)
    )
    existing = {key: by_id[row_id] for key, row_id in matches.items()}
    continued = set(matches.values())
    left = [row for row in rows if row.pk not in continued]
    _free_keys(rows, matches, left)

    seen: set[str] = set()
    for position, group in enumerate(document.groups):
        _import_node(group, parent=None, position=position, plan=plan, existing=existing, seen=seen, result=result)
        if progress:
            progress(f"{group.number}、{group.title}: {sum(1 for _ in group.walk())} nodes")

    result.absent = [row.outline_key for row in left]
    for row in left:
        result.changes.append(
            NodeChange(
                change="removed",
                key=row.outline_key,
                title=row.title,
                node_id=row.pk,
                protected=_kept_by_other_records(row),
            )
        )
    if prune and left:
        kept = [entry for entry in result.changes if entry.change == "removed" and entry.protected]
        if kept:
            raise OutlineError(
                f"{kept[0].key} {kept[0].title[:30]} is no longer in the outline but has quarterly reports; "
                "it cannot be pruned"
            )
        # Deepest first, so no node is deleted through its parent before it is recorded.
        for row in sorted(left, key=lambda row: -len(row.path)):
            row._change_reason = "imported: removed"
            row.delete()
        result.changes = [
            replace(entry, change="pruned") if entry.change == "removed" else entry for entry in result.changes
        ]
        result.pruned = len(left)

    added = Agency.objects.filter(pk__gt=last_agency).order_by("path")
    result.agencies_added = list(added.values_list("name", flat=True))
    result.agencies_created = len(result.agencies_added)
    result.nodes = {key: existing[key] for key in seen}
    return result


def _free_keys(rows: list[PlanNode], matches: dict[str, int], left: list[PlanNode]) -> None:
    """Give the rows their keys in the revised outline, and a row no longer in it a key of its own when a new
    node takes its old one (貳/二/(一)/2#17): first each a placeholder, as one row's new key may still be
    another's (the unique constraint is checked row by row)."""
    wanted = {row_id: key for key, row_id in matches.items()}
    for row in left:
        if row.outline_key in matches:
            suffix = f"#{row.pk}"
            wanted[row.pk] = row.outline_key[: 120 - len(suffix)] + suffix
    moving = [row for row in rows if row.pk in wanted and wanted[row.pk] != row.outline_key]
    if not moving:
        return
    for row in moving:
        row.outline_key = f"#{row.pk}"
    PlanNode.objects.bulk_update(moving, ["outline_key"])
    # The rows no longer in the outline take their key now; the others with their other changes.
    gone = [row for row in moving if row in left]
    for row in gone:
        row.outline_key = wanted[row.pk]
    PlanNode.objects.bulk_update(gone, ["outline_key"])


def _kept_by_other_records(node: PlanNode) -> bool:
    """Whether deleting the node (and what stands below it) would be refused: records protect it."""
    try:
        Collector(using=router.db_for_write(PlanNode)).collect([node])
    except (ProtectedError, RestrictedError):
        return True
    return False


def _import_node(
    outline: OutlineNode,
    *,
    parent: PlanNode | None,
    position: int,
    plan: Plan,
    existing: dict[str, PlanNode],
    seen: set[str],
    result: ImportResult,
) -> None:
    if outline.key in seen:
        raise OutlineError(f"the outline names {outline.key} twice", outline.line)
    seen.add(outline.key)
    if outline.kind not in NodeKind.values:
        raise OutlineError(f"unknown node kind {outline.kind!r}", outline.line)
    convening = None
    if outline.convening_agency:
        convening, _ = agency_get_or_create(name=outline.convening_agency)
    values = {
        "parent_id": parent.pk if parent else None,
        "kind": outline.kind,
        "number": outline.number,
        "position": position,
        "title": outline.title[:500],
        "outline_key": outline.key,
        "convening_agency_id": convening.pk if convening else None,
    }
    if outline.description is not None:
        values["description"] = outline.description
    node = existing.get(outline.key)
    created = node is None
    changed: list[str] = []
    log: list[NodeChange] = []
    if created:
        node = PlanNode(plan=plan, **values)
        log.append(NodeChange(change="created", key=outline.key, title=node.title))
    else:
        changed = [name for name, value in values.items() if getattr(node, name) != value]
        if "title" in changed:
            log.append(NodeChange(change="renamed", key=outline.key, title=values["title"], was=node.title))
        if "parent_id" in changed:
            log.append(
                NodeChange(
                    change="moved",
                    key=outline.key,
                    title=values["title"],
                    was=str(node.parent) if node.parent_id else "",
                    now=str(parent) if parent else "",
                )
            )
        for name in changed:
            setattr(node, name, values[name])
    node.parent = parent
    node.convening_agency = convening
    reason = "imported: " + (", ".join(entry.change for entry in log) or "updated")
    if created or changed:
        _validate(node, outline)
        _save_with_reason(node, reason)
    existing[outline.key] = node
    agencies_changed = _sync_agencies(node, outline)
    if created:
        result.created += 1
    elif changed or agencies_changed:
        if not changed:
            _save_with_reason(node, reason, update_fields=["updated_at"])
        result.updated += 1
    else:
        result.unchanged += 1
    result.changes.extend(replace(entry, node_id=node.pk) for entry in log)
    for child_position, child in enumerate(outline.children):
        _import_node(
            child, parent=node, position=child_position, plan=plan, existing=existing, seen=seen, result=result
        )


def _save_with_reason(node: PlanNode, reason: str, **kwargs) -> None:
    """Save the node with the reason its history row records (django-simple-history's change reason)."""
    node._change_reason = reason
    try:
        node.save(**kwargs)
    finally:
        del node._change_reason


def _validate(node: PlanNode, outline: OutlineNode) -> None:
    try:
        node.full_clean(exclude=["path"])
    except ValidationError as exc:
        messages = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        raise OutlineError(f"{outline.number} {outline.title[:30]}: {messages}", outline.line) from exc


def _sync_agencies(node: PlanNode, outline: OutlineNode) -> bool:
    """Make the node's agency links exactly those of the outline; True when they changed."""
    wanted: list[tuple[int, str, int]] = []
    linked: set[int] = set()
    for role, names in ((AgencyRole.LEAD, outline.lead_agencies), (AgencyRole.CO, outline.co_agencies)):
        for position, name in enumerate(names):
            agency, _ = agency_get_or_create(name=name)
            if agency.pk not in linked:  # an agency named twice keeps its first role
                linked.add(agency.pk)
                wanted.append((agency.pk, role, position))
    current = {(link.agency_id, link.role, link.position): link for link in node.agency_links.all()}
    if set(current) == set(wanted):
        return False
    NodeAgency.objects.filter(node=node).delete()
    NodeAgency.objects.bulk_create(
        [
            NodeAgency(node=node, agency_id=agency_id, role=role, position=position)
            for agency_id, role, position in wanted
        ]
    )
    return True


def nodes_touch(*, node_ids) -> None:
    """Mark plan-tree nodes as changed (their light did), so ``updated_since`` picks them up."""
    if not node_ids:
        return
    if connection.vendor == "postgresql":
        # One array parameter rather than thousands of placeholders for the client to split and send.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {PlanNode._meta.db_table} SET updated_at = %s WHERE id = ANY(%s)",
                [timezone.now(), list(node_ids)],
            )
        return
    PlanNode.objects.filter(pk__in=node_ids).update(updated_at=timezone.now())


def node_lock(node_id: int) -> None:
    """Hold the sub-project's row until the transaction ends: what changes or freezes its baseline (a ledger
    written, a report accepted, a revision approved) takes its turn, so no two of them decide on a state the
    other is changing. A no-op outside PostgreSQL's row locks (SQLite writes one at a time anyway)."""
    list(PlanNode.objects.select_for_update().filter(pk=node_id).values_list("pk", flat=True))


def milestone_record_progress(*, milestone, completed_on=None, forecast_date=None) -> None:
    """Apply what an accepted report says of a milestone: its completion date and its new forecast."""
    values = {}
    if completed_on is not None:
        values["completed_on"] = completed_on
    if forecast_date is not None:
        values["forecast_date"] = forecast_date
    if values:
        _save_if_changed(milestone, values)
