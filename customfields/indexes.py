"""How a list filters and sorts by a custom field, and the PostgreSQL index that serves it.

Values live in the record's ``custom_fields`` JSONB column. A filterable field gets one
expression B-tree index ``(sort key, id)``, built ``CONCURRENTLY`` by a Celery task outside any
transaction (adding a field never rewrites or locks the table). The list's filter and its
keyset sort use exactly the index's expression, so PostgreSQL can walk that index:

- text-like values (text, choice, date as ISO text, email, URL, yes/no): ``COALESCE(custom_fields ->> key, '')``
- numbers and money: ``COALESCE((custom_fields ->> key)::double precision, -1e18)``

A record without a value sorts first (ascending): the keyset needs a non-null sort key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connection, models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from customfields.models import CustomField

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

logger = logging.getLogger(__name__)

T = CustomField.Type
NUMERIC = (T.NUMBER, T.MONEY)
NO_VALUE_NUMBER = -1e18
# Types a list can filter and sort by. Multiple choice and long text are shown, not indexed.
INDEXABLE = (T.TEXT, T.NUMBER, T.MONEY, T.DATE, T.BOOLEAN, T.CHOICE, T.URL, T.EMAIL, T.USER)


def record_model(model_label: str) -> type[models.Model]:
    return apps.get_model(model_label)


def sort_expression(field: CustomField) -> Combinable:
    """The field's sort key: the same expression as its index."""
    text = KeyTextTransform(field.key, "custom_fields")
    if field.type in NUMERIC:
        return Coalesce(Cast(text, models.FloatField()), models.Value(NO_VALUE_NUMBER))
    return Coalesce(text, models.Value(""), output_field=models.TextField())


def sort_alias(field: CustomField) -> str:
    return f"cf_{field.key}"


def db_sort_value(field: CustomField, value: Any) -> Any:
    """A cursor's sort value (as JSON gave it back) in the expression's type."""
    if field.type in NUMERIC:
        try:
            return float(value)
        except (TypeError, ValueError):
            return NO_VALUE_NUMBER
    return "" if value is None else str(value)


def index_for(field: CustomField) -> models.Index:
    return models.Index(sort_expression(field), models.F("id"), name=field.index_name)


def index_exists(field: CustomField) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [field.index_name])
        return cursor.fetchone() is not None


def ensure_index(field: CustomField) -> bool:
    """Build the field's index if the list needs one and it is missing; True if it built one.

    ``CREATE INDEX CONCURRENTLY`` cannot run in a transaction: call it from a task (autocommit).
    An invalid index left by an interrupted build is dropped and built again.
    """
    if connection.vendor != "postgresql" or not field.filterable or field.type not in INDEXABLE:
        return False
    model = record_model(field.model)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = %s",
            [field.index_name],
        )
        row = cursor.fetchone()
    if row is not None and row[0]:
        return False
    with connection.schema_editor(atomic=False) as editor:
        if row is not None:
            editor.remove_index(model, index_for(field), concurrently=True)  # type: ignore[call-arg]  # the PostgreSQL editor takes it
        editor.add_index(model, index_for(field), concurrently=True)  # type: ignore[call-arg]
    logger.info("customfields: built index %s", field.index_name)
    return True


def drop_index(field: CustomField) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {connection.ops.quote_name(field.index_name)}")
