from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The pages people use in a browser: the secretariat's dashboard, sub-project pages, the leads' reports."""

    name = "console"
