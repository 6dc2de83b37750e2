"""One INSERT for a whole set of rows, without a model instance per row.

``bulk_create`` builds an instance per row and prepares every field of each (defaults,
``pre_save``, ``get_db_prep_save``): for a thousand imported contacts that is most of the
time the import spends. :func:`insert_rows` takes plain values for the columns that vary
and one value for those that are the same on every row (a job id, "now", a default), and
writes them in one statement: ``INSERT … SELECT … FROM unnest(%s::type[], …) RETURNING id``
on PostgreSQL (one array parameter per column, whatever the number of rows), multi-row
``VALUES … RETURNING id`` on SQLite. The ids come back in the order of the rows.

Values must already be what the column stores: text for text and phone columns, a country
code, an aware datetime, a dict or list for JSON. Fields the caller leaves out take their
default (``default`` or ``db_default``), computed once per call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone


def _defaults(model: type[models.Model], given: set[str]) -> dict[str, Any]:
    """The value of each concrete field the caller did not give (its default), by column."""
    out: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.attname in given or f.name in given:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            out[f.column] = timezone.now()
        elif not f.has_default() and f.db_default is not models.NOT_PROVIDED:
            continue  # the database fills it
        else:
            out[f.column] = f.get_default()  # "" for text, None where null is allowed
    return out


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    for f in model._meta.concrete_fields:
        if f.attname == name or f.name == name:
            return f
    raise ValueError(f"{model.__name__} has no column {name}.")


def _pg_type(f: models.Field[Any, Any]) -> str:
    return "jsonb" if isinstance(f, models.JSONField) else str(f.db_type(connection))


def _pg_value(f: models.Field[Any, Any], value: Any) -> Any:
    if value is None or isinstance(value, DatabaseDefault):
        return None
    if isinstance(f, models.JSONField):
        return value if type(value) is JsonText else json.dumps(value)
    if isinstance(value, str | int | float | bool) or hasattr(value, "tzinfo"):
        return value
    return f.get_db_prep_save(value, connection)


class JsonText(str):
    """A JSON column's value already serialised (``json.dumps``), written as it is.

    A job that works out its rows on a helper thread serialises them there too, so the thread
    holding the connection does not.
    """

    __slots__ = ()


def _pg_column(f: models.Field[Any, Any], values: list[Any]) -> list[Any]:
    """A column's values as the array parameter: most need nothing done (text, numbers, times)."""
    if isinstance(f, models.JSONField):
        dumps = json.dumps
        return [None if v is None else v if type(v) is JsonText else dumps(v) for v in values]
    if all(v is None or type(v) in _PLAIN for v in values):
        return values
    return [_pg_value(f, v) for v in values]


_PLAIN = frozenset({str, int, float, bool})
_PLAIN_OR_JSON = _PLAIN | {JsonText}


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert ``rows`` (values in the order of ``columns``, field names or attnames); return their ids.

    ``constants`` gives fields whose value is the same on every row. Every other field takes
    its default. An empty ``rows`` inserts nothing.
    """
    if not rows:
        return []
    constants = dict(constants or {})
    fields = [_field(model, name) for name in columns]
    constant_fields = [_field(model, name) for name in constants]
    defaults = _defaults(model, {*columns, *constants})
    fixed = [(f, constants[name]) for f, name in zip(constant_fields, constants, strict=True)]
    fixed += [(_field(model, column), value) for column, value in defaults.items()]
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    names = [connection.ops.quote_name(f.column) for f in fields] + [
        connection.ops.quote_name(f.column) for f, _ in fixed
    ]
    if connection.vendor == "postgresql":
        aliases = [f"c{i}" for i in range(len(fields))]
        selected = [f"v.{a}" for a in aliases] + [f"%s::{_pg_type(f)}" for f, _ in fixed]
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608 (names are ours, values parameters)
            f"SELECT {', '.join(selected)} "
            f"FROM unnest({', '.join(f'%s::{_pg_type(f)}[]' for f in fields)}) "
            f"WITH ORDINALITY AS v({', '.join(aliases)}, n) "
            f"ORDER BY v.n RETURNING {pk}"
        )
        # Placeholders in the order they appear: the constants (SELECT list), then the arrays (FROM).
        arrays: list[Any] = [*(_pg_value(f, value) for f, value in fixed)]
        arrays += [_pg_column(f, [row[i] for row in rows]) for i, f in enumerate(fields)]
        with connection.cursor() as cursor:
            cursor.execute(sql, arrays)
            return [r[0] for r in cursor.fetchall()]
    prepared_fixed = [value if type(value) is JsonText else f.get_db_prep_save(value, connection) for f, value in fixed]
    per_row = len(fields) + len(fixed)
    size = max(1, (connection.features.max_query_params or 999) // per_row)
    ids: list[int] = []
    placeholder = f"({', '.join(['%s'] * per_row)})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            params: list[Any] = []
            for row in batch:
                params.extend(
                    v if v is None or type(v) in _PLAIN_OR_JSON else f.get_db_prep_save(v, connection)
                    for v, f in zip(row, fields, strict=True)
                )
                params.extend(prepared_fixed)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES "  # noqa: S608 (names are ours)
                f"{', '.join([placeholder] * len(batch))} RETURNING {pk}",
                params,
            )
            ids.extend(r[0] for r in cursor.fetchall())
    return ids
