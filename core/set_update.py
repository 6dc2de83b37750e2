"""One UPDATE for a whole set of rows, each with its own values, without a model instance per row.

The counterpart of :func:`core.set_insert.insert_rows`: ``bulk_update`` builds an instance per
row and a ``CASE WHEN id = … THEN …`` per field with a branch per row. :func:`update_rows` sends
one array per column instead: ``UPDATE … SET c = v.c … FROM unnest(%s::type[], …) AS v(id, …)
WHERE t.id = v.id`` on PostgreSQL; on SQLite one statement run for each row (``executemany``).

Values must already be what the column stores (text for text and phone columns, a country code,
an aware datetime, a dict or list for JSON), as for ``insert_rows``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models

from core.set_insert import _field, _pg_column, _pg_type, _pg_value


def update_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Set ``columns`` (field names or attnames) of each row: ``rows`` are ``(pk, *values)``.

    ``constants`` gives fields set to the same value on every row (``updated_at``). Returns the
    number of rows updated (rows whose pk is not in the table are left out).
    """
    if not rows:
        return 0
    constants = dict(constants or {})
    fields = [_field(model, name) for name in columns]
    fixed = [(_field(model, name), value) for name, value in constants.items()]
    table = connection.ops.quote_name(model._meta.db_table)
    pk = model._meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        aliases = [f"c{i}" for i in range(len(fields))]
        assignments = [f"{quote(f.column)} = v.{a}" for f, a in zip(fields, aliases, strict=True)]
        assignments += [f"{quote(f.column)} = %s::{_pg_type(f)}" for f, _value in fixed]
        arrays = [f"%s::{_pg_type(f)}[]" for f in (pk, *fields)]
        sql = (
            f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608 (names are ours, values parameters)
            f"FROM unnest({', '.join(arrays)}) AS v(pk, {', '.join(aliases)}) "
            f"WHERE {table}.{quote(pk.column)} = v.pk"
        )
        params: list[Any] = [_pg_value(f, value) for f, value in fixed]
        params.append([row[0] for row in rows])
        params += [_pg_column(f, [row[i + 1] for row in rows]) for i, f in enumerate(fields)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.rowcount)
    assignments = [f"{quote(f.column)} = %s" for f in fields] + [f"{quote(f.column)} = %s" for f, _v in fixed]
    prepared_fixed = [f.get_db_prep_save(value, connection) for f, value in fixed]
    sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {quote(pk.column)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                [
                    *(f.get_db_prep_save(v, connection) for f, v in zip(fields, row[1:], strict=True)),
                    *prepared_fixed,
                    row[0],
                ]
                for row in rows
            ],
        )
        return int(cursor.rowcount)
