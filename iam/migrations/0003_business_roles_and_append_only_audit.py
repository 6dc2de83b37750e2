from django.db import migrations

def seed_roles(apps, schema_editor):
    from iam.defaults import ensure_default_business_roles

    ensure_default_business_roles(apps.get_model("iam", "BusinessRole"))


APPEND_ONLY = """
CREATE OR REPLACE FUNCTION iam_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'iam_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER iam_auditevent_no_update BEFORE UPDATE OR DELETE ON iam_auditevent
    FOR EACH ROW EXECUTE FUNCTION iam_auditevent_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS iam_auditevent_no_update ON iam_auditevent;
DROP FUNCTION IF EXISTS iam_auditevent_append_only();
"""


def append_only(apps, schema_editor):
    # The database itself refuses to rewrite history (PostgreSQL; SQLite relies on the model).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [("iam", "0002_access_model")]

    operations = [
        migrations.RunPython(seed_roles, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
