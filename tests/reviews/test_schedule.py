"""The schedule of periodic jobs lives in the database (django-celery-beat), in Asia/Taipei, so the secretariat
changes the scan's time, the digest's day and the reminders' times in the admin; nobody else changes it."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounts.models import Role
from accounts.services import account_groups_set
from gstp.beat import FileLock
from reviews import access
from tests.accounts.factories import UserFactory
from tests.projects.factories import AgencyFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_celery_beat/periodictask/"
first_schedule = importlib.import_module("reviews.migrations.0019_periodic_tasks")


@pytest.fixture(autouse=True)
def first_schedule_written():
    """The rows the data migration wrote: again, since a transactional test before this one emptied the tables
    (writing them again changes nothing where they are)."""
    first_schedule.create_periodic_tasks(apps, None)


def crontab_of(name: str) -> tuple:
    crontab = PeriodicTask.objects.get(name=name).crontab
    return crontab.minute, crontab.hour, crontab.day_of_week, str(crontab.timezone)


def test_the_migration_wrote_the_schedule_in_taipei_time():
    assert crontab_of("scan-lagging") == ("0", "2", "*", "Asia/Taipei")
    assert crontab_of("report-reminders") == ("0", "9", "*", "Asia/Taipei")
    assert crontab_of("endorsement-reminders") == ("5", "9", "*", "Asia/Taipei")
    assert crontab_of("assessment-reminders") == ("10", "9", "*", "Asia/Taipei")
    assert crontab_of("weekly-digest") == ("0", "8", "1", "Asia/Taipei")
    assert crontab_of("indicator-statuses") == ("5", "0", "*", "Asia/Taipei")
    assert PeriodicTask.objects.get(name="indicator-statuses").task == "indicators.refresh_statuses"
    relay = PeriodicTask.objects.get(name="relay-outbox")
    assert (relay.task, relay.interval.every, relay.interval.period, relay.expire_seconds) == (
        "reviews.relay_outbox",
        5,
        "seconds",
        5,
    )
    sweep = PeriodicTask.objects.get(name="sweep-webhooks")
    assert (sweep.task, sweep.interval.every, sweep.expire_seconds) == ("reviews.sweep_webhooks", 60, 60)
    assert PeriodicTask.objects.get(name="assessment-reminders").task == "assessments.due_reminders"
    assert all(task.enabled for task in PeriodicTask.objects.all())


def test_the_migration_again_changes_nothing_and_keeps_the_secretariat_s_times():
    # given the secretariat moved the scan to 03:30
    scan = PeriodicTask.objects.get(name="scan-lagging")
    scan.crontab = CrontabSchedule.objects.create(minute="30", hour="3", timezone="Asia/Taipei")
    scan.save()
    counts = (PeriodicTask.objects.count(), CrontabSchedule.objects.count(), IntervalSchedule.objects.count())

    # when the data migration runs again
    first_schedule.create_periodic_tasks(apps, None)

    # then nothing was added and the secretariat's time stands
    assert (PeriodicTask.objects.count(), CrontabSchedule.objects.count(), IntervalSchedule.objects.count()) == counts
    assert crontab_of("scan-lagging") == ("30", "3", "*", "Asia/Taipei")


def in_admin(role, username, **fields):
    user = UserFactory(username=username, role=role, is_staff=True, **fields)
    account_groups_set(user=user)
    return user


def test_the_secretariat_moves_the_digest_to_another_day_in_the_admin(client):
    client.force_login(in_admin(Role.SECRETARIAT, "schedule-secretariat"))
    digest = PeriodicTask.objects.get(name="weekly-digest")
    friday = CrontabSchedule.objects.create(minute="0", hour="17", day_of_week="5", timezone="Asia/Taipei")

    listed = client.get(CHANGELIST)
    assert listed.status_code == 200
    assert {task.name for task in listed.context["cl"].result_list} >= {"scan-lagging", "weekly-digest"}
    assert "排程工作" in listed.content.decode()  # the admin's labels in zh-Hant
    page = client.get(f"{CHANGELIST}{digest.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"]

    form = page.context["adminform"].form
    assert set(form.fields) == {"enabled", "description", "interval", "crontab", "clocked", "start_time", "one_off"}
    data = {name: value for name, value in form.initial.items() if value is not None}
    # what job runs, with which arguments, on which queue, is not the form's: posted anyway, it is ignored
    data.update(crontab=friday.pk, task="reviews.fan_out_webhook", kwargs='{"ids": [1]}', queue="nowhere")
    data = {name: ("on" if value is True else value) for name, value in data.items() if value is not False}
    response = client.post(f"{CHANGELIST}{digest.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert crontab_of("weekly-digest") == ("0", "17", "5", "Asia/Taipei")
    digest.refresh_from_db()
    assert (digest.task, digest.kwargs, digest.queue) == ("reviews.weekly_digest", "{}", None)


def test_jobs_are_neither_added_deleted_nor_run_from_the_admin_and_the_outbox_relay_not_changed(client):
    client.force_login(UserFactory(username="schedule-root", is_staff=True, is_superuser=True))
    relay = PeriodicTask.objects.get(name="relay-outbox")
    digest = PeriodicTask.objects.get(name="weekly-digest")

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{digest.pk}/delete/", {"post": "yes"}).status_code == 403
    listed = client.get(CHANGELIST)
    assert listed.context["action_form"] is None  # no actions: nothing run, enabled or deleted in bulk
    relay_page = client.get(f"{CHANGELIST}{relay.pk}/change/")
    assert relay_page.status_code == 200 and not relay_page.context["has_change_permission"]
    response = client.post(f"{CHANGELIST}{relay.pk}/change/", {"enabled": ""})
    assert response.status_code == 403
    relay.refresh_from_db()
    assert relay.enabled and PeriodicTask.objects.filter(pk=digest.pk).exists()


def test_only_the_secretariat_and_superusers_change_the_schedule(client):
    secretariat = in_admin(Role.SECRETARIAT, "schedule-secretariat")
    lead = in_admin(Role.LEAD, "schedule-lead", agency=AgencyFactory())
    reader = in_admin(Role.READER, "schedule-reader")
    superuser = UserFactory(username="schedule-root", is_staff=True, is_superuser=True)

    assert access.can_change_schedule(secretariat)
    assert access.can_change_schedule(superuser)
    assert not access.can_change_schedule(lead)
    assert not access.can_change_schedule(reader)
    assert lead.has_perm("reviews.change_schedule") is False
    for user in (lead, reader):
        client.force_login(user)
        assert client.get(CHANGELIST).status_code == 302  # the admin is not theirs
    client.force_login(superuser)
    digest = PeriodicTask.objects.get(name="weekly-digest")
    assert client.get(f"{CHANGELIST}{digest.pk}/change/").context["has_change_permission"]


def test_with_the_broker_in_files_one_beat_at_a_time_holds_the_lock_until_it_lets_go(tmp_path):
    # (the Redis lock, with two real beats: test_single_beat.py)
    first, second = FileLock(tmp_path / "celerybeat.lock"), FileLock(tmp_path / "celerybeat.lock")

    assert first.hold(held=False)
    assert not second.hold(held=False)
    assert first.hold(held=True)
    first.release()
    assert second.hold(held=False)
    assert not first.hold(held=False)
