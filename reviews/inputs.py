"""What a client may send to reviews, checked once: the API reads request bodies with these, and the
console checks what was typed on its forms with the same classes, so a page refuses what the API refuses,
with the same words, next to the field.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from gstp.calendar import PERIOD_FORMS, QUARTER_FORMS
from gstp.calendar_fields import DateField, DateInputsMixin
from gstp.serializers import FastRepresentationMixin
from indicators.models import Indicator
from projects.models import LEDGER_FIELDS, BudgetYear, ControlLevel, Milestone, NodeKind, Plan, PlanNode

from .models import TEXT_MAX_CHARS, CommentKind, QuarterlyReport, ReportIndicatorValue, ReportMilestoneEntry
from .models.reports import CONTENT_FIELDS
from .periods import Quarter, parse_period

# Fields a client may have sent before that now come from elsewhere, with where they come from.
FORMER_FIELDS = {
    "budget_allocated": _(
        "The allocation to date comes from the sub-project's budget ledger (/api/v1/budgets/), set by the "
        "Executive Secretariat: do not send it."
    ),
}


# Refuse fields the serializer does not know, instead of silently dropping them. (A comment: the OpenAPI
# schema takes a serializer's description from the first docstring of its classes.)
class StrictFieldsMixin:
    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [FORMER_FIELDS.get(name, _("Unknown or read-only field."))] for name in unknown}
                )
        return super().to_internal_value(data)


class MilestoneEntrySerializer(
    FastRepresentationMixin, StrictFieldsMixin, DateInputsMixin, serializers.ModelSerializer
):
    """What a report says of one of the sub-project's milestones: done on a date, or a new forecast."""

    row_only = True

    milestone = serializers.PrimaryKeyRelatedField(queryset=Milestone.objects.all())

    class Meta:
        model = ReportMilestoneEntry
        fields = ["milestone", "completed_on", "forecast_date", "note"]


class IndicatorValueSerializer(FastRepresentationMixin, StrictFieldsMixin, serializers.ModelSerializer):
    """A value a report gives for one of the sub-project's indicators: a number, or text for a
    qualitative one."""

    row_only = True

    indicator = serializers.PrimaryKeyRelatedField(queryset=Indicator.objects.all())

    class Meta:
        model = ReportIndicatorValue
        fields = ["indicator", "value", "text"]


class PeriodField(serializers.CharField):
    default_error_messages = {"invalid_period": QUARTER_FORMS}
    parse = staticmethod(Quarter.parse)

    def to_internal_value(self, data):
        try:
            return self.parse(super().to_internal_value(data))
        except ValueError:
            self.fail("invalid_period")

    def to_representation(self, value):
        return str(value)


class ReportPeriodField(PeriodField):
    """A quarterly report's quarter (2024Q3) or a monthly update's month (2024-08)."""

    default_error_messages = {"invalid_period": PERIOD_FORMS}
    parse = staticmethod(parse_period)


REPORT_CONTENT_FIELDS = [*CONTENT_FIELDS, "milestone_entries", "indicator_values"]


class ReportUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """The fields of a draft or returned report to change; `milestone_entries` and `indicator_values`,
    when sent, replace the report's lists. Unknown fields are refused."""

    milestone_entries = MilestoneEntrySerializer(many=True, required=False)
    indicator_values = IndicatorValueSerializer(many=True, required=False)

    class Meta:
        model = QuarterlyReport
        fields = REPORT_CONTENT_FIELDS
        extra_kwargs = {
            name: {"max_length": TEXT_MAX_CHARS}
            for name in ["achievements", "delay_reasons", "countermeasures", "progress_explanation"]
        }


class SubprojectField(serializers.PrimaryKeyRelatedField):
    """A sub-project by id: an id of no node "does not exist", a node of another kind is named as such."""

    def __init__(self, **kwargs):
        super().__init__(queryset=PlanNode.objects.all(), **kwargs)

    def to_internal_value(self, data):
        node = super().to_internal_value(data)
        if node.kind != NodeKind.SUBPROJECT:
            message = _("Node %(id)s (%(kind)s) is not a sub-project: reports are filed for sub-projects.")
            raise serializers.ValidationError(message % {"id": node.pk, "kind": node.get_kind_display()})
        return node


class ReportCreateSerializer(ReportUpdateSerializer):
    """A new draft report of a sub-project for a quarter (2024Q3), or a monthly update (月報) for a month
    (2024-08) of a sub-project whose control level reports monthly, with its figures so far. A monthly update
    carries progress, spent, a note (`achievements`) and delay reasons only. Unknown fields are refused."""

    project = SubprojectField()
    period = ReportPeriodField()

    class Meta(ReportUpdateSerializer.Meta):
        fields = ["project", "period", *REPORT_CONTENT_FIELDS]


class ReturnSerializer(StrictFieldsMixin, serializers.Serializer):
    """Why a submitted report goes back to its agency."""

    reason = serializers.CharField(max_length=2000, help_text=_("Why the report goes back to the agency."))


class ReopenSerializer(StrictFieldsMixin, serializers.Serializer):
    """Why an accepted report goes back to its agency for correction."""

    reason = serializers.CharField(max_length=2000, help_text=_("What must be corrected, and why."))


class WithdrawSerializer(StrictFieldsMixin, serializers.Serializer):
    """A lead takes back its submitted report, optionally saying why."""

    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EmptySerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class LockCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """A quarter of a plan to close to filing and edits."""

    plan = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all())
    period = PeriodField()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class LockExceptionCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """A sub-project let into a locked quarter until a date (inclusive)."""

    project = SubprojectField()
    expires_on = DateField()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ResolveSerializer(StrictFieldsMixin, serializers.Serializer):
    """Why a flag is resolved, and whether to override it."""

    reason = serializers.CharField(max_length=2000)
    override = serializers.BooleanField(
        default=False, help_text=_("Keep the next scans from reopening it unless its severity gets worse.")
    )


class ControlLevelSerializer(StrictFieldsMixin, serializers.Serializer):
    """A sub-project's new control level (列管等級), and why: recorded in its history."""

    control_level = serializers.ChoiceField(
        choices=ControlLevel.choices,
        help_text=_("executive_yuan (院列管), ministry (部會列管) or agency (自行列管)."),
    )
    # The history keeps a reason of up to 100 characters.
    reason = serializers.CharField(max_length=100)


class CommentSerializer(StrictFieldsMixin, serializers.Serializer):
    """A comment on a flag, or a lead's improvement plan (改善措施)."""

    body = serializers.CharField(max_length=5000)
    kind = serializers.ChoiceField(choices=CommentKind.choices, default=CommentKind.COMMENT)


class FileUploadSerializer(StrictFieldsMixin, serializers.Serializer):
    """One evidence file (佐證資料), sent as `multipart/form-data` in the field `file`. Its kind is read from its
    content, not from its name or the part's Content-Type: PDF; Word, Excel and PowerPoint (.doc, .docx, .xls,
    .xlsx, .ppt, .pptx); OpenDocument (.odt, .ods, .odp); PNG, JPEG, GIF, WebP and TIFF images; CSV (UTF-8 or
    Big5); ZIP. The name is kept as sent, Chinese included."""

    file = serializers.FileField(allow_empty_file=False, use_url=False)

    def to_internal_value(self, data):
        if hasattr(data, "getlist") and len(data.getlist("file")) > 1:
            raise serializers.ValidationError({"file": [_("Send one file per request.")]})
        return super().to_internal_value(data)


class BudgetYearUpdateSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A year's appropriation (預算數) or allocations (分配數) to change, in whole TWD; the four allocations add
    up to at most the appropriation. Unknown fields are refused."""

    class Meta:
        model = BudgetYear
        fields = LEDGER_FIELDS
        extra_kwargs = {name: {"min_value": 0} for name in LEDGER_FIELDS}


class BudgetYearCreateSerializer(BudgetYearUpdateSerializer):
    """A sub-project's budget for a year it has none for: the appropriation and its allocation by quarter
    (those not sent are 0). Unknown fields are refused."""

    project = SubprojectField()
    year = serializers.IntegerField(min_value=1900, max_value=9999)

    class Meta(BudgetYearUpdateSerializer.Meta):
        fields = ["project", "year", *LEDGER_FIELDS]


class MilestoneChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    """A milestone of the sub-project with its new planned date, its new weight (%), or both."""

    milestone = serializers.PrimaryKeyRelatedField(queryset=Milestone.objects.all())
    planned_date = DateField(required=False)
    weight = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False)


class BudgetChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    """A fiscal year's new appropriation (預算數) and its allocation schedule (分配數) by quarter, in TWD."""

    year = serializers.IntegerField(min_value=2000, max_value=2100)
    appropriation = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0)
    allocation_q1 = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0, default=0)
    allocation_q2 = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0, default=0)
    allocation_q3 = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0, default=0)
    allocation_q4 = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0, default=0)


class TargetChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    """A new target (目標值) of one of the sub-project's indicators, for a year (quarter 0) or a quarter."""

    indicator = serializers.PrimaryKeyRelatedField(queryset=Indicator.objects.all())
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    quarter = serializers.IntegerField(min_value=0, max_value=4, default=0)
    value = serializers.DecimalField(max_digits=20, decimal_places=4)


class RevisionUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """What a requested revision changes (a key sent replaces the revision's), and why. Unknown fields are
    refused."""

    reason = serializers.CharField(max_length=5000, help_text=_("Why the plan should be revised."))
    end_date = DateField(required=False, allow_null=True, help_text=_("The sub-project's new end date."))
    milestones = MilestoneChangeSerializer(many=True, required=False)
    budgets = BudgetChangeSerializer(many=True, required=False)
    indicator_targets = TargetChangeSerializer(many=True, required=False)


class RevisionCreateSerializer(RevisionUpdateSerializer):
    """A request to revise a sub-project's baseline (計畫修正): its end date, milestones' planned dates and
    weights, a year's budget or indicator targets, with the reason. Unknown fields are refused."""

    project = SubprojectField()


class DecisionSerializer(StrictFieldsMixin, serializers.Serializer):
    """Why a revision is approved (optional) or rejected (required)."""

    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
