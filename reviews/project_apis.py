"""``/api/v1/projects/``: the plan tree as ``projects`` serves it, each node with its light (紅黃綠燈).

The light is the worst open flag of a sub-project, so it is reviews' to know; the plan structure knows
nothing of flags. The endpoint is composed here, on the side that owns the light, from the projects app's
own view, serializer and filters.
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as django_filters
from rest_framework import serializers

from gstp.history import requested_as_of
from projects import apis as project_apis
from projects import filters as project_filters
from projects import serializers as project_serializers

from . import selectors
from .selectors import light_condition

LIGHTS = ["green", "yellow", "red"]


class ProjectSerializer(project_serializers.ProjectSerializer):
    light = serializers.ChoiceField(
        choices=LIGHTS,
        read_only=True,
        allow_null=True,
        help_text=_("紅黃綠燈: the worst open flag of a sub-project; null above sub-projects."),
    )

    class Meta(project_serializers.ProjectSerializer.Meta):
        fields = [*project_serializers.ProjectSerializer.Meta.fields[:-1], "light", "updated_at"]


class ProjectFilter(project_filters.ProjectFilter):
    light = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=[(light, light) for light in LIGHTS],
        method="filter_light",
        help_text=_("Sub-projects whose light (worst open flag) is this."),
    )

    def filter_light(self, queryset, name, value):
        return queryset.filter(light_condition(value, as_of=requested_as_of(self.request))) if value else queryset


class ProjectViewSet(project_apis.ProjectViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter

    def get_queryset(self):
        return selectors.node_list(user=self.request.user, as_of=self.as_of)
