from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.calendar_fields import DateInputsMixin
from gstp.serializers import FastRepresentationMixin

from .models import Indicator, IndicatorActual, IndicatorTarget
from .selectors import indicator_evaluate, owner_kind


class TargetSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """An indicator's target for a year (`quarter` 0) or a quarter."""

    class Meta:
        model = IndicatorTarget
        fields = ["year", "quarter", "value"]


class ActualSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """An indicator's actual value for a year (`quarter` 0) or a quarter: from an accepted report, or
    recorded by the Executive Secretariat for plan- and group-level indicators."""

    class Meta:
        model = IndicatorActual
        fields = ["year", "quarter", "value", "text", "is_estimate", "as_of", "source"]


class EvaluationSerializer(serializers.Serializer):
    """How an indicator stands on `as_of`: its latest actual against the value expected by then (linear
    from the baseline to the target, or the period's own target), and the resulting status."""

    as_of = serializers.DateField()
    actual = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    expected = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    target = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    target_year = serializers.IntegerField(allow_null=True)
    ratio = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    status = serializers.CharField(help_text=_("met, on_track, behind, cannot_reach, no_data or qualitative"))


class BaselineSerializer(serializers.Serializer):
    """The value an indicator started from, and its year."""

    year = serializers.IntegerField(source="baseline_year")
    value = serializers.DecimalField(source="baseline_value", max_digits=24, decimal_places=4)

    def to_representation(self, indicator):
        return None if indicator.baseline_year is None else super().to_representation(indicator)


class IndicatorSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A performance indicator (績效指標) of the plan (總體指標), a group (主要績效目標) or a sub-project,
    with its baseline, targets, actuals and evaluation."""

    owner = serializers.SerializerMethodField(help_text=_("plan, group, strategy, measure or subproject"))
    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True, allow_null=True)
    baseline = BaselineSerializer(source="*", read_only=True, allow_null=True)
    targets = TargetSerializer(many=True, read_only=True)
    actuals = ActualSerializer(many=True, read_only=True)
    evaluation = serializers.SerializerMethodField()

    class Meta:
        model = Indicator
        fields = [
            "id",
            "plan",
            "project",
            "owner",
            "key",
            "dimension",
            "name",
            "unit",
            "measure",
            "direction",
            "is_cumulative",
            "baseline",
            "targets",
            "actuals",
            "evaluation",
            "note",
            "updated_at",
        ]

    def get_owner(self, indicator) -> str:
        return owner_kind(indicator)

    @extend_schema_field(EvaluationSerializer)
    def get_evaluation(self, indicator):
        evaluation = self.context.get("evaluations", {}).get(indicator.pk) or indicator_evaluate(
            indicator, on=self.context.get("as_of")
        )
        return EvaluationSerializer(evaluation).data


class ActualWriteSerializer(DateInputsMixin, serializers.ModelSerializer):
    """A plan- or group-level indicator's actual value, with where it comes from; a second one for the
    same year and quarter replaces the first."""

    class Meta:
        model = IndicatorActual
        fields = ["year", "quarter", "value", "text", "is_estimate", "as_of", "source"]
        extra_kwargs = {
            "source": {"required": True, "allow_blank": False},
            "as_of": {"required": True},
            # A year the evaluation can place on a calendar (year 0 has no 31 December).
            "year": {"min_value": 1900, "max_value": 2100},
            "quarter": {"min_value": 0, "max_value": 4},
        }


class OverallRowSerializer(serializers.Serializer):
    """A row of the plan's overall indicators (總體指標): final target, latest result and whether it
    is met."""

    indicator = serializers.IntegerField(source="indicator.pk")
    dimension = serializers.CharField(source="indicator.dimension")
    name = serializers.CharField(source="indicator.name")
    unit = serializers.CharField(source="indicator.unit")
    target_year = serializers.IntegerField(allow_null=True)
    target = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    result_year = serializers.IntegerField(allow_null=True)
    result = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    result_is_estimate = serializers.BooleanField()
    met = serializers.BooleanField(allow_null=True)
