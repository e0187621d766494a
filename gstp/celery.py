import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")

app = Celery("gstp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic jobs (the daily scan, the reminders, the weekly digest, the webhook sweep, the outbox relay) are
# rows of django-celery-beat's PeriodicTask, in Asia/Taipei (CELERY_TIMEZONE): the secretariat changes their
# times in the admin. reviews/migrations/0019_periodic_tasks.py wrote the first schedule. Beat reads them
# (CELERY_BEAT_SCHEDULER, gstp/beat.py), one beat at a time.


class RestoreUnacknowledged(bootsteps.StartStopStep):
    """Hand back, every ``GSTP_BROKER_RESTORE_SECONDS``, the jobs a lost worker took and never acknowledged.

    Redis holds a job a worker took until the worker acknowledges it; one held longer than the visibility timeout
    (``GSTP_BROKER_VISIBILITY_TIMEOUT``) goes back to the queue when a worker looks, and kombu's workers look every
    100 s. This step makes each worker look more often, so a lost worker's job is redone within the timeout plus
    this. The look is kombu's own (a lock in Redis keeps two workers from looking at once)."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def __init__(self, parent, **kwargs):
        self.timer = None

    def start(self, parent):
        from django.conf import settings

        cycle = getattr(parent.connection.transport, "cycle", None)
        seconds = settings.GSTP_BROKER_RESTORE_SECONDS
        if seconds and parent.hub is not None and hasattr(cycle, "maybe_restore_messages"):
            self.timer = parent.hub.call_repeatedly(seconds, self.look, cycle)

    @staticmethod
    def look(cycle) -> None:
        for channel in cycle._channels:
            if channel.active_queues:  # the unacknowledged jobs are the broker's, not the channel's: one look
                channel.qos.restore_visible(num=channel.unacked_restore_limit, interval=1)
                return

    def stop(self, parent):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


app.steps["consumer"].add(RestoreUnacknowledged)
