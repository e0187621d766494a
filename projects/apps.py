from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = _("Plan structure")

    def ready(self):
        from . import access, tombstones  # noqa: F401  (access registers the app's object permissions)

        tombstones.connect()
