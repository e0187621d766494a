from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .authentication import key_hash
from .models import ApiKey, User
from .services import api_key_revoke, token_issue


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "role", "agency", "email", "is_active", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    autocomplete_fields = ["agency"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("GSTP"), {"fields": ["role", "agency"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("GSTP"), {"fields": ["role", "agency"]}),
    ]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """The secretariat issues keys for other systems here; a new key is shown once, then only its hash is kept."""

    list_display = ["__str__", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key = token_issue(user=obj.user, name=obj.name, created_by=request.user)
        obj.pk = ApiKey.objects.get(key_hash=key_hash(key)).pk
        self.message_user(
            request,
            _("The new key is %(key)s. Copy it now: it will not be shown again.") % {"key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
