from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import access
from .authentication import key_hash
from .models import ApiKey, User
from .services import account_groups_set, api_key_revoke, token_issue

# What only a superuser grants: who is a superuser, and permissions beyond a role's.
SUPERUSER_FIELDS = {"is_superuser", "groups", "user_permissions"}


def _without(fieldsets, names):
    return [
        (title, {**options, "fields": [f for f in options["fields"] if f not in names]}) for title, options in fieldsets
    ]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "role", "agency", "email", "is_active", "last_login"]
    list_filter = ["role", "is_active", "is_staff"]
    autocomplete_fields = ["agency"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("GSTP"), {"fields": ["role", "agency", "calendar"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("GSTP"), {"fields": ["role", "agency"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        """The secretariat manages accounts by role and agency; only a superuser grants more."""
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return _without(fieldsets, SUPERUSER_FIELDS | {"is_staff"})

    def get_queryset(self, request):
        accounts = super().get_queryset(request)
        return accounts if request.user.is_superuser else accounts.filter(is_superuser=False)

    def save_model(self, request, obj, form, change):
        # Working in the admin follows the role, as ``create_account`` sets it.
        obj.is_staff = access.role_works_in_admin(obj.role) or obj.is_superuser
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        account_groups_set(user=form.instance)


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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only a superuser may issue a key that acts as a superuser.
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = User.objects.filter(is_superuser=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
