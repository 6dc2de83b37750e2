"""Indexes for lists at a million rows: the "Newest" contact sort, and trigram search on PostgreSQL.

The trigram indexes cover exactly the expression Django compiles ``icontains`` to on
PostgreSQL (``UPPER("col"::text) LIKE UPPER(%s)``), so the list filters use them unchanged.
SQLite has no pg_trgm and skips them.
"""

from django.db import migrations, models

# (index name, table, column)
TRIGRAM_INDEXES = (
    ("crm_contact_first_name_trgm", "crm_contact", "first_name"),
    ("crm_contact_last_name_trgm", "crm_contact", "last_name"),
    ("crm_contact_email_trgm", "crm_contact", "email"),
    ("crm_account_name_trgm", "crm_account", "name"),
)


class PostgresTrigramIndexes(migrations.operations.base.Operation):
    """GIN pg_trgm indexes on UPPER(column), created only on PostgreSQL."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label, state):
        pass  # expression indexes the ORM does not need to know about

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in TRIGRAM_INDEXES:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _table, _column in TRIGRAM_INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    def describe(self):
        return "Trigram (pg_trgm GIN) search indexes on PostgreSQL"


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["-created_at", "-id"], name="crm_contact_created"),
        ),
        PostgresTrigramIndexes(),
    ]
