from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION reviews_reportevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'reviews_reportevent is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reviews_reportevent_append_only
    BEFORE UPDATE OR DELETE ON reviews_reportevent
    FOR EACH ROW EXECUTE FUNCTION reviews_reportevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS reviews_reportevent_append_only ON reviews_reportevent;
DROP FUNCTION IF EXISTS reviews_reportevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
