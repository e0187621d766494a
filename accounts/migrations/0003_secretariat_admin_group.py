"""The Executive Secretariat's admin group (執行秘書室): what the secretariat does in the admin, as Django
permissions (``accounts.access.ADMIN_GROUP_PERMISSIONS``), given to every secretariat account.
``create_account`` and ``seed_demo`` give it to new ones, and every later ``migrate`` keeps it in step with
the table (``accounts.services.admin_groups_sync``, on post_migrate)."""

from django.db import migrations


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from accounts.access import SECRETARIAT_GROUP
    from accounts.services import admin_groups_sync

    for app_config in apps.get_app_configs():  # permissions are otherwise made only after every migration
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    admin_groups_sync(apps=apps)
    group = apps.get_model("auth", "Group").objects.get(name=SECRETARIAT_GROUP)
    for user in apps.get_model("accounts", "User").objects.filter(role="secretariat"):
        user.groups.add(group)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="執行秘書室").delete()


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
