from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from gstp.serializers import FastRepresentationMixin

from .models import FlagComment, LagFlag


class FlagCommentSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = FlagComment
        fields = ["id", "author", "kind", "body", "created_at"]
        read_only_fields = fields


class PublicFlagSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """What every signed-in user (and other systems) may see of a flag."""

    project = serializers.PrimaryKeyRelatedField(source="node", read_only=True)
    period = serializers.CharField(read_only=True)
    resolution = serializers.CharField(
        read_only=True, help_text=_("cleared, resolved or overridden; empty while the flag is active")
    )

    class Meta:
        model = LagFlag
        fields = [
            "id",
            "project",
            "rule",
            "period",
            "severity",
            "status",
            "evidence",
            "opened_at",
            "severity_raised_at",
            "acknowledged_at",
            "resolved_at",
            "resolution",
            "updated_at",
        ]
        read_only_fields = fields


class FlagSerializer(PublicFlagSerializer):
    """The secretariat's and the sub-project's leads' view, with the thread."""

    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, default=None, allow_null=True
    )
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, default=None, allow_null=True)
    comments = FlagCommentSerializer(many=True, read_only=True)

    class Meta(PublicFlagSerializer.Meta):
        fields = [
            *PublicFlagSerializer.Meta.fields,
            "acknowledged_by",
            "resolved_by",
            "resolution_reason",
            "comments",
        ]
        read_only_fields = fields


class LightCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    red = serializers.IntegerField()
    yellow = serializers.IntegerField()
    green = serializers.IntegerField()
    total = serializers.IntegerField()
