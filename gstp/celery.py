import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")

app = Celery("gstp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic jobs (the daily scan, the reminders, the weekly digest, the webhook sweep, the outbox relay) are
# rows of django-celery-beat's PeriodicTask, in Asia/Taipei (CELERY_TIMEZONE): the secretariat changes their
# times in the admin. reviews/migrations/0019_periodic_tasks.py wrote the first schedule. Beat reads them
# (CELERY_BEAT_SCHEDULER, gstp/beat.py), one beat at a time.
