"""``/api/v1/assessment-schemes/`` and ``/api/v1/assessments/``: the year's assessment (年度考評).

Every signed-in user reads the schemes (criteria, grade bands, calendar); the Executive Secretariat opens a
plan's year, changes it and publishes it. An assessment goes up the chain: the lead scores and submits (自評),
the ministry's reviewer adjusts and endorses or returns (初核), the secretariat sets the final scores or
returns (複核) and may reopen them until publication. Every write takes the object's ETag as ``If-Match``
(428 without it, 412 when stale), every POST an ``Idempotency-Key``. Which assessments a user sees and which of
their fields is ``assessments.access``: any other is a 404, and outside its chain an assessment is only its
published grade and total.
"""

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from gstp.exceptions import StaleVersion
from gstp.history import PresentOnlyMixin
from reviews.apis import IDEMPOTENCY_KEY, PreconditionRequired
from reviews.idempotency import idempotent

from . import access, selectors, services
from .filters import AssessmentFilter, SchemeFilter
from .inputs import (
    NoBodySerializer,
    OptionalReasonSerializer,
    ReasonSerializer,
    SchemeOpenSerializer,
    SchemeUpdateSerializer,
    ScoresSerializer,
)
from .models import AssessmentScheme
from .serializers import (
    AssessmentDetailSerializer,
    AssessmentEventSerializer,
    AssessmentSerializer,
    PublishedAssessmentSerializer,
    SchemeChangeSerializer,
    SchemeSerializer,
    assessment_data,
)

ETAG_PATTERN = re.compile(r'^\s*(?:W/)?"([as])(\d+)-(\d+)"\s*$')


def _if_match(description):
    return OpenApiParameter(
        "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description=description
    )


def _etag(description):
    return OpenApiParameter(
        "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201], description=description
    )


IF_MATCH = _if_match(
    _("The assessment's ETag as last read (a stale one gets 412), or * for whatever version is current.")
)
ETAG = _etag(_("The assessment's version, the same as its `etag` field: send it as If-Match to change it."))
SCHEME_IF_MATCH = _if_match(
    _("The assessment scheme's ETag as last read (a stale one gets 412), or * for whatever version is current.")
)
SCHEME_ETAG = _etag(_("The assessment scheme's version, the same as its `etag` field: send it as If-Match."))
WRITE_RESPONSES = {
    400: OpenApiResponse(description=_("Invalid fields; `errors` names each one.")),
    403: OpenApiResponse(description=_("Visible, but not yours to change.")),
    404: OpenApiResponse(description=_("No such assessment, or not visible to you.")),
    409: OpenApiResponse(
        description=_(
            "Not allowed in the assessment's status or once it is published, or the same Idempotency-Key is in flight."
        )
    ),
    412: OpenApiResponse(description=_("If-Match is stale.")),
    422: OpenApiResponse(description=_("Idempotency-Key reused for another request.")),
    428: OpenApiResponse(description=_("If-Match is missing.")),
}


class AssessmentPreconditionRequired(PreconditionRequired):
    default_detail = _("Send If-Match with the assessment's ETag.")


class SchemePreconditionRequired(PreconditionRequired):
    default_detail = _("Send If-Match with the assessment scheme's ETag.")


STALE = {
    "a": _("The assessment has changed since it was read; fetch it again and retry with the new ETag."),
    "s": _("The assessment's settings have changed since they were read; fetch them again."),
}


def expected_version(request, obj, *, kind: str) -> int:
    """The version a write expects, from If-Match: the object's ETag as last read (``"a12-3"`` for an
    assessment, ``"s4-2"`` for a scheme), or ``*`` for the version this request read."""
    header = request.headers.get("If-Match")
    if not header:
        raise AssessmentPreconditionRequired() if kind == "a" else SchemePreconditionRequired()
    if header.strip() == "*":
        return obj.version
    match = ETAG_PATTERN.match(header)
    if not match or match.group(1) != kind or int(match.group(2)) != obj.pk:
        raise StaleVersion(STALE[kind])
    return int(match.group(3))


def scheme_response(scheme, *, status_code=status.HTTP_200_OK) -> Response:
    scheme = AssessmentScheme.objects.prefetch_related("criteria", "bands").get(pk=scheme.pk)
    response = Response(SchemeSerializer(scheme).data, status=status_code)
    response["ETag"] = scheme.etag
    return response


@extend_schema_view(
    list=extend_schema(summary="List plans' assessments by year (年度考評): criteria, grades and calendar"),
    retrieve=extend_schema(summary="One plan's assessment of a year", parameters=[SCHEME_ETAG]),
)
class SchemeViewSet(PresentOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A plan's assessment of a year: its weighted criteria, grade bands and calendar, read by every signed-in
    user; the Executive Secretariat opens, changes and publishes it."""

    serializer_class = SchemeSerializer
    filterset_class = SchemeFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.scheme_list(user=self.request.user)

    def retrieve(self, request, *args, **kwargs):
        return scheme_response(self.get_object())

    @extend_schema(
        summary="Open a plan's assessment of a year (secretariat): every sub-project running that year is assessed",
        request=SchemeOpenSerializer,
        parameters=[IDEMPOTENCY_KEY, SCHEME_ETAG],
        responses={201: SchemeSerializer, **WRITE_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        # Who may open is decided before the body is read: a forbidden actor gets 403 whatever it sent.
        if not access.can_set_scheme(request.user):
            raise PermissionDenied(access.NOT_SECRETARIAT_TO_SET_SCHEME)
        serializer = SchemeOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        scheme = services.scheme_open(actor=request.user, plan=data.pop("plan"), year=data.pop("year"), data=data)
        response = scheme_response(scheme, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{scheme.pk}/"
        return response

    @extend_schema(
        summary="Change the calendar, criteria or grade bands (secretariat, until publication)",
        request=SchemeUpdateSerializer,
        parameters=[SCHEME_IF_MATCH, SCHEME_ETAG],
        responses={200: SchemeSerializer, **WRITE_RESPONSES},
    )
    def partial_update(self, request, *args, **kwargs):
        scheme = self.get_object()
        access.ensure(access.can_set_scheme(request.user), access.NOT_SECRETARIAT_TO_SET_SCHEME)
        version = expected_version(request, scheme, kind="s")
        serializer = SchemeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scheme = services.scheme_update(
            actor=request.user, scheme=scheme, expected_version=version, data=dict(serializer.validated_data)
        )
        return scheme_response(scheme)

    @extend_schema(
        summary="Publish the year's results (secretariat): every signed-in user then sees each grade and total",
        request=NoBodySerializer,
        parameters=[SCHEME_IF_MATCH, IDEMPOTENCY_KEY, SCHEME_ETAG],
        responses={200: SchemeSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def publish(self, request, pk=None):
        scheme = self.get_object()
        access.ensure(access.can_publish(request.user), access.NOT_SECRETARIAT_TO_PUBLISH)
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        version = expected_version(request, scheme, kind="s")
        return scheme_response(services.scheme_publish(actor=request.user, scheme=scheme, expected_version=version))

    @extend_schema(
        summary="Every recorded change of the scheme, its criteria and its grade bands, oldest first",
        responses={200: SchemeChangeSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        scheme = self.get_object()
        return Response(SchemeChangeSerializer(selectors.scheme_history(scheme=scheme), many=True).data)


def rows_data(assessments) -> list[dict]:
    """Each row whole or as published, as its ``sees_whole`` mark says (``selectors.assessment_rows``)."""
    whole, published = AssessmentSerializer(), PublishedAssessmentSerializer()
    return [(whole if row.sees_whole else published).to_representation(row) for row in assessments]


@extend_schema_view(
    list=extend_schema(
        summary="List the assessments visible to you: your chain's whole, others' published grade and total",
        responses={200: AssessmentSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="One assessment", parameters=[ETAG], responses={200: AssessmentDetailSerializer}),
)
class AssessmentViewSet(PresentOnlyMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sub-projects' assessments of a year, through the chain: self-assessment (自評), the ministry's review (初核)
    and the secretariat's (複核), then publication."""

    serializer_class = AssessmentSerializer
    filterset_class = AssessmentFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.assessment_rows(user=self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(rows_data(page))

    def _response(self, assessment, *, status_code=status.HTTP_200_OK) -> Response:
        user = self.request.user
        assessment = self.get_queryset().get(pk=assessment.pk)
        whole = access.assessment_fields(user, assessment) is access.AssessmentFields.WHOLE
        actions = access.assessment_actions(user, assessment) if whole else None
        response = Response(assessment_data(assessment, whole=whole, actions=actions), status=status_code)
        if whole:
            response["ETag"] = assessment.etag
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._response(self.get_object())

    def _in_chain(self, request, message):
        """The assessment, if the user is of its chain; 403 for who sees only its published result."""
        assessment = self.get_object()
        access.ensure(access.sees_whole(request.user, assessment), message)
        return assessment

    @extend_schema(
        summary="Score the criteria at your level: the lead's self-assessment, the ministry's or the secretariat's "
        "review",
        request=ScoresSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    def partial_update(self, request, *args, **kwargs):
        assessment = self._in_chain(request, access.NOT_LEAD_TO_SCORE)
        version = expected_version(request, assessment, kind="a")
        serializer = ScoresSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.assessment_score(
            actor=request.user,
            assessment=assessment,
            expected_version=version,
            entries=serializer.validated_data["scores"],
        )
        return self._response(assessment)

    def _step(self, request, assessment, service, body=NoBodySerializer, **kwargs):
        serializer = body(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = expected_version(request, assessment, kind="a")
        service(actor=request.user, assessment=assessment, expected_version=version, **serializer.validated_data)
        return self._response(assessment)

    @extend_schema(
        summary="Submit the self-assessment (lead, 自評): every criterion scored and justified",
        request=NoBodySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, pk=None):
        assessment = self.get_object()
        access.ensure(access.can_submit(request.user, assessment), access.NOT_LEAD_TO_SUBMIT)
        return self._step(request, assessment, services.assessment_submit)

    @extend_schema(
        summary="Take back a submitted self-assessment the ministry has not reviewed yet (lead)",
        request=OptionalReasonSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, pk=None):
        assessment = self.get_object()
        access.ensure(access.can_withdraw(request.user, assessment), access.NOT_LEAD_TO_WITHDRAW)
        return self._step(request, assessment, services.assessment_withdraw, OptionalReasonSerializer)

    @extend_schema(
        summary="Pass the reviewed assessment on to the secretariat (ministry reviewer, 初核)",
        request=NoBodySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def endorse(self, request, pk=None):
        assessment = self.get_object()
        access.ensure_reviewer(request.user, assessment)
        return self._step(request, assessment, services.assessment_endorse)

    @extend_schema(
        summary="Return the assessment one step down, with the reason (the ministry to the lead, the secretariat "
        "to the ministry)",
        request=ReasonSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="return")
    @idempotent
    def return_assessment(self, request, pk=None):
        assessment = self.get_object()
        access.ensure(access.can_return(request.user, assessment), access.NOT_ALLOWED_TO_RETURN)
        return self._step(request, assessment, services.assessment_return, ReasonSerializer)

    @extend_schema(
        summary="Set the final scores (secretariat, 複核): the total and the grade follow",
        request=NoBodySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def finalize(self, request, pk=None):
        assessment = self.get_object()
        access.ensure_finalizer(request.user, assessment)
        return self._step(request, assessment, services.assessment_finalize)

    @extend_schema(
        summary="Take back final scores before publication, with the reason (secretariat)",
        request=ReasonSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reopen(self, request, pk=None):
        assessment = self.get_object()
        access.ensure(access.can_reopen(request.user, assessment), access.NOT_SECRETARIAT_TO_REOPEN)
        return self._step(request, assessment, services.assessment_reopen, ReasonSerializer)

    @extend_schema(
        summary="Work the suggested scores out again from today's figures, while the lead is scoring",
        request=NoBodySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: AssessmentDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def suggest(self, request, pk=None):
        assessment = self.get_object()
        access.ensure(access.can_refresh_suggestions(request.user, assessment), access.NOT_LEAD_TO_SCORE)
        return self._step(request, assessment, services.suggestions_refresh)

    @extend_schema(
        summary="Who did what to the assessment, oldest first (its chain only)",
        responses={200: AssessmentEventSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        assessment = self.get_object()
        if not access.can_see_history(request.user, assessment):
            raise NotFound()  # scores and reasons before publication: as if there were no such history
        return Response(AssessmentEventSerializer(selectors.assessment_history(assessment=assessment), many=True).data)
