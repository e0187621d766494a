"""An accepted report is public: the reason it was once returned stays in its history only."""

from django.db import migrations


def clear_return_reasons(apps, schema_editor):
    apps.get_model("reviews", "QuarterlyReport").objects.filter(status="accepted").exclude(return_reason="").update(
        return_reason=""
    )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0004_event_time_default")]

    operations = [migrations.RunPython(clear_return_reasons, migrations.RunPython.noop)]
