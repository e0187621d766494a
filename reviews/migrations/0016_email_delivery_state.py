import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def earlier_rows_were_sent(apps, schema_editor):
    """Every row written before the delivery state was recorded stands for an email the server accepted."""
    apps.get_model("reviews", "EmailLog").objects.update(status="sent", attempts=1, created_at=F("sent_at"))


class Migration(migrations.Migration):
    dependencies = [("reviews", "0015_flag_score_help_text")]

    operations = [
        migrations.AlterModelOptions(name="emaillog", options={"ordering": ["-created_at"]}),
        migrations.AddField(
            model_name="emaillog",
            name="status",
            field=models.CharField(
                choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=10
            ),
        ),
        migrations.AddField(model_name="emaillog", name="attempts", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="emaillog", name="last_error", field=models.TextField(blank=True)),
        migrations.AddField(
            model_name="emaillog",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AlterField(model_name="emaillog", name="sent_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(earlier_rows_were_sent, migrations.RunPython.noop),
    ]
