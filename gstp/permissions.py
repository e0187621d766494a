from django.conf import settings
from rest_framework.permissions import BasePermission


class ApiDocsAccess(BasePermission):
    """The OpenAPI schema and docs page: anyone when ``GSTP_API_DOCS_PUBLIC`` is on, else signed-in users."""

    def has_permission(self, request, view):
        return settings.GSTP_API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)
