"""What the apps' admin pages share."""

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """Rows that change only through the services (and their audit): shown, never added or changed here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
