"""``/api/v1/revisions/``: plan revisions (計畫修正) through their lifecycle, and the baselines they make.

A lead of the sub-project's agency requests one (``Idempotency-Key`` makes a retry safe) and may change it
until someone acts, or withdraw it until it is decided; where the plan asks for it, the ministry's reviewer
endorses or rejects it; the Executive Secretariat approves (核定) or rejects (駁回) it. Every step takes the
revision's ETag as ``If-Match`` (412 when stale). What a user sees is ``reviews.access.revisions_for``: any
other revision is a 404.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from gstp.history import PresentOnlyMixin
from projects.models import NodeKind, PlanNode

from . import access, selectors, services
from .apis import ETAG, IDEMPOTENCY_KEY, IF_MATCH, expected_version
from .filters import RevisionFilter
from .idempotency import idempotent
from .inputs import DecisionSerializer, RevisionCreateSerializer, RevisionUpdateSerializer, WithdrawSerializer
from .models import CHANGE_KEYS
from .serializers import RevisionEventSerializer, RevisionSerializer

WRITE_RESPONSES = {
    400: OpenApiResponse(description=_("Invalid fields; `errors` names each one.")),
    403: OpenApiResponse(description=_("Visible, but not yours to change.")),
    404: OpenApiResponse(description=_("No such revision, or not visible to you.")),
    409: OpenApiResponse(
        description=_("Not allowed in the revision's status, or the same Idempotency-Key is in flight.")
    ),
    412: OpenApiResponse(description=_("If-Match is stale.")),
    422: OpenApiResponse(description=_("Idempotency-Key reused for another request.")),
    428: OpenApiResponse(description=_("If-Match is missing.")),
}


def revision_response(revision, request, *, status_code=status.HTTP_200_OK) -> Response:
    response = Response(RevisionSerializer(revision, context={"request": request}).data, status=status_code)
    response["ETag"] = revision.etag
    return response


def _changes(data: dict) -> dict:
    return {key: data[key] for key in CHANGE_KEYS if key in data}


@extend_schema_view(
    list=extend_schema(summary="List plan revisions (計畫修正) visible to you"),
    retrieve=extend_schema(summary="One plan revision", parameters=[ETAG], responses={200: RevisionSerializer}),
)
class RevisionViewSet(PresentOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Plan revisions: a lead requests a change of a sub-project's baseline; the ministry's reviewer endorses it
    where the plan asks for it; the Executive Secretariat approves it, which makes the next baseline version,
    or rejects it."""

    serializer_class = RevisionSerializer
    filterset_class = RevisionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.revision_list(user=self.request.user)

    def retrieve(self, request, *args, **kwargs):
        return revision_response(self.get_object(), request)

    @extend_schema(
        summary="Request a revision of a sub-project's plan (lead)",
        request=RevisionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, ETAG],
        responses={201: RevisionSerializer, **WRITE_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        # Who may request is decided before the body is read: a forbidden actor gets 403 whatever it sent.
        try:
            project = int(str(request.data.get("project")))
        except (AttributeError, TypeError, ValueError):
            project = None
        node = PlanNode.objects.filter(pk=project).first() if project is not None else None
        foreign = (
            node is not None
            and node.kind == NodeKind.SUBPROJECT
            and not access.can_request_revision(request.user, node)
        )
        if not access.can_file_reports(request.user) or foreign:
            raise PermissionDenied(access.NOT_LEAD_TO_REQUEST_REVISION)
        serializer = RevisionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        revision = services.revision_request(
            actor=request.user, node=data["project"], reason=data["reason"], changes=_changes(data)
        )
        response = revision_response(revision, request, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{revision.pk}/"
        return response

    @extend_schema(
        summary="Change a revision nobody has acted on yet (lead)",
        request=RevisionUpdateSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: RevisionSerializer, **WRITE_RESPONSES},
    )
    def partial_update(self, request, *args, **kwargs):
        revision = self.get_object()
        access.ensure(access.can_edit_revision(request.user, revision), access.NOT_LEAD_TO_EDIT_REVISION)
        version = expected_version(request, revision)
        serializer = RevisionUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        revision = services.revision_update(
            actor=request.user, revision=revision, expected_version=version, data=dict(serializer.validated_data)
        )
        return revision_response(revision, request)

    def _step(self, request, revision, service, **kwargs):
        version = expected_version(request, revision)
        return revision_response(
            service(actor=request.user, revision=revision, expected_version=version, **kwargs), request
        )

    @extend_schema(
        summary="Withdraw a revision before it is decided (lead)",
        request=WithdrawSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: RevisionSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, pk=None):
        revision = self.get_object()
        access.ensure(access.can_withdraw_revision(request.user, revision), access.NOT_LEAD_TO_EDIT_REVISION)
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._step(request, revision, services.revision_withdraw, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="Endorse a requested revision (ministry reviewer, 初核): it goes on to the secretariat",
        request=DecisionSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: RevisionSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def endorse(self, request, pk=None):
        revision = self.get_object()
        access.ensure_revision_decider(
            access.may_endorse_revision, request.user, revision, access.NOT_REVIEWER_TO_ENDORSE_REVISION
        )
        DecisionSerializer(data=request.data).is_valid(raise_exception=True)
        return self._step(request, revision, services.revision_endorse)

    @extend_schema(
        summary="Approve a revision (secretariat, 核定): its changes become the next baseline version",
        request=DecisionSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: RevisionSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request, pk=None):
        revision = self.get_object()
        access.ensure_revision_decider(
            access.may_approve_revision, request.user, revision, access.NOT_SECRETARIAT_TO_APPROVE_REVISION
        )
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._step(request, revision, services.revision_approve, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="Reject a revision (駁回): the reviewer one waiting for its endorsement, the secretariat one waiting "
        "for its decision; a reason is required",
        request=DecisionSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: RevisionSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request, pk=None):
        revision = self.get_object()
        access.ensure_revision_decider(
            access.may_reject_revision, request.user, revision, access.NOT_ALLOWED_TO_REJECT_REVISION
        )
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._step(request, revision, services.revision_reject, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="Who did what to the revision, oldest first", responses={200: RevisionEventSerializer(many=True)}
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        revision = self.get_object()
        if not access.can_see_revision_history(request.user, revision):
            raise NotFound()
        return Response(RevisionEventSerializer(selectors.revision_history(revision=revision), many=True).data)

    @extend_schema(
        summary="What waits for your step, the longest waiting first",
        description=_(
            "For a ministry reviewer, the requested revisions of its ministry's sub-projects waiting for its "
            "endorsement; for the Executive Secretariat, the revisions waiting for its decision."
        ),
        responses={200: RevisionSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="awaiting-decision", filterset_class=None)
    def awaiting_decision(self, request):
        page = self.paginate_queryset(selectors.revision_queue(user=request.user))
        return self.get_paginated_response(RevisionSerializer(page, many=True, context={"request": request}).data)
