"""Runs of the lag scan spread over the Celery workers: one row per run, one per batch of sub-projects.

A run's batches are fixed when it is dispatched (ranges of sub-project ids), so a batch delivered again
scans the same sub-projects. Each row says how far its part got, so a run's progress and end are read
from the database, not from Celery's results (which are not kept).
"""

from django.db import models


class ScanRun(models.Model):
    """One scan of every sub-project as of a day, in batches that any worker may take."""

    # The id of the job that asked for it: the same job delivered again finds its run instead of starting another.
    key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    as_of = models.DateField()
    batch_size = models.PositiveIntegerField()
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    # The scan's totals (``ScanResult``), added up as batches commit; final once ``finished_at`` is set.
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"lag scan #{self.pk} as of {self.as_of}"


class ScanBatch(models.Model):
    """The sub-projects of one run with ``first_node_id <= id <= last_node_id``, scanned in one transaction."""

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    first_node_id = models.BigIntegerField()
    last_node_id = models.BigIntegerField()
    subprojects = models.PositiveIntegerField()
    # Each start of the batch is counted and committed before its scan, so a start that never finished (its
    # worker was lost) stays visible: ``attempts`` above 1 and ``last_started_at`` tell when it was redone.
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)  # the worker of the last start
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="scan_batch_number_unique"),
            models.CheckConstraint(
                condition=models.Q(first_node_id__lte=models.F("last_node_id")), name="scan_batch_range"
            ),
        ]

    def __str__(self):
        return f"batch {self.number} of lag scan #{self.run_id}"
