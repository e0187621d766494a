import datetime
import itertools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Substr
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from gstp.calendar import Calendar


def path_ids(path: str) -> list[int]:
    """The ids a materialized path names, the root's first."""
    return [int(part) for part in path.strip("/").split("/") if part]


class MaterializedPathMixin(models.Model):
    """Keeps ``path`` (``/00000001/00000007/``: ids, padded so it sorts) in step with ``parent``.

    A subtree is every row whose path starts with its root's.
    """

    path = models.CharField(max_length=255, editable=False, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Paths as stored, not as loaded: an ancestor may have moved since these instances were read.
        manager = type(self)._default_manager
        old_path = self._stored_path() if self.pk else ""
        created = not old_path
        self.path = old_path
        history = getattr(type(self), "history", None)
        if history is not None:
            self.skip_history_when_saving = True  # recorded below, once the path is known
        try:
            super().save(*args, **kwargs)
        finally:
            self.__dict__.pop("skip_history_when_saving", None)
        parent_path = (
            manager.filter(pk=self.parent_id).values_list("path", flat=True).first() if self.parent_id else "/"
        )
        new_path = f"{parent_path}{self.pk:08d}/"
        moved = []
        if new_path != old_path:
            manager.filter(pk=self.pk).update(path=new_path)
            if old_path:
                # A move: carry the subtree along.
                subtree = manager.filter(path__startswith=old_path).exclude(pk=self.pk)
                moved = list(subtree.values_list("pk", flat=True)) if history is not None else []
                subtree.update(path=Concat(Value(new_path), Substr("path", len(old_path) + 1)))
            self.path = new_path
        if history is not None:
            history.bulk_history_create([self], update=not created)
            if moved:
                history.bulk_history_create(manager.filter(pk__in=moved), update=True)

    def clean(self):
        super().clean()
        if self.pk and self.parent_id and self.parent.path.startswith(self._stored_path() or "\0"):
            raise ValidationError({"parent": _("A node cannot be moved under itself or one of its own children.")})

    def _stored_path(self) -> str:
        return type(self)._default_manager.filter(pk=self.pk).values_list("path", flat=True).first() or ""

    @property
    def path_ids(self) -> list[int]:
        """Its ancestors' ids and its own, the root's first."""
        return path_ids(self.path)


class AgencyQuerySet(models.QuerySet):
    def subtree_of(self, agency: "Agency"):
        return self.filter(path__startswith=agency.path)


class Agency(MaterializedPathMixin):
    """機關: a ministry or commission, or one of its sub-units (署, 司, 處, 中心)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = AgencyQuerySet.as_manager()

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="agency_not_own_parent"),
            models.CheckConstraint(condition=~Q(name=""), name="agency_name_not_empty"),
        ]

    def __str__(self):
        return self.name


class AgencyAlias(models.Model):
    """Another name in use for an agency: 數位部 for 數位發展部, 國科會 for 國家科學及技術委員會."""

    alias = models.CharField(_("alias"), max_length=100, unique=True)
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        verbose_name = _("agency alias")
        verbose_name_plural = _("agency aliases")
        ordering = ["alias"]
        constraints = [models.CheckConstraint(condition=~Q(alias=""), name="agency_alias_not_empty")]

    def __str__(self):
        return f"{self.alias} → {self.agency}"


class PlanQuerySet(models.QuerySet):
    pass


class Plan(models.Model):
    """方案: a multi-year programme such as 智慧國家方案 (2021-2025)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    start_year = models.PositiveSmallIntegerField(_("first year"))
    end_year = models.PositiveSmallIntegerField(_("last year"))
    secretariat = models.CharField(_("secretariat"), max_length=200, blank=True)
    report_due_days = models.PositiveSmallIntegerField(
        _("days after quarter end a report is due"), default=10, validators=[MaxValueValidator(120)]
    )
    calendar = models.CharField(
        _("calendar"),
        max_length=16,
        choices=Calendar.choices,
        default=Calendar.GREGORIAN,
        help_text=_(
            "How dates and periods are written for readers who have not chosen (as the plan's reports write them)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-start_year", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(end_year__gte=F("start_year")), name="plan_years_in_order"),
            models.CheckConstraint(condition=Q(report_due_days__lte=120), name="plan_report_due_days_range"),
        ]

    def __str__(self):
        return f"{self.name} ({self.start_year}-{self.end_year})"


class NodeKind(models.TextChoices):
    GROUP = "group", _("Group")  # 分組
    STRATEGY = "strategy", _("Strategy section")  # 推動策略 (二、…)
    MEASURE = "measure", _("Measure")  # 推動措施 ((一) …)
    SUBPROJECT = "subproject", _("Sub-project")  # 計畫 (1. …【主辦機關】)


class ControlLevel(models.TextChoices):
    """列管等級: how closely a sub-project is watched, from the Executive Yuan's own list down to the agency's."""

    EXECUTIVE_YUAN = "executive_yuan", _("Executive Yuan control")  # 院列管
    MINISTRY = "ministry", _("Ministry control")  # 部會列管
    AGENCY = "agency", _("Agency control")  # 自行列管


# Which kinds may stand directly under which: the official heading hierarchy
# 壹、 > 一、 > (一) > 1. > (1), with levels the report skips.
ALLOWED_PARENT_KINDS = {
    NodeKind.GROUP: (),
    NodeKind.STRATEGY: (NodeKind.GROUP,),
    NodeKind.MEASURE: (NodeKind.STRATEGY, NodeKind.MEASURE),
    NodeKind.SUBPROJECT: (NodeKind.STRATEGY, NodeKind.MEASURE, NodeKind.SUBPROJECT),
}


class PlanNodeQuerySet(models.QuerySet):
    def subprojects(self):
        return self.filter(kind=NodeKind.SUBPROJECT)

    def subtree_of(self, node: "PlanNode"):
        return self.filter(path__startswith=node.path)

    def of_agencies(self, agencies, *, role: str | None = None):
        links = NodeAgency.objects.filter(agency__in=agencies)
        if role:
            links = links.filter(role=role)
        return self.filter(pk__in=links.values("node_id"))

    def with_agency_links(self):
        """Each node read comes with its agency links (``PlanNode.agency_link_list``): one query for a
        page of nodes, or for each chunk that ``iterator()`` reads."""
        clone = self._chain()
        clone._iterable_class = NodeWithAgencyLinksIterable
        return clone


@dataclass(frozen=True, slots=True)
class AgencyLink:
    """A node's link to an agency as read with a page of nodes: its role and position, and the agency."""

    role: str
    position: int
    agency: "Agency"


class NodeWithAgencyLinksIterable(ModelIterable):
    """Nodes, each given ``prefetched_agency_links``. The links are read as rows, with one ``Agency``
    instance per agency shared by all its nodes, instead of two model instances for every link: on a
    500-row page that is most of what reading the links costs."""

    def __iter__(self):
        nodes = super().__iter__()
        size = self.chunk_size if self.chunked_fetch else None
        while chunk := list(itertools.islice(nodes, size)):
            attach_agency_links(chunk, using=self.queryset.db)
            yield from chunk


def attach_agency_links(nodes: list["PlanNode"], *, using: str = "default") -> None:
    """Give each node its agency links, ordered by role and position, in one query."""
    links = agency_links_of([node.pk for node in nodes], using=using) if nodes else {}
    for node in nodes:
        node.prefetched_agency_links = links.get(node.pk, [])


def agency_links_of(node_ids: list[int], *, using: str = "default") -> dict[int, list[AgencyLink]]:
    """The nodes' agency links by node id, ordered by role and position, in one query."""
    agency_fields = Agency._meta.concrete_fields
    rows = (
        NodeAgency.objects.using(using)
        .filter(node_id__in=node_ids)
        .order_by("node_id", "role", "position")
        .values_list("node_id", "role", "position", *(f"agency__{field.name}" for field in agency_fields))
    )
    attnames = [field.attname for field in agency_fields]
    agencies, links = {}, defaultdict(list)
    for node_id, role, position, *agency_values in rows:
        agency = agencies.get(agency_values[0])
        if agency is None:
            agency = agencies[agency_values[0]] = Agency.from_db(using, attnames, agency_values)
        links[node_id].append(AgencyLink(role, position, agency))
    return links


class PlanNode(MaterializedPathMixin):
    """A node of a plan's tree: group, strategy section, measure or sub-project."""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="nodes")
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NodeKind.choices)
    number = models.CharField(_("heading number"), max_length=16, blank=True, help_text=_("貳, 二, (一), 1, (1)"))
    position = models.PositiveIntegerField(_("position among siblings"), default=0)
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), blank=True)
    convening_agency = models.ForeignKey(
        Agency,
        verbose_name=_("convening agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="convened_groups",
    )
    agencies = models.ManyToManyField(Agency, through="NodeAgency", related_name="nodes", blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    control_level = models.CharField(
        _("control level"),
        max_length=16,
        choices=ControlLevel.choices,
        default=ControlLevel.AGENCY,
        help_text=_("列管等級: set by the secretariat; it decides the reporting rhythm and the lag thresholds."),
    )
    budget = models.DecimalField(
        _("budget (TWD)"),
        max_digits=15,
        decimal_places=0,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    outline_key = models.CharField(
        _("outline key"),
        max_length=120,
        blank=True,
        help_text=_("Where the node stands in the imported outline; a re-import updates the node with the same key."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = PlanNodeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("plan-tree node")
        verbose_name_plural = _("plan-tree nodes")
        ordering = ["plan_id", "path"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NodeKind.values), name="node_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=NodeKind.GROUP, parent__isnull=True)
                | (~Q(kind=NodeKind.GROUP) & Q(parent__isnull=False)),
                name="node_group_is_root",
                violation_error_message=_("Groups stand at the top of the plan tree; every other node has a parent."),
            ),
            models.CheckConstraint(
                condition=Q(kind=NodeKind.GROUP) | Q(convening_agency__isnull=True),
                name="node_convening_agency_only_on_groups",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="node_dates_in_order",
                violation_error_message=_("The end date must not be before the start date."),
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="node_budget_not_negative"
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="node_not_own_parent"),
            models.CheckConstraint(condition=Q(control_level__in=ControlLevel.values), name="node_control_level_valid"),
            models.UniqueConstraint(
                fields=["plan", "outline_key"], condition=~Q(outline_key=""), name="node_outline_key_unique"
            ),
        ]
        # (plan, path) is the tree order every list pages through: a page reads its rows, not all of them.
        indexes = [models.Index(fields=["plan", "kind"]), models.Index(fields=["plan", "path"], name="node_tree_order")]

    def __str__(self):
        return f"{self.number} {self.title}".strip()

    def clean(self):
        errors = {}
        if self.kind not in NodeKind.values:
            return  # the field's own validation names the problem
        if self.parent_id:
            if self.parent.plan_id != self.plan_id:
                errors["parent"] = _("The parent belongs to another plan.")
            elif self.parent.kind not in ALLOWED_PARENT_KINDS[self.kind]:
                errors["parent"] = _("A %(kind)s cannot stand under a %(parent)s.") % {
                    "kind": self.get_kind_display(),
                    "parent": self.parent.get_kind_display(),
                }
        if errors:
            raise ValidationError(errors)
        super().clean()

    @property
    def agency_link_list(self) -> list[AgencyLink]:
        """Its agency links (each with ``role`` and ``agency``): as read with the node
        (``PlanNodeQuerySet.with_agency_links``, used by ``projects.selectors.node_list``), else read now."""
        if hasattr(self, "prefetched_agency_links"):
            return self.prefetched_agency_links
        return agency_links_of([self.pk], using=self._state.db or "default").get(self.pk, [])

    def agencies_by_role(self) -> dict[str, list[Agency]]:
        """Its agencies under each part they play (``AgencyRole``), in order (the links come ordered by role)."""
        links = itertools.groupby(self.agency_link_list, key=attrgetter("role"))
        return {part: [link.agency for link in group] for part, group in links}

    def agencies_in_role(self, role: str) -> list[Agency]:
        return self.agencies_by_role().get(role, [])

    @property
    def lead_agencies(self):
        return self.agencies_in_role(AgencyRole.LEAD)

    @property
    def co_agencies(self):
        return self.agencies_in_role(AgencyRole.CO)


class AgencyRole(models.TextChoices):
    LEAD = "lead", _("Lead agency")  # 主辦機關
    CO = "co", _("Co-agency")  # 協辦機關


class NodeAgency(models.Model):
    node = models.ForeignKey(PlanNode, on_delete=models.CASCADE, related_name="agency_links")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="node_links")
    role = models.CharField(_("role"), max_length=8, choices=AgencyRole.choices, default=AgencyRole.LEAD)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("node agency")
        verbose_name_plural = _("node agencies")
        ordering = ["node_id", "role", "position"]
        constraints = [
            models.UniqueConstraint(fields=["node", "agency"], name="node_agency_unique"),
            models.CheckConstraint(condition=Q(role__in=AgencyRole.values), name="node_agency_role_valid"),
        ]

    def __str__(self):
        return f"{self.agency} ({self.get_role_display()})"


class MilestoneQuerySet(models.QuerySet):
    pass


class Milestone(models.Model):
    """查核點/里程碑 of a sub-project."""

    node = models.ForeignKey(
        PlanNode, verbose_name=_("sub-project"), on_delete=models.CASCADE, related_name="milestones"
    )
    title = models.CharField(_("title"), max_length=300)
    planned_date = models.DateField(_("planned date"))
    forecast_date = models.DateField(_("forecast date"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    weight = models.DecimalField(
        _("weight (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    is_critical = models.BooleanField(_("critical"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = MilestoneQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["node_id", "planned_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0) & Q(weight__lte=100), name="milestone_weight_range"),
            models.UniqueConstraint(fields=["node", "title"], name="milestone_title_unique_per_node"),
        ]
        indexes = [
            models.Index(fields=["node"], condition=Q(completed_on__isnull=True), name="milestone_open_by_node"),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.node_id and self.node.kind != NodeKind.SUBPROJECT:
            raise ValidationError({"node": _("Milestones belong to sub-projects.")})


QUARTERS = (1, 2, 3, 4)
ALLOCATION_FIELDS = tuple(f"allocation_q{quarter}" for quarter in QUARTERS)  # 分配數 by quarter
LEDGER_FIELDS = ("appropriation", *ALLOCATION_FIELDS)  # what the secretariat sets of a budget year


class BudgetYear(models.Model):
    """A sub-project's budget for one fiscal year (the calendar year): the appropriation (預算數) and its
    allocation schedule (分配數) by quarter, as the budget office approved them."""

    node = models.ForeignKey(
        PlanNode, verbose_name=_("sub-project"), on_delete=models.CASCADE, related_name="budget_years"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    appropriation = models.DecimalField(
        _("appropriation (TWD)"), max_digits=15, decimal_places=0, validators=[MinValueValidator(Decimal(0))]
    )
    allocation_q1 = models.DecimalField(
        _("allocation, first quarter (TWD)"), max_digits=15, decimal_places=0, default=Decimal(0)
    )
    allocation_q2 = models.DecimalField(
        _("allocation, second quarter (TWD)"), max_digits=15, decimal_places=0, default=Decimal(0)
    )
    allocation_q3 = models.DecimalField(
        _("allocation, third quarter (TWD)"), max_digits=15, decimal_places=0, default=Decimal(0)
    )
    allocation_q4 = models.DecimalField(
        _("allocation, fourth quarter (TWD)"), max_digits=15, decimal_places=0, default=Decimal(0)
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("budget year")
        verbose_name_plural = _("budget years")
        ordering = ["node_id", "year"]
        constraints = [
            models.UniqueConstraint(fields=["node", "year"], name="budget_year_one_per_subproject_year"),
            models.CheckConstraint(condition=Q(appropriation__gte=0), name="budget_year_appropriation_not_negative"),
            models.CheckConstraint(
                condition=Q(allocation_q1__gte=0, allocation_q2__gte=0, allocation_q3__gte=0, allocation_q4__gte=0),
                name="budget_year_allocations_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    appropriation__gte=F("allocation_q1") + F("allocation_q2") + F("allocation_q3") + F("allocation_q4")
                ),
                name="budget_year_schedule_within_appropriation",
                violation_error_message=_(
                    "The allocations of the four quarters add up to more than the appropriation."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.node} {self.year}"

    def allocation(self, quarter: int) -> Decimal:
        """分配數 of one quarter."""
        return getattr(self, f"allocation_q{quarter}")

    def allocated_to(self, quarter: int) -> Decimal:
        """累計分配數: the allocations of the year's quarters up to and including ``quarter``."""
        return sum((self.allocation(q) for q in QUARTERS if q <= quarter), Decimal(0))

    @property
    def schedule(self) -> list[Decimal]:
        return [self.allocation(q) for q in QUARTERS]

    @property
    def etag(self) -> str:
        """The ledger as last written, as an entity tag (quotes included): a client sends it as If-Match."""
        return f'"{self.pk}-{self.updated_at.astimezone(datetime.UTC):%Y%m%d%H%M%S%f}"'


class Tombstone(models.Model):
    """A deleted row of an API collection, so a mirror kept with ``updated_since`` can drop it too."""

    resource = models.CharField(_("collection"), max_length=32)
    object_id = models.BigIntegerField(_("id"))
    deleted_at = models.DateTimeField(_("deleted at"), default=timezone.now)

    class Meta:
        verbose_name = _("deletion")
        verbose_name_plural = _("deletions")
        ordering = ["deleted_at", "id"]
        indexes = [models.Index(fields=["resource", "deleted_at"])]

    def __str__(self):
        return f"{self.resource}/{self.object_id}"
