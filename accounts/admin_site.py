"""Django's admin, with a site that asks ``accounts.access`` who works in it."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminSite(admin.AdminSite):
    """Who works in the admin is ``accounts.access.administers`` (the secretariat, and superusers); what
    each may change there, the permissions of the groups its role brings."""

    def has_permission(self, request):
        from . import access  # this module is read while the apps load, before any model may be

        return super().has_permission(request) and access.administers(request.user)


class AdminConfig(DjangoAdminConfig):
    default_site = "accounts.admin_site.AdminSite"
