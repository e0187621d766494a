from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessments"
    verbose_name = _("Annual assessments")

    def ready(self):
        from reviews.annual import chapters

        from . import access  # noqa: F401  (registers the app's object permissions)
        from .annual import assessment_chapter
        from .notifications import webhooks_register

        chapters.register(assessment_chapter)
        webhooks_register()

    def demo_load(self, *, on):
        """``seed_demo``'s step for this app: the demo plan's published year and year in progress (``demo``);
        the line it prints, or None when there was nothing to load."""
        from .demo import demo_assessments_load

        loaded = demo_assessments_load(on=on)
        if loaded is None:
            return None
        grades = "、".join(f"{grade} {count}" for grade, count in loaded.grades.items())
        return (
            f"Assessed {loaded.assessments} sub-projects: {loaded.published} published ({grades}), "
            f"{loaded.in_progress} in progress."
        )
