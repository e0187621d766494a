"""Deletions are recorded for every API collection a mirror may hold (``/api/v1/deletions/``)."""

from django.db.models.signals import post_delete

# Model label -> the API collection it is served in.
TRACKED = {
    "projects.Agency": "agencies",
    "projects.Plan": "plans",
    "projects.PlanNode": "projects",
    "projects.Milestone": "milestones",
    "indicators.Indicator": "indicators",
    "reviews.QuarterlyReport": "reports",
    "reviews.LagFlag": "flags",
}


def _recorder(resource: str):
    def record(sender, instance, **kwargs):
        from .models import Tombstone

        Tombstone.objects.create(resource=resource, object_id=instance.pk)

    return record


def connect() -> None:
    for label, resource in TRACKED.items():
        post_delete.connect(_recorder(resource), sender=label, weak=False, dispatch_uid=f"tombstone:{label}")
