import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gstp.settings")

app = Celery("gstp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs, in Asia/Taipei (CELERY_TIMEZONE). Beat runs as a single process.
app.conf.beat_schedule = {
    # every day at 02:00: flag lagging sub-projects
    "scan-lagging": {"task": "reviews.scan_lagging", "schedule": crontab(hour=2, minute=0)},
    # every day at 09:00: remind leads of reports falling due or overdue
    "report-reminders": {"task": "reviews.report_reminders", "schedule": crontab(hour=9, minute=0)},
    # every day at 09:05: remind ministry reviewers of reports waiting too long for endorsement
    "endorsement-reminders": {"task": "reviews.endorsement_reminders", "schedule": crontab(hour=9, minute=5)},
    # every day at 09:10: remind whoever's step of the year's assessment is pending, before each due date
    "assessment-reminders": {"task": "assessments.due_reminders", "schedule": crontab(hour=9, minute=10)},
    # Mondays at 08:00: the secretariat's weekly digest
    "weekly-digest": {"task": "reviews.weekly_digest", "schedule": crontab(hour=8, minute=0, day_of_week=1)},
    # every minute: ask again for the webhook deliveries whose next attempt is due (their retry job may be lost)
    "sweep-webhooks": {"task": "reviews.sweep_webhooks", "schedule": 60.0, "options": {"expires": 60}},
    # every 5 seconds: publish jobs waiting in the outbox
    "relay-outbox": {"task": "reviews.relay_outbox", "schedule": 5.0, "options": {"expires": 5}},
}
