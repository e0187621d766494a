from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from gstp.history import AsOfMixin
from projects.selectors import plan_list

from . import access, selectors, services
from .filters import IndicatorFilter
from .models import Indicator
from .serializers import ActualSerializer, ActualWriteSerializer, IndicatorSerializer, OverallRowSerializer


@extend_schema_view(
    list=extend_schema(summary="List indicators (績效指標) with their targets, actuals and status"),
    retrieve=extend_schema(summary="One indicator", parameters=[OpenApiParameter("on", OpenApiTypes.DATE)]),
)
class IndicatorViewSet(AsOfMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilter

    def get_queryset(self):
        return selectors.indicator_list(user=self.request.user, as_of=self.as_of)

    def _as_of(self):
        """The day to evaluate on (``?on=``; by default the day of ``?as_of=``, else today), read once per
        request."""
        if not hasattr(self, "_as_of_day"):
            filterset = self.filterset_class(
                self.request.query_params, queryset=Indicator.objects.none(), request=self.request
            )
            day = filterset.form.cleaned_data.get("on") if filterset.is_valid() else None
            self._as_of_day = day or (timezone.localdate(self.as_of) if self.as_of else None)
        return self._as_of_day

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "as_of": self._as_of(),
            "evaluations": getattr(self, "_evaluations", {}),
        }

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        wanted = self.request.query_params.getlist("status")
        if not wanted:
            return queryset
        # The status is computed, not stored: evaluate the filtered rows once, keep the ids, and hand
        # the evaluations to the serializer rather than computing them again.
        as_of = self._as_of()
        self._evaluations = {indicator.pk: selectors.indicator_evaluate(indicator, on=as_of) for indicator in queryset}
        keep = [pk for pk, evaluation in self._evaluations.items() if evaluation.status in wanted]
        return queryset.filter(pk__in=keep)

    @extend_schema(
        summary="Record a plan- or group-level actual (secretariat)",
        request=ActualWriteSerializer,
        responses={
            201: ActualSerializer,
            409: OpenApiResponse(description=_("A sub-project's indicator: its actuals come from accepted reports.")),
        },
    )
    @action(detail=True, methods=["post"])
    def actuals(self, request, pk=None):
        indicator = self.get_object()
        if not access.can_record_actual(request.user, indicator):
            raise PermissionDenied(access.NOT_SECRETARIAT_TO_RECORD_ACTUALS)
        serializer = ActualWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        actual = services.plan_indicator_actual_record(
            indicator=indicator, actor=request.user, data=serializer.validated_data
        )
        return Response(ActualSerializer(actual).data, status=status.HTTP_201_CREATED)


class PlanIndicatorSummaryView(APIView):
    @extend_schema(
        summary="The plan's overall indicators (總體指標): final target, latest result, met or not",
        responses=OverallRowSerializer(many=True),
    )
    def get(self, request, plan_id: int):
        plan = get_object_or_404(plan_list(user=request.user), pk=plan_id)
        rows = selectors.plan_indicator_summary(plan=plan, user=request.user)
        return Response(OverallRowSerializer(rows, many=True).data)
