"""``/api/v1/budgets/``: sub-projects' budget ledgers, a year's appropriation (預算數) and allocation schedule
(分配數) by quarter. Every signed-in user reads them, as the plan tree; the Executive Secretariat sets them until
a report of the year is accepted, and then only a plan revision changes them.

They live with reviews, not with the plan structure, because whether a year may still change is a question
about its reports (``access.baseline_frozen``)."""

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from gstp.history import AsOfMixin

from . import access, selectors, services
from .apis import IDEMPOTENCY_KEY, PreconditionRequired
from .filters import BudgetYearFilter
from .idempotency import idempotent
from .inputs import BudgetYearCreateSerializer, BudgetYearUpdateSerializer
from .serializers import BudgetYearSerializer
from .services.budgets import StaleBudget

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=_("The budget's ETag as last read (a stale one gets 412), or * for whatever version is current."),
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description=_("The budget's version, the same as its `etag` field: send it as If-Match to change it."),
)
WEAK = re.compile(r"^\s*W/")
WRITE_RESPONSES = {
    400: OpenApiResponse(description=_("Invalid fields; `errors` names each one.")),
    403: OpenApiResponse(description=_("Only the Executive Secretariat sets budgets.")),
    404: OpenApiResponse(description=_("No such budget, or not visible to you.")),
    409: OpenApiResponse(
        description=_(
            "A report of the year is accepted: the budget changes through a plan revision; or the same "
            "Idempotency-Key is in flight."
        )
    ),
    412: OpenApiResponse(description=_("If-Match is stale.")),
    422: OpenApiResponse(description=_("Idempotency-Key reused for another request.")),
    428: OpenApiResponse(description=_("If-Match is missing.")),
}


class BudgetPreconditionRequired(PreconditionRequired):
    default_detail = _("Send If-Match with the budget's ETag.")


def expected_etag(request) -> str | None:
    """The ETag a write expects, from If-Match (None for ``*``: whatever is current)."""
    header = request.headers.get("If-Match")
    if not header:
        raise BudgetPreconditionRequired()
    header = WEAK.sub("", header).strip()
    return None if header == "*" else header


def budget_response(ledger, *, status_code=status.HTTP_200_OK) -> Response:
    ledger.frozen = access.baseline_frozen(ledger.node_id, year=ledger.year)
    response = Response(BudgetYearSerializer(ledger).data, status=status_code)
    response["ETag"] = ledger.etag
    return response


@extend_schema_view(
    list=extend_schema(summary="List sub-projects' budgets by year (預算數, 分配數)"),
    retrieve=extend_schema(summary="One sub-project's budget of a year", parameters=[ETAG]),
)
class BudgetYearViewSet(AsOfMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sub-projects' budgets by fiscal year: the appropriation and its allocation by quarter, from which each
    report's allocation to date and execution rate (經費執行率) come."""

    serializer_class = BudgetYearSerializer
    filterset_class = BudgetYearFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.budget_year_list(user=self.request.user, as_of=self.as_of)

    def retrieve(self, request, *args, **kwargs):
        return budget_response(self.get_object())

    @extend_schema(
        summary="Set a sub-project's budget for a year (secretariat)",
        request=BudgetYearCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, ETAG],
        responses={201: BudgetYearSerializer, **WRITE_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        # Who may set budgets is decided before the body is read: a forbidden actor gets 403 whatever it sent.
        if not access.can_set_budget(request.user):
            raise PermissionDenied(access.NOT_SECRETARIAT_TO_SET_BUDGET)
        serializer = BudgetYearCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        ledger = services.budget_year_create(
            actor=request.user, node=values.pop("project"), year=values.pop("year"), values=values
        )
        response = budget_response(ledger, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{ledger.pk}/"
        return response

    @extend_schema(
        summary="Change a year's appropriation or schedule (secretariat, before any report of the year is accepted)",
        request=BudgetYearUpdateSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: BudgetYearSerializer, **WRITE_RESPONSES},
    )
    def partial_update(self, request, *args, **kwargs):
        ledger = self.get_object()
        if not access.can_set_budget(request.user):
            raise PermissionDenied(access.NOT_SECRETARIAT_TO_SET_BUDGET)
        etag = expected_etag(request)
        if etag is not None and etag != ledger.etag:
            raise StaleBudget()
        serializer = BudgetYearUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        ledger = services.budget_year_update(
            actor=request.user, budget_year=ledger, expected_etag=etag, values=dict(serializer.validated_data)
        )
        return budget_response(ledger)
