"""The Executive Secretariat's admin group (執行秘書室): what the secretariat does in the admin, as Django
permissions, given to every secretariat account. ``create_account`` and ``seed_demo`` give it to new ones
(``accounts.access.admin_groups_for_role``). A later migration that adds a model the secretariat works on
in the admin adds its permissions to this group."""

from django.db import migrations

GROUP = "執行秘書室"
ALL = ("add", "change", "delete", "view")
WRITE = ("add", "change", "view")
READ = ("view",)
PERMISSIONS = {
    # Accounts and API keys: people are deactivated rather than deleted, keys revoked.
    ("accounts", "user"): WRITE,
    ("accounts", "apikey"): WRITE,
    # The plan structure.
    ("projects", "agency"): ALL,
    ("projects", "agencyalias"): ALL,
    ("projects", "plan"): WRITE,
    ("projects", "plannode"): ALL,
    ("projects", "nodeagency"): ALL,
    ("projects", "milestone"): ALL,
    ("indicators", "indicator"): ALL,
    ("indicators", "indicatortarget"): ALL,
    ("indicators", "indicatoractual"): READ,
    # Lag settings (each change recorded), webhook subscriptions; the rest is shown, changed only by services.
    ("reviews", "lagsettings"): WRITE,
    ("reviews", "lagsettingschange"): READ,
    ("reviews", "webhooksubscription"): ALL,
    ("reviews", "webhookdelivery"): READ,
    ("reviews", "quarterlyreport"): READ,
    ("reviews", "reportevent"): READ,
    ("reviews", "lagflag"): READ,
    ("reviews", "outboxmessage"): READ,
    ("reviews", "emaillog"): READ,
    # Sign-in lockouts, which the secretariat may lift.
    ("axes", "accessattempt"): ("view", "delete"),
}


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # permissions are otherwise made only after every migration
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("accounts", "User")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for (app_label, model), actions in PERMISSIONS.items():
        codenames = [f"{action}_{model}" for action in actions]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    for user in User.objects.filter(role="secretariat"):
        user.groups.add(group)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_keys"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("axes", "0010_accessattemptexpiration"),
        ("projects", "0004_node_tree_order"),
        ("indicators", "0002_actual_as_of_and_recorder"),
        ("reviews", "0004_event_time_default"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
