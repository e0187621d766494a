from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        from . import schema  # noqa: F401  (registers the session's description in the OpenAPI schema)

        post_migrate.connect(_admin_groups_sync, dispatch_uid="accounts.admin_groups_sync")


def _admin_groups_sync(sender, using="default", **kwargs):
    # post_migrate is sent app by app (those with models), in INSTALLED_APPS order: once the last one's
    # permissions are made.
    if sender is [config for config in apps.get_app_configs() if config.models_module is not None][-1]:
        from .services import admin_groups_sync

        admin_groups_sync()
