"""A migration operation for GIN pg_trgm indexes on UPPER(column), created only on PostgreSQL.

They cover exactly the expression Django compiles ``icontains`` to on PostgreSQL
(``UPPER("col"::text) LIKE UPPER(%s)``). SQLite has no pg_trgm and skips them.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


class PostgresTrigramIndexes(migrations.operations.base.Operation):
    reduces_to_sql = True
    reversible = True

    def __init__(self, indexes: tuple[tuple[str, str, str], ...]) -> None:
        self.indexes = indexes  # (index name, table, column)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [self.indexes], {}

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # expression indexes the ORM does not need to know about

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in self.indexes:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )
        # Statistics of the indexed expressions: without them the planner guesses that a rare
        # term matches thousands of rows and scans the table for the first few (0.4 s).
        for table in sorted({table for _name, table, _column in self.indexes}):
            schema_editor.execute(f'ANALYZE "{table}"')

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _table, _column in self.indexes:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    def describe(self) -> str:
        return "Trigram (pg_trgm GIN) search indexes on PostgreSQL"
