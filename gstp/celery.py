import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")

app = Celery("gstp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs. Beat runs as a single process.
app.conf.beat_schedule = {}
