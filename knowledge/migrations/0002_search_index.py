"""The full-text index of articles (PostgreSQL only; SQLite searches with icontains).

Its expression is ``knowledge.models.SEARCH_DOCUMENT``'s, so the searches use it.
"""

from django.db import migrations

INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS knowledge_article_search ON knowledge_article USING gin ("
    "(setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')))"
)


class PostgresSearchIndex(migrations.operations.base.Operation):
    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label, state):
        pass  # an expression index the ORM does not need to know about

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(INDEX_SQL)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("DROP INDEX IF EXISTS knowledge_article_search")

    def describe(self):
        return "Full-text (GIN) search index of articles on PostgreSQL"


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [PostgresSearchIndex()]
