from django.urls import path

from .apis import SessionApi

urlpatterns = [
    path("auth/session/", SessionApi.as_view(), name="auth-session"),
]
