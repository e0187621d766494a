"""How the OpenAPI schema describes signing in with a session (drf-spectacular reads this on startup)."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

SESSION_DESCRIPTION = (
    "A browser's session: `POST /api/v1/auth/session/` signs in and sets the session cookie and the `csrftoken` "
    "cookie (`GET` sets `csrftoken` too, before anyone signs in). Every write with a session (POST, PUT, PATCH, "
    "DELETE, signing in and out included) must send the `csrftoken` cookie's value in the `X-CSRFToken` header, "
    "or it is refused with 403. Programs with `Authorization: Token <key>` need no CSRF token."
)


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": SESSION_DESCRIPTION,
        }
