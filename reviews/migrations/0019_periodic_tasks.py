"""The periodic jobs as django-celery-beat rows, in Asia/Taipei, so the secretariat changes their times in the
admin. A job already there (by its name) is left as it is: running this again changes nothing, and never undoes
a time the secretariat set."""

from django.db import migrations
from django.utils import timezone

TIMEZONE = "Asia/Taipei"

# name -> (task, schedule, expire seconds, description). A schedule is a crontab (minute, hour, day of week:
# the indicators' statuses daily at 00:05, the scan daily at 02:00, the reminders daily at 09:00, 09:05 and 09:10,
# the digest on Mondays at 08:00) or a number of seconds (the webhook sweep every minute, stalled scans resumed
# every 5 minutes, the outbox relay every 5 seconds). The descriptions name no time: the secretariat may change it.
JOBS = {
    "scan-lagging": ("reviews.scan_lagging", ("0", "2", "*"), None, "掃描落後的子計畫並標示"),
    "report-reminders": ("reviews.report_reminders", ("0", "9", "*"), None, "提醒計畫承辦人將到期或逾期的季報"),
    "endorsement-reminders": (
        "reviews.endorsement_reminders",
        ("5", "9", "*"),
        None,
        "提醒部會管考窗口久候初核的季報",
    ),
    "assessment-reminders": (
        "assessments.due_reminders",
        ("10", "9", "*"),
        None,
        "提醒年度考評各步驟的到期日",
    ),
    "indicator-statuses": (
        "indicators.refresh_statuses",
        ("5", "0", "*"),
        None,
        "重新評估績效指標，達成情形隨日期改變者標示為已更新",
    ),
    "weekly-digest": ("reviews.weekly_digest", ("0", "8", "1"), None, "寄送執行秘書室週報"),
    "sweep-webhooks": ("reviews.sweep_webhooks", 60, 60, "重送已到期的 Webhook"),
    "resume-scans": ("reviews.resume_scans", 300, 300, "重新發布停滯的落後掃描批次"),
    "relay-outbox": ("reviews.relay_outbox", 5, 5, "發布待送的背景工作"),
}


def create_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    created = False
    for name, (task, schedule, expire_seconds, description) in JOBS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if isinstance(schedule, tuple):
            minute, hour, day_of_week = schedule
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week=day_of_week,
                day_of_month="*",
                month_of_year="*",
                timezone=TIMEZONE,
            )
            when = {"crontab": crontab}
        else:
            interval, _ = IntervalSchedule.objects.get_or_create(every=schedule, period="seconds")
            when = {"interval": interval}
        PeriodicTask.objects.create(
            name=name, task=task, expire_seconds=expire_seconds, description=description, **when
        )
        created = True
    if created:
        # What a running beat watches to read the schedule again (the model's save() does it outside migrations).
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0018_scan_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, migrations.RunPython.noop)]
