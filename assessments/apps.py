from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessments"
    verbose_name = _("Annual assessments")

    def ready(self):
        from . import access  # noqa: F401  (registers the app's object permissions)
        from .notifications import webhooks_register

        webhooks_register()
