"""The secretariat works in the admin for what the README says it does there, through the 執行秘書室 group
that ``create_account`` and ``seed_demo`` give every secretariat account; other roles do not get in."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from accounts.access import SECRETARIAT_GROUP
from accounts.models import User
from tests.projects.factories import AgencyFactory

# The admin pages of the README's list: lag settings, API keys, accounts, webhook subscriptions, the plan
# structure; and the reports, flags and sign-in lockouts it shows.
CHANGE_LISTS = [
    "/admin/reviews/lagsettings/",
    "/admin/accounts/apikey/",
    "/admin/accounts/user/",
    "/admin/reviews/webhooksubscription/",
    "/admin/projects/plan/",
    "/admin/projects/plannode/",
    "/admin/projects/agency/",
    "/admin/projects/milestone/",
    "/admin/indicators/indicator/",
    "/admin/reviews/quarterlyreport/",
    "/admin/reviews/lagflag/",
    "/admin/axes/accessattempt/",
]
ADD_PAGES = ["/admin/reviews/webhooksubscription/add/", "/admin/accounts/apikey/add/", "/admin/accounts/user/add/"]


def _signed_in(username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.mark.django_db
def test_the_migration_made_the_secretariat_group():
    group = Group.objects.get(name=SECRETARIAT_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))

    assert {
        "change_lagsettings",
        "add_apikey",
        "change_user",
        "add_webhooksubscription",
        "change_plannode",
    } <= codenames
    assert "change_quarterlyreport" not in codenames  # reports change only through their lifecycle
    assert "delete_user" not in codenames


@pytest.mark.django_db
def test_create_account_gives_a_secretariat_account_the_admin(capsys):
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")
    client = _signed_in("officer")

    assert client.get("/admin/").status_code == 200
    for path in CHANGE_LISTS + ADD_PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/reviews/quarterlyreport/add/").status_code == 403


@pytest.mark.django_db
def test_a_role_change_takes_the_admin_away(capsys):
    AgencyFactory(name="數位發展部", short_name="數位部")
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")
    call_command("create_account", "officer", "--role", "lead", "--agency", "數位部")
    officer = User.objects.get(username="officer")

    assert not officer.is_staff
    assert not officer.groups.filter(name=SECRETARIAT_GROUP).exists()
    assert _signed_in("officer").get("/admin/").status_code == 302  # to the admin's sign-in


@pytest.mark.django_db
@pytest.mark.slow
def test_the_demo_secretariat_works_in_the_admin():
    call_command("seed_demo", "--no-reports", verbosity=0)
    secretariat = _signed_in("secretariat")

    response = secretariat.get("/admin/")
    assert response.status_code == 200
    assert "你沒有查看或編輯的權限" not in response.content.decode()
    for path in CHANGE_LISTS:
        assert secretariat.get(path).status_code == 200, path
    for lead in ("moda-lead", "portal"):
        assert _signed_in(lead).get("/admin/").status_code == 302


@pytest.mark.django_db
def test_the_secretariat_cannot_grant_itself_more_than_its_role(capsys):
    # given: a superuser, and a secretariat account working in the admin
    User.objects.create_superuser("root", "root@example.org", "a long passphrase 2025")
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")
    officer = User.objects.get(username="officer")
    client = _signed_in("officer")

    # then: superusers are not among the accounts it manages, and its forms grant nothing beyond a role
    listed = client.get("/admin/accounts/user/").content.decode()
    assert "officer" in listed and "root" not in listed
    assert client.get(f"/admin/accounts/user/{User.objects.get(username='root').pk}/change/").status_code == 302
    form = client.get(f"/admin/accounts/user/{officer.pk}/change/").content.decode()
    for field in ("is_superuser", "user_permissions", "groups", "is_staff"):
        assert f'name="{field}"' not in form, field
    key_form = client.get("/admin/accounts/apikey/add/").content.decode()
    assert "root" not in key_form  # no key that acts as a superuser

    # when: it tries anyway
    client.post(
        f"/admin/accounts/user/{officer.pk}/change/",
        {
            "username": "officer",
            "role": "secretariat",
            "is_active": "on",
            "is_superuser": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    officer.refresh_from_db()
    assert not officer.is_superuser


@pytest.mark.django_db
def test_a_role_changed_in_the_admin_changes_the_admin_groups(capsys):
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")
    call_command("create_account", "reader", "--role", "reader", "--password", "a long passphrase 2025")
    reader = User.objects.get(username="reader")
    client = _signed_in("officer")

    response = client.post(
        f"/admin/accounts/user/{reader.pk}/change/",
        {
            "username": "reader",
            "role": "secretariat",
            "is_active": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    reader.refresh_from_db()
    assert reader.role == "secretariat" and reader.is_staff
    assert reader.groups.filter(name=SECRETARIAT_GROUP).exists()


@pytest.mark.django_db
def test_staff_status_alone_does_not_open_the_admin():
    # given: a lead flagged as staff by hand, with a permission
    User.objects.create_user(
        "lead-staff", password="a long passphrase 2025", role="lead", agency=AgencyFactory(), is_staff=True
    )

    # then: the admin asks the role (accounts.access.administers), not the flag
    assert _signed_in("lead-staff").get("/admin/").status_code == 302


@pytest.mark.django_db
def test_the_admin_groups_follow_the_table_after_every_migrate():
    from django.apps import apps
    from django.contrib.auth.models import Permission
    from django.db.models.signals import post_migrate

    # given: the group lost, as a flush loses it, and a permission it should not have
    group = Group.objects.get(name=SECRETARIAT_GROUP)
    expected = set(group.permissions.values_list("codename", flat=True))
    group.delete()
    stray = Group.objects.create(name=SECRETARIAT_GROUP)
    stray.permissions.add(Permission.objects.get(codename="change_quarterlyreport"))

    # when: migrate (or flush) signals it is done
    for config in apps.get_app_configs():
        if config.models_module is not None:
            post_migrate.send(
                sender=config, app_config=config, verbosity=0, interactive=False, using="default", apps=apps, plan=[]
            )

    # then
    assert set(Group.objects.get(name=SECRETARIAT_GROUP).permissions.values_list("codename", flat=True)) == expected


@pytest.mark.django_db
def test_the_admin_shows_an_indicators_actuals_without_letting_them_change(capsys):
    from decimal import Decimal

    from tests.indicators.factories import IndicatorActualFactory

    actual = IndicatorActualFactory(value=Decimal("42"))
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")

    page = _signed_in("officer").get(f"/admin/indicators/indicator/{actual.indicator_id}/change/").content.decode()

    assert "42" in page  # shown
    assert 'name="actuals-0-value"' not in page and 'name="actuals-__prefix__-value"' not in page  # not editable


@pytest.mark.django_db
def test_the_secretariat_sets_an_account_s_calendar_in_the_admin(capsys):
    call_command("create_account", "officer", "--role", "secretariat", "--password", "a long passphrase 2025")
    call_command("create_account", "reader", "--role", "reader", "--password", "a long passphrase 2025")
    reader = User.objects.get(username="reader")
    client = _signed_in("officer")
    assert 'name="calendar"' in client.get(f"/admin/accounts/user/{reader.pk}/change/").content.decode()

    response = client.post(
        f"/admin/accounts/user/{reader.pk}/change/",
        {
            "username": "reader",
            "role": "reader",
            "calendar": "roc",
            "is_active": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    reader.refresh_from_db()
    assert reader.calendar == "roc"
