"""The site's pages without the annual report export, to check that the dashboard does not need it."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("console.urls")),
]
