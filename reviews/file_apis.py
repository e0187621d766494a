"""Evidence files (佐證資料) over the API: a report's files and a flag comment's, listed, uploaded
(``multipart/form-data``, the API's one body that is not JSON), downloaded and, for a report's, removed.

Who sees a report's files is ``access.can_see_report_files``, a comment's ``access.can_see_flag_files``;
everyone else gets 404 on the list, the upload and the download alike, even for a report they can read.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from gstp.limits import large_body

from . import access, selectors, services
from .apis import IDEMPOTENCY_KEY, expected_version
from .file_kinds import ACCEPTED
from .idempotency import idempotent
from .inputs import FileUploadSerializer
from .serializers import EvidenceFileSerializer

# Room for the multipart envelope around the file: boundaries, part headers, a long file name.
MULTIPART_ALLOWANCE = 64 * 1024
REPORT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The report's id."))
FLAG_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The flag's id."))
COMMENT_ID = OpenApiParameter(
    "comment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The comment's id, in the flag's thread.")
)
FILE_ID = OpenApiParameter("file_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The file's id."))
OPTIONAL_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_(
        "The report's ETag as last read (a stale one gets 412), or * for whatever version is current. Optional "
        "here: without it the file is added to (or removed from) the report as it is now. Either way the report's "
        "version goes up by one, since its list of files changed."
    ),
)
REPORT_ETAG = OpenApiParameter(
    "Report-ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201, 204],
    description=_("The report's new ETag, after the change to its files: send it as If-Match to change it next."),
)
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[201], description=_("The new file's path.")
)
DOWNLOAD_HEADERS = [
    OpenApiParameter(
        "Content-Disposition",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[200],
        description=_(
            "attachment, with the file's name as uploaded: in filename*= (UTF-8, RFC 6266 and RFC 8187), and an "
            "ASCII stand-in in filename= for clients that do not read filename*."
        ),
    ),
    OpenApiParameter(
        "Content-Length", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200], description=_("Bytes.")
    ),
]
UPLOAD_RESPONSES = {
    400: OpenApiResponse(
        description=_("No file in the field `file`, an empty one, or a kind that is not accepted; `errors.file` says.")
    ),
    403: OpenApiResponse(description=_("You may see the files, but not add to them.")),
    404: OpenApiResponse(description=_("No such report or comment, or its files are not yours to see.")),
    409: OpenApiResponse(
        description=_(
            "The report is not a draft or returned, its quarter is locked, or the same Idempotency-Key is in flight."
        )
    ),
    411: OpenApiResponse(description=_("A body past 1 MiB sent without Content-Length (chunked).")),
    412: OpenApiResponse(description=_("If-Match is stale.")),
    413: OpenApiResponse(
        description=_("The file, or the report's files together, would pass the server's limit; nothing is stored.")
    ),
    422: OpenApiResponse(description=_("Idempotency-Key reused for another request.")),
}
DOWNLOAD_RESPONSES = {
    **{(200, content_type): OpenApiTypes.BINARY for content_type in sorted(ACCEPTED)},
    404: OpenApiResponse(description=_("No such file, or not yours to see.")),
}


def upload_limit() -> int:
    return settings.GSTP_EVIDENCE_MAX_FILE_BYTES + MULTIPART_ALLOWANCE


def _ascii_stand_in(evidence) -> str:
    """A name for clients that cannot read filename*: the file's id, with its extension if that is plain."""
    extension = posixpath.splitext(evidence.name)[1]
    plain = extension.isascii() and extension[1:].isalnum()
    return f"evidence-{evidence.pk}{extension if plain else ''}"


def attachment_disposition(evidence) -> str:
    """``attachment; filename="..."; filename*=utf-8''...`` (RFC 6266): Django's header for the name as
    uploaded, with an ASCII stand-in beside it when the name is not plain ASCII."""
    header = content_disposition_header(True, evidence.name)
    if "filename*=" not in header:
        return header
    return f"attachment; filename=\"{_ascii_stand_in(evidence)}\"; filename*=utf-8''{quote(evidence.name)}"


def file_response(evidence) -> FileResponse:
    """The content, streamed, as an attachment of its detected type that no browser second-guesses."""
    response = FileResponse(
        evidence.content.open("rb"), as_attachment=True, filename=evidence.name, content_type=evidence.content_type
    )
    response["Content-Disposition"] = attachment_disposition(evidence)
    response["Content-Length"] = str(evidence.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private"
    response["ETag"] = f'"{evidence.sha256}"'
    return response


def _report_with_files(user, report_id):
    """The report, if the user sees it and its files; 404 otherwise, the same as no such report."""
    report = get_object_or_404(access.reports_for(user).select_related("node"), pk=report_id)
    if not access.can_see_report_files(user, report):
        raise NotFound()
    return report


def _comment_with_files(user, flag_id, comment_id):
    """The flag's comment, if the user sees the flag's files; 404 otherwise."""
    flag = get_object_or_404(access.flags_for(user).select_related("node"), pk=flag_id)
    if not access.can_see_flag_files(user, flag):
        raise NotFound()
    comment = get_object_or_404(flag.comments.all(), pk=comment_id)
    comment.flag = flag
    return comment


def _the_upload(request):
    serializer = FileUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["file"]


def _created(request, evidence) -> Response:
    response = Response(EvidenceFileSerializer(evidence).data, status=status.HTTP_201_CREATED)
    response["Location"] = f"{request.path}{evidence.pk}/"
    return response


class DownloadNegotiationMixin:
    """A download answers whatever the client accepts (its content is what it is); errors are JSON."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


class ReportFilesView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="reports_files_list",
        summary="A report's evidence files (佐證資料)",
        parameters=[REPORT_ID],
        responses={200: EvidenceFileSerializer(many=True), 404: UPLOAD_RESPONSES[404]},
    )
    def get(self, request, id):
        report = _report_with_files(request.user, id)
        files = selectors.report_files(user=request.user, report=report)
        return Response(EvidenceFileSerializer(files, many=True).data)

    @extend_schema(
        operation_id="reports_files_create",
        summary="Add an evidence file to a draft or returned report (lead)",
        description=_(
            "`multipart/form-data` with the file in the field `file`. Its kind is read from its content, never "
            "from its name or the Content-Type sent with it. Every upload appears in the report's history and "
            "raises the report's version (its new ETag is in `Report-ETag`). Uploads take an Idempotency-Key: a "
            "retry with the same key and the same file gets the first answer."
        ),
        parameters=[REPORT_ID, OPTIONAL_IF_MATCH, IDEMPOTENCY_KEY, REPORT_ETAG, LOCATION],
        request={"multipart/form-data": FileUploadSerializer},
        responses={201: EvidenceFileSerializer, **UPLOAD_RESPONSES},
    )
    @large_body(upload_limit, field="file")
    @idempotent
    def post(self, request, id):
        report = _report_with_files(request.user, id)
        access.ensure(access.can_add_report_files(request.user, report), access.NOT_LEAD_TO_ADD_FILES)
        version = expected_version(request, report) if request.headers.get("If-Match") else None
        evidence = services.report_file_add(
            actor=request.user, report=report, upload=_the_upload(request), expected_version=version
        )
        response = _created(request, evidence)
        response["Report-ETag"] = report.etag
        return response


class ReportFileView(DownloadNegotiationMixin, APIView):
    @extend_schema(
        operation_id="reports_files_download",
        summary="Download a report's evidence file",
        parameters=[REPORT_ID, FILE_ID, *DOWNLOAD_HEADERS],
        responses=DOWNLOAD_RESPONSES,
    )
    def get(self, request, id, file_id):
        report = _report_with_files(request.user, id)
        return file_response(get_object_or_404(selectors.report_files(user=request.user, report=report), pk=file_id))

    @extend_schema(
        operation_id="reports_files_destroy",
        summary="Remove an evidence file from a draft or returned report (lead)",
        description=_(
            "A file that was part of the report when it was endorsed or accepted stays (409). The removal appears "
            "in the report's history and raises its version (its new ETag is in `Report-ETag`)."
        ),
        parameters=[REPORT_ID, FILE_ID, OPTIONAL_IF_MATCH, REPORT_ETAG],
        responses={
            204: None,
            403: UPLOAD_RESPONSES[403],
            404: DOWNLOAD_RESPONSES[404],
            409: OpenApiResponse(
                description=_("The file is frozen, the report is not a draft or returned, or its quarter is locked.")
            ),
            412: UPLOAD_RESPONSES[412],
        },
    )
    def delete(self, request, id, file_id):
        report = _report_with_files(request.user, id)
        evidence = get_object_or_404(selectors.report_files(user=request.user, report=report), pk=file_id)
        access.ensure(access.can_add_report_files(request.user, report), access.NOT_LEAD_TO_ADD_FILES)
        evidence.report = report
        version = expected_version(request, report) if request.headers.get("If-Match") else None
        services.report_file_remove(actor=request.user, evidence=evidence, expected_version=version)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Report-ETag"] = report.etag
        return response


class CommentFilesView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="flags_comments_files_list",
        summary="A flag comment's files",
        parameters=[FLAG_ID, COMMENT_ID],
        responses={200: EvidenceFileSerializer(many=True), 404: UPLOAD_RESPONSES[404]},
    )
    def get(self, request, id, comment_id):
        comment = _comment_with_files(request.user, id, comment_id)
        return Response(
            EvidenceFileSerializer(selectors.comment_files(user=request.user, comment=comment), many=True).data
        )

    @extend_schema(
        operation_id="flags_comments_files_create",
        summary="Attach a file to your own comment on a flag (an improvement plan is often a document)",
        description=_(
            "`multipart/form-data` with the file in the field `file`, of the kinds a report's files may be. A "
            "comment's files are never removed: the thread is a record."
        ),
        parameters=[FLAG_ID, COMMENT_ID, IDEMPOTENCY_KEY, LOCATION],
        request={"multipart/form-data": FileUploadSerializer},
        responses={
            201: EvidenceFileSerializer,
            **{code: UPLOAD_RESPONSES[code] for code in (400, 404, 411, 413, 422)},
            403: OpenApiResponse(description=_("You may see the thread, but the comment is not yours.")),
            409: OpenApiResponse(description=_("The same Idempotency-Key is in flight.")),
        },
    )
    @large_body(upload_limit, field="file")
    @idempotent
    def post(self, request, id, comment_id):
        comment = _comment_with_files(request.user, id, comment_id)
        access.ensure(access.can_add_comment_files(request.user, comment), access.NOT_AUTHOR_TO_ADD_FILES)
        evidence = services.comment_file_add(actor=request.user, comment=comment, upload=_the_upload(request))
        return _created(request, evidence)


class CommentFileView(DownloadNegotiationMixin, APIView):
    @extend_schema(
        operation_id="flags_comments_files_download",
        summary="Download a flag comment's file",
        parameters=[FLAG_ID, COMMENT_ID, FILE_ID, *DOWNLOAD_HEADERS],
        responses=DOWNLOAD_RESPONSES,
    )
    def get(self, request, id, comment_id, file_id):
        comment = _comment_with_files(request.user, id, comment_id)
        return file_response(get_object_or_404(selectors.comment_files(user=request.user, comment=comment), pk=file_id))
