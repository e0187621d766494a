"""A self-assessment's evidence files (佐證資料) over the API, as a report's: listed, uploaded
(``multipart/form-data``), downloaded and removed. Only the assessment's chain sees them (the secretariat, the
sub-project's leads and its ministry's reviewers); for anyone else every file URL is a 404. The leads add and
remove them while the self-assessment is in progress or returned; the ministry's review freezes them."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from gstp.limits import large_body
from reviews.apis import IDEMPOTENCY_KEY
from reviews.file_apis import (
    DOWNLOAD_HEADERS,
    DOWNLOAD_RESPONSES,
    DownloadNegotiationMixin,
    file_response,
    upload_limit,
)
from reviews.idempotency import idempotent
from reviews.inputs import FileUploadSerializer

from . import access, selectors, services
from .apis import expected_version
from .serializers import AssessmentFileSerializer

ASSESSMENT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The assessment's id."))
FILE_ID = OpenApiParameter("file_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The file's id."))
OPTIONAL_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_(
        "The assessment's ETag as last read (a stale one gets 412), or * for whatever version is current. Optional "
        "here: without it the file is added to (or removed from) the assessment as it is now. Either way the "
        "assessment's version goes up by one."
    ),
)
ASSESSMENT_ETAG = OpenApiParameter(
    "Assessment-ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201, 204],
    description=_("The assessment's new ETag, after the change to its files: send it as If-Match next."),
)
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[201], description=_("The new file's path.")
)
UPLOAD_RESPONSES = {
    400: OpenApiResponse(
        description=_("No file in the field `file`, an empty one, or a kind that is not accepted; `errors.file` says.")
    ),
    403: OpenApiResponse(description=_("You may see the files, but not add to them.")),
    404: OpenApiResponse(description=_("No such assessment, or its files are not yours to see.")),
    409: OpenApiResponse(
        description=_(
            "The self-assessment is not in progress or returned, the assessment is published, or the same "
            "Idempotency-Key is in flight."
        )
    ),
    411: OpenApiResponse(description=_("A body past 1 MiB sent without Content-Length (chunked).")),
    412: OpenApiResponse(description=_("If-Match is stale.")),
    413: OpenApiResponse(
        description=_("The file, or the assessment's files together, would pass the server's limit; nothing is stored.")
    ),
    422: OpenApiResponse(description=_("Idempotency-Key reused for another request.")),
}


def _assessment_with_files(user, assessment_id):
    """The assessment, if the user sees it and its files; 404 otherwise, the same as no such assessment."""
    assessment = get_object_or_404(access.assessments_for(user).select_related("scheme", "node"), pk=assessment_id)
    if not access.sees_whole(user, assessment):
        raise NotFound()
    return assessment


def _version(request, assessment):
    return expected_version(request, assessment, kind="a") if request.headers.get("If-Match") else None


class AssessmentFilesView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="assessments_files_list",
        summary="A self-assessment's evidence files (佐證資料)",
        parameters=[ASSESSMENT_ID],
        responses={200: AssessmentFileSerializer(many=True), 404: UPLOAD_RESPONSES[404]},
    )
    def get(self, request, id):
        assessment = _assessment_with_files(request.user, id)
        files = selectors.assessment_files(user=request.user, assessment=assessment)
        return Response(AssessmentFileSerializer(files, many=True).data)

    @extend_schema(
        operation_id="assessments_files_create",
        summary="Add an evidence file to a self-assessment in progress or returned (lead)",
        description=_(
            "`multipart/form-data` with the file in the field `file`, of the kinds a report's files may be. Every "
            "upload appears in the assessment's history and raises its version (the new ETag is in "
            "`Assessment-ETag`). Uploads take an Idempotency-Key."
        ),
        parameters=[ASSESSMENT_ID, OPTIONAL_IF_MATCH, IDEMPOTENCY_KEY, ASSESSMENT_ETAG, LOCATION],
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: AssessmentFileSerializer, **UPLOAD_RESPONSES},
    )
    @large_body(upload_limit, field="file")
    @idempotent
    def post(self, request, id):
        assessment = _assessment_with_files(request.user, id)
        access.ensure(access.can_add_files(request.user, assessment), access.NOT_LEAD_TO_ADD_FILES)
        serializer = FileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = services.assessment_file_add(
            actor=request.user,
            assessment=assessment,
            upload=serializer.validated_data["file"],
            expected_version=_version(request, assessment),
        )
        response = Response(AssessmentFileSerializer(evidence).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"{request.path}{evidence.pk}/"
        response["Assessment-ETag"] = assessment.etag
        return response


class AssessmentFileView(DownloadNegotiationMixin, APIView):
    @extend_schema(
        operation_id="assessments_files_download",
        summary="Download a self-assessment's evidence file",
        parameters=[ASSESSMENT_ID, FILE_ID, *DOWNLOAD_HEADERS],
        responses=DOWNLOAD_RESPONSES,
    )
    def get(self, request, id, file_id):
        assessment = _assessment_with_files(request.user, id)
        files = selectors.assessment_files(user=request.user, assessment=assessment)
        return file_response(get_object_or_404(files, pk=file_id))

    @extend_schema(
        operation_id="assessments_files_destroy",
        summary="Remove an evidence file from a self-assessment in progress or returned (lead)",
        description=_(
            "A file the ministry's review froze stays (409). The removal appears in the assessment's history."
        ),
        parameters=[ASSESSMENT_ID, FILE_ID, OPTIONAL_IF_MATCH, ASSESSMENT_ETAG],
        responses={
            204: None,
            403: UPLOAD_RESPONSES[403],
            404: DOWNLOAD_RESPONSES[404],
            409: OpenApiResponse(description=_("The file is frozen, or the self-assessment is not open to changes.")),
            412: UPLOAD_RESPONSES[412],
        },
    )
    def delete(self, request, id, file_id):
        assessment = _assessment_with_files(request.user, id)
        evidence = get_object_or_404(selectors.assessment_files(user=request.user, assessment=assessment), pk=file_id)
        access.ensure(access.can_add_files(request.user, assessment), access.NOT_LEAD_TO_ADD_FILES)
        evidence.assessment = assessment
        services.assessment_file_remove(
            actor=request.user, evidence=evidence, expected_version=_version(request, assessment)
        )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Assessment-ETag"] = assessment.etag
        return response
