"""What a client may send to the year's assessment. Lists of criteria, bands and scores are checked entry by
entry by the services, whose errors name the entry (``criteria[1].weight``, ``scores[0].note``); these classes
check the body's shape and refuse fields they do not know."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gstp.calendar_fields import DateField, DateInputsMixin
from projects.models import Plan
from reviews.inputs import StrictFieldsMixin

from .models import NOTE_MAX_CHARS


class CriterionInputSerializer(serializers.Serializer):
    """One weighted criterion: its key (kept from year to year), name, weight (the weights add up to 100), where
    its suggested score comes from, and what it judges."""

    key = serializers.SlugField(max_length=30)
    name = serializers.CharField(max_length=100)
    weight = serializers.DecimalField(max_digits=5, decimal_places=2)
    source = serializers.CharField(
        required=False, allow_blank=True, help_text="progress, budget, targets or management; empty for no suggestion"
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_CHARS)


class BandInputSerializer(serializers.Serializer):
    """A grade and the lowest total that earns it; the lowest grade starts at 0."""

    name = serializers.CharField(max_length=20)
    minimum = serializers.DecimalField(max_digits=5, decimal_places=2)


class ScoreInputSerializer(serializers.Serializer):
    """One criterion's score (0 to 100, to two places) and the note beside it: the lead's justification, or a
    reviewer's reason for changing the score below."""

    criterion = serializers.CharField(help_text=_("The criterion's key."))
    score = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX_CHARS)


@extend_schema_field(CriterionInputSerializer(many=True))
class CriteriaField(serializers.ListField):
    child = serializers.JSONField()


@extend_schema_field(BandInputSerializer(many=True))
class BandsField(serializers.ListField):
    child = serializers.JSONField()


@extend_schema_field(ScoreInputSerializer(many=True))
class ScoresField(serializers.ListField):
    child = serializers.JSONField()


class SchemeCalendarMixin(DateInputsMixin, serializers.Serializer):
    self_due = DateField(required=False, help_text=_("Self-assessments (自評) due."))
    review_due = DateField(required=False, help_text=_("The ministries' reviews (初核) due."))
    final_due = DateField(required=False, help_text=_("The secretariat's reviews (複核) due."))
    publish_on = DateField(required=False, help_text=_("Publication planned on."))
    criteria = CriteriaField(required=False)
    bands = BandsField(required=False)


class SchemeOpenSerializer(StrictFieldsMixin, SchemeCalendarMixin):
    """A plan's assessment of a year, opened by the Executive Secretariat: every sub-project running that year
    gets an assessment with its suggested scores. Criteria, bands and calendar are the usual ones unless sent."""

    plan = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all())
    year = serializers.IntegerField(min_value=1911, max_value=2200)


class SchemeUpdateSerializer(StrictFieldsMixin, SchemeCalendarMixin):
    """A change of the calendar, the criteria (until a self-assessment is submitted) or the grade bands (until
    publication). A list sent replaces the whole list."""


class ScoresSerializer(StrictFieldsMixin, serializers.Serializer):
    """The scores of the level whose turn it is: the lead's self-assessment (自評), the ministry's review (初核)
    or the secretariat's (複核). Criteria left out keep what they had."""

    scores = ScoresField()


class ReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    """Why the assessment goes back down the chain, or is reopened."""

    reason = serializers.CharField(max_length=NOTE_MAX_CHARS)


class OptionalReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    """A lead takes back its self-assessment, optionally saying why."""

    reason = serializers.CharField(max_length=NOTE_MAX_CHARS, required=False, allow_blank=True, default="")


class NoBodySerializer(StrictFieldsMixin, serializers.Serializer):
    """No fields: the step is the request."""
