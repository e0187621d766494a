"""``Authorization: Token <key>`` against hashed API keys, and a browser's session."""

import datetime
import hashlib

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication as DrfSessionAuthentication
from rest_framework.authentication import TokenAuthentication

from .models import ApiKey

# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        api_key = ApiKey.objects.active().select_related("user__agency").filter(key_hash=key_hash(key)).first()
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return api_key.user, api_key


CSRF_FAILED = _(
    "CSRF check failed: a write with a session must send the value of the csrftoken cookie in the X-CSRFToken header."
)


class SessionAuthentication(DrfSessionAuthentication):
    """DRF's, with a failed CSRF check answered in the client's language (DRF's own words are English only)."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied:
            raise exceptions.PermissionDenied(CSRF_FAILED) from None
