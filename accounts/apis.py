"""Signing in and out with a session, for scripts running in a browser (programs use API keys).

The session is Django's and the CSRF protection Django's: the answers set the ``sessionid`` and ``csrftoken``
cookies, and every write with a session, signing in and out included, sends the ``csrftoken`` cookie's value
in ``X-CSRFToken``. Sign-ins are counted by django-axes (``accounts.lockout``) like the admin's and the
console's: too many failures answer 429.
"""

from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import SessionAuthentication
from .serializers import SignedInUserSerializer, SignInSerializer

INVALID_CREDENTIALS = _("The username or password is not correct.")


def signed_in_user(user) -> dict:
    agency = user.agency
    return SignedInUserSerializer(
        {
            "username": user.get_username(),
            "role": user.role,
            "agency": agency and {"id": agency.pk, "name": agency.name, "short_name": agency.short_name},
        }
    ).data


class SessionApi(APIView):
    """The browser's session: who is signed in (GET), sign in (POST), sign out (DELETE)."""

    def get_permissions(self):
        if self.request.method == "GET":
            return [IsAuthenticated()]
        return [AllowAny()]

    def initial(self, request, *args, **kwargs):
        # Every answer, a 401 included, carries the csrftoken cookie a page's script sends back in X-CSRFToken.
        get_token(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="auth_session_retrieve",
        summary="Who is signed in",
        description="The account signed in with this session (or API key); 401 when nobody is. "
        "The answer sets the `csrftoken` cookie, so a page can read it before signing in.",
        responses={200: SignedInUserSerializer},
    )
    def get(self, request):
        return Response(signed_in_user(request.user))

    @extend_schema(
        operation_id="auth_session_create",
        summary="Sign in with a username and password",
        description="Starts a session: the answer sets the `sessionid` cookie and a new `csrftoken` cookie. "
        "Send the `csrftoken` cookie's value (from an earlier `GET` of this path) in `X-CSRFToken`. A wrong "
        "username or password is a 400 that does not tell whether the account exists; too many failures for "
        "an account or from an address are refused with 429 until the cool-off has passed.",
        request=SignInSerializer,
        responses={
            200: SignedInUserSerializer,
            400: OpenApiResponse(description=_("A wrong username or password, or a field missing.")),
            403: OpenApiResponse(description=_("No CSRF token, or one that does not match the csrftoken cookie.")),
            429: OpenApiResponse(
                description=_(
                    "Too many failed sign-ins for this account or from this address, or too many requests from "
                    "this address."
                )
            ),
        },
    )
    def post(self, request):
        # Signing in changes who the browser is: a page of another site must not do it (login CSRF).
        SessionAuthentication().enforce_csrf(request)
        serializer = SignInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's request: django-axes counts the attempt and marks a lockout on it (AxesMiddleware answers 429).
        user = authenticate(request._request, **serializer.validated_data)
        if user is None:
            raise ValidationError({"non_field_errors": [INVALID_CREDENTIALS]}, code="invalid_credentials")
        login(request._request, user)
        return Response(signed_in_user(user))

    @extend_schema(
        operation_id="auth_session_destroy",
        summary="Sign out",
        description="Ends the session (an API key stays valid). Answers 204 when nobody was signed in too.",
        request=None,
        responses={204: OpenApiResponse(description=_("Signed out."))},
    )
    def delete(self, request):
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
