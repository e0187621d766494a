from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from gstp.history import AsOfMixin
from projects.access import plans_for
from projects.models import ControlLevel

from . import access, selectors, services
from .filters import FlagFilter
from .flag_serializers import FlagCommentSerializer, FlagSerializer, LightCountSerializer, PublicFlagSerializer
from .inputs import CommentSerializer, ResolveSerializer


@extend_schema_view(
    list=extend_schema(summary="The queue of lag flags (落後警示): red first, then oldest", responses=FlagSerializer),
    retrieve=extend_schema(summary="One flag, with its evidence and thread", responses=FlagSerializer),
)
class FlagViewSet(AsOfMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = FlagFilter

    def get_queryset(self):
        return selectors.flag_list(user=self.request.user, as_of=self.as_of)

    def get_serializer_class(self):
        if access.flag_fields_for(self.request.user) is access.FlagFields.FULL:
            return FlagSerializer
        return PublicFlagSerializer

    def _flag_response(self, flag):
        flag = self.get_queryset().get(pk=flag.pk)
        return Response(self.get_serializer_class()(flag).data)

    @extend_schema(
        summary="Acknowledge a flag (secretariat)",
        request=None,
        responses={200: FlagSerializer, 409: OpenApiResponse(description=_("The flag is not open."))},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._flag_response(services.lag_flag_acknowledge(flag=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Resolve or override a flag with a reason (secretariat)",
        request=ResolveSerializer,
        responses={200: FlagSerializer, 409: OpenApiResponse(description=_("The flag is already resolved."))},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        flag = self.get_object()
        access.ensure(access.can_resolve_flag(request.user, flag), access.NOT_SECRETARIAT_TO_RESOLVE)
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._flag_response(
            services.lag_flag_resolve(flag=flag, actor=request.user, **serializer.validated_data)
        )

    @extend_schema(
        summary="Comment, or answer with an improvement plan (改善措施, the sub-project's lead)",
        request=CommentSerializer,
        responses={201: FlagCommentSerializer},
    )
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        flag = self.get_object()
        access.ensure(access.can_comment_on_flag(request.user, flag), access.NOT_ALLOWED_TO_COMMENT)
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.lag_flag_comment(flag=flag, actor=request.user, **serializer.validated_data)
        return Response(FlagCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class LightsView(AsOfMixin, APIView):
    """Red, yellow and green counts of sub-projects, rolled up by group or by agency."""

    @extend_schema(
        summary="Traffic lights (紅黃綠燈) rolled up by group, by agency, or for the whole plan",
        parameters=[
            OpenApiParameter("plan", OpenApiTypes.INT, required=True),
            OpenApiParameter("by", OpenApiTypes.STR, enum=["plan", "group", "agency"]),
            OpenApiParameter(
                "control_level",
                OpenApiTypes.STR,
                enum=ControlLevel.values,
                many=True,
                style="form",
                explode=True,
                description=_("Only the sub-projects at this control level (列管等級); repeat it for several."),
            ),
        ],
        responses=LightCountSerializer(many=True),
    )
    def get(self, request):
        try:
            plan = plans_for(request.user).get(pk=int(request.query_params.get("plan", "")))
        except (ValueError, ObjectDoesNotExist):
            raise ValidationError({"plan": [_("Name a plan by its id.")]}) from None
        by = request.query_params.get("by", "group")
        if by not in selectors.LIGHT_ROLLUPS:
            raise ValidationError({"by": [_("Use plan, group or agency.")]})
        levels = request.query_params.getlist("control_level")
        if set(levels) - set(ControlLevel.values):
            raise ValidationError({"control_level": [_("Use executive_yuan, ministry or agency.")]})
        rows = selectors.light_rollup(plan=plan, user=request.user, by=by, as_of=self.as_of, control_levels=levels)
        return Response(LightCountSerializer(rows, many=True).data)
