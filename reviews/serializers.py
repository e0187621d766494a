from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.serializers import FastRepresentationMixin
from projects.models import BudgetYear

from . import access
from .inputs import REPORT_CONTENT_FIELDS, IndicatorValueSerializer, MilestoneEntrySerializer
from .models import (
    Baseline,
    EvidenceFile,
    LockException,
    PlanRevision,
    QuarterLock,
    QuarterlyReport,
    ReportEvent,
    ReportKind,
    RevisionEvent,
)


class ReportSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A quarterly report (季報) of a sub-project: progress and budget to date, milestone entries,
    indicator values and the narrative, with where it stands in review. Send `etag` as `If-Match` to
    change it."""

    row_only = True

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    plan = serializers.IntegerField(source="node.plan_id", read_only=True)
    period = serializers.CharField(
        read_only=True,
        help_text=_("The quarter of a quarterly report (2024Q3), or the month of a monthly update (2024-08)."),
    )
    kind = serializers.ChoiceField(choices=ReportKind.choices, read_only=True)
    etag = serializers.CharField(
        read_only=True,
        help_text=_('The report\'s version as an entity tag, quotes included ("16-3"): send it as If-Match.'),
    )
    is_late = serializers.SerializerMethodField()
    budget_allocated = serializers.DecimalField(
        max_digits=15,
        decimal_places=0,
        read_only=True,
        allow_null=True,
        help_text=_(
            "累計分配數: what the sub-project's budget ledger of the year (`/api/v1/budgets/`) allocates up to "
            "the report's quarter; null without a ledger. Read-only: the Executive Secretariat sets the ledger."
        ),
    )
    execution_rate = serializers.DecimalField(
        max_digits=7,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text=_(
            "經費執行率 (%): (budget_spent + budget_payables + budget_savings) ÷ budget_allocated × 100, to one "
            "decimal; null without an allocation or a spent figure."
        ),
    )
    milestone_entries = MilestoneEntrySerializer(source="milestone_entry_list", many=True, read_only=True)
    indicator_values = IndicatorValueSerializer(source="indicator_value_list", many=True, read_only=True)

    class Meta:
        model = QuarterlyReport
        fields = [
            "id",
            "project",
            "plan",
            "period",
            "kind",
            "year",
            "quarter",
            "month",
            "status",
            "version",
            "etag",
            *REPORT_CONTENT_FIELDS,
            "budget_allocated",
            "execution_rate",
            "due_on",
            "is_late",
            "submitted_on_time",
            "first_submitted_at",
            "submitted_at",
            "returned_at",
            "return_reason",
            "endorsed_at",
            "accepted_at",
            "reopened_at",
            "reopen_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_is_late(self, report) -> bool:
        return report.is_late


class ReportEventSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """One step of a report's history: who did what and when, the status before and after, the fields
    it changed (`changes`: each field's name to the pair of its values before and after) and a return's
    reason."""

    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = ReportEvent
        fields = ["id", "action", "actor", "at", "from_status", "to_status", "version", "changes", "reason"]
        read_only_fields = fields


class OwedReportSerializer(serializers.Serializer):
    """A quarterly report or monthly update an agency still owes: the sub-project, the quarter or month, its
    due date and the report filed so far, if any."""

    project = serializers.IntegerField(source="project.pk")
    project_title = serializers.CharField(source="project.title")
    period = serializers.CharField()
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    due_on = serializers.DateField()
    status = serializers.CharField()
    report = serializers.IntegerField(source="report_id", allow_null=True)
    is_overdue = serializers.BooleanField()


class LockExceptionSerializer(serializers.ModelSerializer):
    """A sub-project allowed to file and edit a locked quarter until `expires_on` (inclusive)."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)

    class Meta:
        model = LockException
        fields = ["id", "project", "expires_on", "reason", "granted_at"]
        read_only_fields = fields


class QuarterLockSerializer(serializers.ModelSerializer):
    """A plan's quarter closed to filing and edits (review goes on), with the sub-projects let in again."""

    period = serializers.CharField(read_only=True)
    exceptions = LockExceptionSerializer(many=True, read_only=True)

    class Meta:
        model = QuarterLock
        fields = ["id", "plan", "period", "year", "quarter", "reason", "locked_at", "exceptions"]
        read_only_fields = fields


class EvidenceFileSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """An evidence file (佐證資料) of a report or of a flag comment: its name as uploaded, size in bytes, kind (as
    read from its content), SHA-256, who uploaded it and when, whether it is frozen (it was part of the report
    when the report was endorsed or accepted, and stays), and the path to download it from."""

    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)
    frozen = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFile
        fields = ["id", "name", "size", "content_type", "sha256", "uploaded_by", "uploaded_at", "frozen", "download"]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_frozen(self, evidence) -> bool:
        return evidence.frozen_at is not None

    @extend_schema_field(serializers.CharField(help_text=_("Path of the file's content on this server.")))
    def get_download(self, evidence) -> str:
        if evidence.report_id is not None:
            return reverse("report-file", kwargs={"id": evidence.report_id, "file_id": evidence.pk})
        kwargs = {"id": evidence.comment.flag_id, "comment_id": evidence.comment_id, "file_id": evidence.pk}
        return reverse("flag-comment-file", kwargs=kwargs)


class BudgetYearSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A sub-project's budget for one fiscal year (the calendar year): the appropriation (預算數) and its
    allocation (分配數) by quarter, in whole TWD, set by the Executive Secretariat. A report's
    `budget_allocated` is the allocations up to its quarter. `frozen`: a report of the year has been accepted,
    and the budget changes only through a plan revision (`/api/v1/revisions/`). Send `etag` as `If-Match` to
    change it."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    plan = serializers.IntegerField(source="node.plan_id", read_only=True)
    allocated = serializers.SerializerMethodField(help_text=_("The four quarters' allocations together."))
    frozen = serializers.BooleanField(
        read_only=True, help_text=_("A report of the year is accepted: change the budget through a plan revision.")
    )
    etag = serializers.CharField(read_only=True, help_text=_("The budget's version: send it as If-Match."))

    class Meta:
        model = BudgetYear
        fields = [
            "id",
            "project",
            "plan",
            "year",
            "appropriation",
            "allocation_q1",
            "allocation_q2",
            "allocation_q3",
            "allocation_q4",
            "allocated",
            "frozen",
            "etag",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=15, decimal_places=0))
    def get_allocated(self, ledger) -> str:
        return str(ledger.allocated_to(4))


class MilestoneChangeOutSerializer(serializers.Serializer):
    milestone = serializers.IntegerField()
    planned_date = serializers.DateField(required=False)
    weight = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)


class BudgetChangeOutSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    appropriation = serializers.DecimalField(max_digits=15, decimal_places=0)
    allocation_q1 = serializers.DecimalField(max_digits=15, decimal_places=0)
    allocation_q2 = serializers.DecimalField(max_digits=15, decimal_places=0)
    allocation_q3 = serializers.DecimalField(max_digits=15, decimal_places=0)
    allocation_q4 = serializers.DecimalField(max_digits=15, decimal_places=0)


class TargetChangeOutSerializer(serializers.Serializer):
    indicator = serializers.IntegerField()
    year = serializers.IntegerField()
    quarter = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=20, decimal_places=4)


class RevisionSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A plan revision (計畫修正) of a sub-project: the changes it proposes to the baseline (end date,
    milestones' planned dates and weights, a year's budget, indicator targets), why, and where it stands:
    requested, endorsed by the ministry (初核), approved (核定: `baseline_version` is the baseline it made),
    rejected (駁回) or withdrawn. Send `etag` as `If-Match` to change it."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    plan = serializers.IntegerField(source="node.plan_id", read_only=True)
    etag = serializers.CharField(read_only=True)
    end_date = serializers.SerializerMethodField()
    milestones = serializers.SerializerMethodField()
    budgets = serializers.SerializerMethodField()
    indicator_targets = serializers.SerializerMethodField()
    requested_by = serializers.CharField(
        source="requested_by.username",
        read_only=True,
        allow_null=True,
        help_text=_("Null for who sees the revision only because it is approved (the baseline in force)."),
    )
    endorsed_by = serializers.CharField(source="endorsed_by.username", read_only=True, allow_null=True, default=None)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = PlanRevision
        fields = [
            "id",
            "project",
            "plan",
            "status",
            "version",
            "etag",
            "reason",
            "end_date",
            "milestones",
            "budgets",
            "indicator_targets",
            "decision_reason",
            "baseline_version",
            "requested_by",
            "requested_at",
            "endorsed_by",
            "endorsed_at",
            "decided_by",
            "decided_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, revision):
        data = super().to_representation(revision)
        user = getattr(self.context.get("request"), "user", None)
        if user is None or not access.can_see_revision_people(user, revision):
            data.update(requested_by=None, endorsed_by=None, decided_by=None)
        return data

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_end_date(self, revision):
        return revision.changes.get("end_date")

    @extend_schema_field(MilestoneChangeOutSerializer(many=True))
    def get_milestones(self, revision):
        return revision.changes.get("milestones", [])

    @extend_schema_field(BudgetChangeOutSerializer(many=True))
    def get_budgets(self, revision):
        return revision.changes.get("budgets", [])

    @extend_schema_field(TargetChangeOutSerializer(many=True))
    def get_indicator_targets(self, revision):
        return revision.changes.get("indicator_targets", [])


class RevisionEventSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """One step of a revision's history: who did what and when, the status before and after, the changes
    an edit made (`before` and `after`) and a decision's reason."""

    actor = serializers.CharField(source="actor.username", read_only=True)

    class Meta:
        model = RevisionEvent
        fields = ["id", "action", "actor", "at", "from_status", "to_status", "version", "changes", "reason"]
        read_only_fields = fields


class BaselineVersionSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A baseline version (基準版本) of a sub-project, whole: version 1 is the original plan (原計畫), each later
    one the plan as an approved revision (`revision`) left it. `content` holds the start and end dates, the
    milestones' planned dates and weights, the budget of each year (appropriation and the four quarterly
    allocations) and the indicator targets."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    created_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=_("When it was recorded; null for an original never revised.")
    )

    class Meta:
        model = Baseline
        fields = ["project", "version", "revision", "created_at", "content"]
        read_only_fields = fields
