"""The API's error answer where DRF does not write it (middlewares, Django's handlers): the same
``{"detail": ..., "code": ...}`` shape as ``gstp.errors.exception_handler``."""

from django.http import JsonResponse


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_response(detail, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": str(detail), "code": code}, status=status)
