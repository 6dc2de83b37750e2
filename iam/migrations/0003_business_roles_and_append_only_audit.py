from django.db import migrations

ROLES = [
    # key, name, delegable by org admins, order, description
    ("org_admin", "Organisation admin", False, 10, "Manages the organisation's users, roles and invitations."),
    ("buyer", "Buyer", True, 20, "Orders and sees prices."),
    ("technical_contact", "Technical contact", True, 30, "Receives technical notices and manages integrations."),
    ("billing_contact", "Billing contact", True, 40, "Receives and manages invoices."),
    ("lead", "Lead", False, 90, "A prospect with lead access: trials and content, no contract needed."),
]


def seed_roles(apps, schema_editor):
    BusinessRole = apps.get_model("iam", "BusinessRole")
    for key, name, delegable, order, description in ROLES:
        BusinessRole.objects.get_or_create(
            key=key, defaults={"name": name, "delegable": delegable, "sort_order": order, "description": description}
        )


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
