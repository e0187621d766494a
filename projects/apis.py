from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from gstp.history import AsOfMixin

from . import selectors
from .filters import AgencyFilter, DeletionFilter, MilestoneFilter, PlanFilter, ProjectFilter
from .serializers import (
    AgencySerializer,
    DeletionSerializer,
    MilestoneSerializer,
    PlanSerializer,
    ProjectSerializer,
)


@extend_schema_view(list=extend_schema(summary="List agencies (機關)"), retrieve=extend_schema(summary="One agency"))
class AgencyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AgencySerializer
    filterset_class = AgencyFilter

    def get_queryset(self):
        return selectors.agency_list(user=self.request.user)


@extend_schema_view(list=extend_schema(summary="List plans (方案)"), retrieve=extend_schema(summary="One plan"))
class PlanViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PlanSerializer
    filterset_class = PlanFilter

    def get_queryset(self):
        return selectors.plan_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List plan-tree nodes: groups, strategy sections, measures and sub-projects"),
    retrieve=extend_schema(summary="One plan-tree node"),
)
# ``/api/v1/projects/`` is served by ``reviews.project_apis``, which gives each node the light its flags
# make: flags are reviews' to know, not the plan structure's.
class ProjectViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    """The plan tree: groups (分組), strategy sections (推動策略), measures (推動措施) and sub-projects
    (子計畫), each sub-project with its lead and co-agencies, dates, budget and traffic light."""

    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter

    def get_queryset(self):
        return selectors.node_tree(user=self.request.user, as_of=self.as_of)


@extend_schema_view(list=extend_schema(summary="Deleted rows of every collection, for mirrors kept with updated_since"))
class DeletionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = DeletionSerializer
    filterset_class = DeletionFilter

    def get_queryset(self):
        return selectors.deletion_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List milestones (查核點)"), retrieve=extend_schema(summary="One milestone")
)
class MilestoneViewSet(AsOfMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilter

    def get_queryset(self):
        return selectors.milestone_list(user=self.request.user, as_of=self.as_of)
