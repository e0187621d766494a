import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict

from gstp.exceptions import ApplicationError, StaleVersion
from gstp.history import AsOfMixin
from gstp.representations import not_modified, representation
from projects.models import Agency, NodeKind, PlanNode
from projects.selectors import agency_find, milestones_changed_at

from . import access, selectors, services
from .filters import ReportFilter
from .idempotency import idempotent
from .inputs import (
    EmptySerializer,
    LockCreateSerializer,
    LockExceptionCreateSerializer,
    ReopenSerializer,
    ReportCreateSerializer,
    ReportUpdateSerializer,
    ReturnSerializer,
    WithdrawSerializer,
)
from .serializers import (
    LockExceptionSerializer,
    OwedReportSerializer,
    QuarterLockSerializer,
    ReportEventSerializer,
    ReportSerializer,
)

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=_("The report's ETag as last read (a stale one gets 412), or * for whatever version is current."),
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_("Any unique string; a retry with the same key and body gets the first answer again."),
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description=_("The report's version, the same as its `etag` field: send it as If-Match to change it."),
)
ETAG_PATTERN = re.compile(r'^\s*(?:W/)?"(\d+)-(\d+)"\s*$')
AGENCY_ID = re.compile(r"[0-9]{1,18}")
WRITE_RESPONSES = {
    400: OpenApiResponse(description=_("Invalid fields; `errors` names each one.")),
    403: OpenApiResponse(description=_("Visible, but not yours to change.")),
    404: OpenApiResponse(description=_("No such report, or not visible to you.")),
    409: OpenApiResponse(
        description=_("Not allowed in the report's status, or the same Idempotency-Key is in flight.")
    ),
    412: OpenApiResponse(description=_("If-Match is stale.")),
    422: OpenApiResponse(description=_("Idempotency-Key reused for another request.")),
    428: OpenApiResponse(description=_("If-Match is missing.")),
}


class PreconditionRequired(ApplicationError):
    status_code = 428
    default_code = "precondition_required"
    default_detail = _("Send If-Match with the report's ETag.")


def expected_version(request, report) -> int:
    """The version a write expects, from If-Match: the report's ETag as last read, or ``*`` for any current
    version (RFC 9110 13.1.1), taken as the version this request read: another write landing in between, after
    the checks ran on what was read, still makes this one a 412."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired()
    if header.strip() == "*":
        return report.version
    match = ETAG_PATTERN.match(header)
    if not match or int(match.group(1)) != report.pk:
        raise StaleVersion()
    return int(match.group(2))


def requested_agency(request) -> Agency:
    """The agency ``?agency=`` names by id or name; a 400 naming the parameter when it is missing or names none."""
    wanted = request.query_params.get("agency", "").strip()
    if not wanted:
        raise ValidationError({"agency": [_("Name an agency with ?agency= (its id or name).")]})
    if AGENCY_ID.fullmatch(wanted):
        agency = Agency.objects.filter(pk=int(wanted)).first()
    else:
        agency = agency_find(wanted)
    if agency is None:
        raise ValidationError({"agency": [_("No agency has this id or name.")]})
    return agency


def report_response(report, *, status_code=status.HTTP_200_OK) -> Response:
    response = Response(ReportSerializer(report).data, status=status_code)
    response["ETag"] = report.etag
    return response


@extend_schema_view(
    list=extend_schema(summary="List quarterly reports (季報) visible to you"),
    retrieve=extend_schema(summary="One quarterly report", parameters=[ETAG], responses={200: ReportSerializer}),
)
class ReportViewSet(AsOfMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quarterly reports: a lead files and submits them; where the plan asks for it, the ministry's reviewer
    endorses or returns them; the Executive Secretariat accepts or returns them, and reopens an accepted one."""

    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if self.action == "retrieve" and self.as_of is None:
            # The plain rows the caller sees: a detail read decides its 304 and its cached representation's key
            # from one, and reads its sub-project, entries and values only when it writes it.
            return access.reports_for(self.request.user)
        return selectors.report_list(user=self.request.user, as_of=self.as_of)

    def retrieve(self, request, *args, **kwargs):
        report = self.get_object()
        if self.as_of is not None:  # as it stood then: read and written whole
            return report_response(report)
        unchanged = not_modified(request, etag=report.etag, last_modified=report.updated_at)
        if unchanged is not None:
            return unchanged
        # What the representation depends on besides the report's version: its allocation to date (the ledger's,
        # one plain statement), the order of its milestones (their planned dates, moved by a revision: one more),
        # whether it is late (the calendar's), and which of its fields the caller sees.
        key = (
            report.pk,
            report.version,
            report.updated_at.timestamp(),
            report.budget_allocated,
            milestones_changed_at(node=report.node_id),
            report.is_late,
            access.report_fields_for(request.user).value,
        )
        data = representation(ReportSerializer, report, key=key)
        # As DRF's own answer: the browsable API's forms read the serializer the data came with.
        response = Response(ReturnDict(data, serializer=ReportSerializer(report)))
        response["ETag"] = report.etag
        return response

    @extend_schema(
        summary="File a draft report",
        request=ReportCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, ETAG],
        responses={201: ReportSerializer, **WRITE_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        # Who may file is decided before the body is read: a forbidden actor gets 403 whatever it sent.
        try:
            project = int(str(request.data.get("project")))
        except (AttributeError, TypeError, ValueError):
            project = None
        node = PlanNode.objects.filter(pk=project).first() if project is not None else None
        foreign = (
            node is not None and node.kind == NodeKind.SUBPROJECT and not access.can_file_report(request.user, node)
        )
        if not access.can_file_reports(request.user) or foreign:
            raise PermissionDenied(access.NOT_LEAD_TO_FILE)
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        report = services.report_create(
            actor=request.user, node=data.pop("project"), period=data.pop("period"), data=data
        )
        response = report_response(report, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{report.pk}/"
        return response

    @extend_schema(
        summary="Edit a draft or returned report",
        request=ReportUpdateSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    def partial_update(self, request, *args, **kwargs):
        report = self.get_object()
        access.ensure(access.can_edit_report(request.user, report), access.NOT_LEAD_TO_EDIT)
        version = expected_version(request, report)
        serializer = ReportUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        report = services.report_update(
            actor=request.user, report=report, expected_version=version, data=dict(serializer.validated_data)
        )
        return report_response(report)

    def _transition(self, request, report, service, **kwargs):
        version = expected_version(request, report)
        return report_response(service(actor=request.user, report=report, expected_version=version, **kwargs))

    @extend_schema(
        summary="Submit a draft or returned report for review",
        request=EmptySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, pk=None):
        report = self.get_object()
        access.ensure(access.can_submit_report(request.user, report), access.NOT_LEAD_TO_SUBMIT)
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        return self._transition(request, report, services.report_submit)

    @extend_schema(
        summary="Withdraw a submitted report nobody has reviewed yet (lead): it is a draft again",
        request=WithdrawSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, pk=None):
        report = self.get_object()
        access.ensure(access.can_withdraw_report(request.user, report), access.NOT_LEAD_TO_WITHDRAW)
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(request, report, services.report_withdraw, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="Endorse a submitted report (ministry reviewer, 初核): it goes on to the secretariat",
        request=EmptySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def endorse(self, request, pk=None):
        report = self.get_object()
        access.ensure_reviewer(access.may_endorse_report, request.user, report, access.NOT_REVIEWER_TO_ENDORSE)
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        return self._transition(request, report, services.report_endorse)

    @extend_schema(
        summary="Return a report to its agency (a reviewer a submitted one, the secretariat one waiting for it)",
        request=ReturnSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="return")
    @idempotent
    def return_report(self, request, pk=None):
        report = self.get_object()
        access.ensure(access.can_return_report(request.user, report), access.NOT_REVIEWER_TO_RETURN)
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(request, report, services.report_return, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="Accept a report (secretariat, 複核): it is locked and its figures count",
        request=EmptySerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def accept(self, request, pk=None):
        report = self.get_object()
        access.ensure_reviewer(access.may_accept_report, request.user, report, access.NOT_SECRETARIAT_TO_ACCEPT)
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        return self._transition(request, report, services.report_accept)

    @extend_schema(
        summary="Reopen an accepted report for correction (secretariat); its accepted figures stay in force",
        request=ReopenSerializer,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY, ETAG],
        responses={200: ReportSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reopen(self, request, pk=None):
        report = self.get_object()
        access.ensure(access.can_reopen_report(request.user, report), access.NOT_SECRETARIAT_TO_REOPEN)
        serializer = ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(request, report, services.report_reopen, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="Who did what to the report, oldest first", responses={200: ReportEventSerializer(many=True)}
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        report = self.get_object()
        if not access.can_see_report_history(request.user, report):
            raise NotFound()  # draft values and return reasons: as if there were no such report
        return Response(ReportEventSerializer(selectors.report_history(report=report), many=True).data)

    @extend_schema(
        summary="What an agency still owes, and by when",
        parameters=[
            OpenApiParameter(
                "agency",
                OpenApiTypes.STR,
                description=_(
                    "Agency id or name: the secretariat must name one (400 without it, or when none matches); "
                    "a lead always gets its own agency."
                ),
            )
        ],
        responses={
            200: OwedReportSerializer(many=True),
            400: OpenApiResponse(description=_("The secretariat named no agency, or one that matches none.")),
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def owed(self, request):
        requested = requested_agency(request) if access.can_choose_owed_agency(request.user) else None
        agency = access.owed_agency(request.user, requested=requested)
        return Response(OwedReportSerializer(selectors.reports_owed(agency=agency), many=True).data)

    @extend_schema(
        summary="What waits for your review, the longest waiting first",
        description=_(
            "For a ministry reviewer, the submitted reports of its ministry's sub-projects waiting for its "
            "endorsement (初核); for the Executive Secretariat, the reports waiting for its acceptance (複核)."
        ),
        responses={200: ReportSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="awaiting-review", filterset_class=None)
    def awaiting_review(self, request):
        reports = selectors.review_queue(user=request.user)
        page = self.paginate_queryset(selectors.with_report_children(reports))
        return self.get_paginated_response(ReportSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Quarters locked to filing and edits"),
    retrieve=extend_schema(summary="One quarter lock, with its exceptions"),
    destroy=extend_schema(summary="Unlock a quarter (secretariat)"),
)
class QuarterLockViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The Executive Secretariat closes a plan's quarter to filing and edits (review goes on) and lets single
    sub-projects in again until a date."""

    serializer_class = QuarterLockSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.lock_list(user=self.request.user)

    @extend_schema(summary="Lock a quarter of a plan (secretariat)", request=LockCreateSerializer)
    def create(self, request, *args, **kwargs):
        access.ensure(access.can_lock_quarters(request.user), access.NOT_SECRETARIAT_TO_LOCK)
        serializer = LockCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lock = services.quarter_lock_create(
            actor=request.user, plan=data["plan"], period=data["period"], reason=data["reason"]
        )
        return Response(QuarterLockSerializer(lock).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.quarter_lock_delete(actor=self.request.user, lock=instance)

    @extend_schema(
        summary="Let a sub-project into a locked quarter until a date (secretariat)",
        request=LockExceptionCreateSerializer,
        responses={201: LockExceptionSerializer},
    )
    @action(detail=True, methods=["post"])
    def exceptions(self, request, pk=None):
        lock = self.get_object()
        access.ensure(access.can_lock_quarters(request.user), access.NOT_SECRETARIAT_TO_LOCK)
        serializer = LockExceptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exception = services.lock_exception_grant(
            actor=request.user, lock=lock, node=data["project"], expires_on=data["expires_on"], reason=data["reason"]
        )
        return Response(LockExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(summary="One sub-project's exception to a quarter lock"),
    destroy=extend_schema(summary="Withdraw a sub-project's exception to a quarter lock (secretariat)"),
)
class LockExceptionViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """A sub-project let into a locked quarter until a date; granted through its lock's `exceptions`."""

    serializer_class = LockExceptionSerializer
    http_method_names = ["get", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.lock_exception_list(user=self.request.user)

    def perform_destroy(self, instance):
        services.lock_exception_revoke(actor=self.request.user, exception=instance)
