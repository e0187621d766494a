"""``/api/v1/projects/`` and ``/api/v1/milestones/``: the plan tree and milestones as ``projects`` serves them,
each sub-project with its light (紅黃綠燈) and each sub-project and milestone with its original and current
baseline.

The light is the worst open flag of a sub-project, and the baseline versions are made by plan revisions, so
both are reviews' to know; the plan structure knows nothing of flags or revisions. The endpoints are composed
here, on the side that owns them, from the projects app's own views, serializers and filters.
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from gstp.history import requested_as_of
from projects import access as project_access
from projects import apis as project_apis
from projects import filters as project_filters
from projects import serializers as project_serializers
from projects import services as project_services
from projects.models import NodeKind

from . import selectors, services
from .inputs import ControlLevelSerializer
from .selectors import light_condition
from .serializers import BaselineVersionSerializer

LIGHTS = ["green", "yellow", "red"]


def _dates(start, end) -> dict:
    return {"start_date": start, "end_date": end}


NODE_BASELINE = inline_serializer(
    "ProjectBaseline",
    {
        "version": serializers.IntegerField(help_text=_("The latest approved baseline version (1: the original).")),
        "original": inline_serializer(
            "ProjectBaselineDates",
            {"start_date": serializers.DateField(allow_null=True), "end_date": serializers.DateField(allow_null=True)},
        ),
        "current": inline_serializer(
            "ProjectBaselineCurrentDates",
            {"start_date": serializers.DateField(allow_null=True), "end_date": serializers.DateField(allow_null=True)},
        ),
    },
    allow_null=True,
)
MILESTONE_BASELINE = inline_serializer(
    "MilestoneBaseline",
    {
        "version": serializers.IntegerField(),
        "original": inline_serializer(
            "MilestoneBaselineOriginal",
            {
                "planned_date": serializers.DateField(),
                "weight": serializers.DecimalField(max_digits=5, decimal_places=2),
            },
            allow_null=True,
        ),
        "current": inline_serializer(
            "MilestoneBaselineCurrent",
            {
                "planned_date": serializers.DateField(),
                "weight": serializers.DecimalField(max_digits=5, decimal_places=2),
            },
        ),
    },
)


class ProjectSerializer(project_serializers.ProjectSerializer):
    light = serializers.ChoiceField(
        choices=LIGHTS,
        read_only=True,
        allow_null=True,
        help_text=_("紅黃綠燈: the worst open flag of a sub-project; null above sub-projects."),
    )
    baseline = serializers.SerializerMethodField(
        help_text=_(
            "A sub-project's baseline (基準): the latest approved version, and its dates in the original plan "
            "(原計畫, version 1) and now; null above sub-projects. Every version is at `baselines/`."
        )
    )

    class Meta(project_serializers.ProjectSerializer.Meta):
        fields = [*project_serializers.ProjectSerializer.Meta.fields[:-1], "light", "baseline", "updated_at"]

    @extend_schema_field(NODE_BASELINE)
    def get_baseline(self, node):
        if node.kind != NodeKind.SUBPROJECT:
            return None
        info = getattr(node, "baseline_info", None) or selectors.baselines_of([node.pk]).get(
            node.pk, selectors.NO_BASELINE
        )
        current = _dates(_iso(node.start_date), _iso(node.end_date))
        original = info.original
        return {
            "version": info.version,
            "original": _dates(original["start_date"], original["end_date"]) if original else current,
            "current": current,
        }


def _iso(value):
    return value.isoformat() if value is not None else None


class BaselinesMixin:
    """Reads each page's baselines in one query before it is written out."""

    attach = staticmethod(selectors.attach_baselines)

    def get_serializer(self, *args, **kwargs):
        if args and args[0] is not None:
            self.attach(args[0] if kwargs.get("many") else [args[0]], as_of=self.as_of)
        return super().get_serializer(*args, **kwargs)


class ProjectFilter(project_filters.ProjectFilter):
    light = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=[(light, light) for light in LIGHTS],
        method="filter_light",
        help_text=_("Sub-projects whose light (worst open flag) is this."),
    )

    def filter_light(self, queryset, name, value):
        return queryset.filter(light_condition(value, as_of=requested_as_of(self.request))) if value else queryset


class ProjectViewSet(BaselinesMixin, project_apis.ProjectViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter

    def get_queryset(self):
        return selectors.node_list(user=self.request.user, as_of=self.as_of)

    @extend_schema(
        summary="A sub-project's baseline versions (基準版本), the original plan first",
        responses={200: BaselineVersionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def baselines(self, request, pk=None):
        node = self.get_object()
        if node.kind != NodeKind.SUBPROJECT:
            return Response([])
        versions = BaselineVersionSerializer(selectors.baseline_versions(node=node, as_of=self.as_of), many=True).data
        if not versions:  # never revised: the live fields are the original plan
            content = services.baseline_content(node)
            versions = [{"project": node.pk, "version": 1, "revision": None, "created_at": None, "content": content}]
        return Response(versions)

    @extend_schema(
        summary="Set a sub-project's control level (列管等級, the Executive Secretariat)",
        request=ControlLevelSerializer,
        responses={
            200: ProjectSerializer,
            400: OpenApiResponse(description=_("Not a sub-project, or not a control level.")),
        },
    )
    @action(detail=True, methods=["post"], url_path="control-level", filterset_class=None)
    def control_level(self, request, pk=None):
        node = self.get_object()
        if not project_access.can_set_control_level(request.user, node):
            raise PermissionDenied(project_access.NOT_ALLOWED_TO_SET_CONTROL_LEVEL)
        serializer = ControlLevelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project_services.node_control_level_set(
            node=node,
            actor=request.user,
            level=serializer.validated_data["control_level"],
            reason=serializer.validated_data["reason"],
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=node.pk)).data)


class MilestoneSerializer(project_serializers.MilestoneSerializer):
    baseline = serializers.SerializerMethodField(
        help_text=_(
            "The milestone in its sub-project's original plan (原計畫; null if it was added later) and now, with the "
            "latest approved baseline version."
        )
    )

    class Meta(project_serializers.MilestoneSerializer.Meta):
        fields = [*project_serializers.MilestoneSerializer.Meta.fields[:-1], "baseline", "updated_at"]

    @extend_schema_field(MILESTONE_BASELINE)
    def get_baseline(self, milestone):
        info = getattr(milestone, "baseline_info", None) or selectors.baselines_of([milestone.node_id]).get(
            milestone.node_id, selectors.NO_BASELINE
        )
        current = {"planned_date": _iso(milestone.planned_date), "weight": format(milestone.weight, "f")}
        if info.original is None:
            original = current
        else:
            found = next((m for m in info.original["milestones"] if m["id"] == milestone.pk), None)
            original = {"planned_date": found["planned_date"], "weight": found["weight"]} if found else None
        return {"version": info.version, "original": original, "current": current}


class MilestoneViewSet(BaselinesMixin, project_apis.MilestoneViewSet):
    serializer_class = MilestoneSerializer
    attach = staticmethod(selectors.attach_milestone_baselines)
