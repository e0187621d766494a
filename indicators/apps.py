from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "indicators"

    def ready(self):
        from . import access  # noqa: F401  (registers the app's object permissions)
