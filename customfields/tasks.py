"""Index upkeep for filterable custom fields: CONCURRENTLY, so outside any transaction."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from customfields import indexes
from customfields.models import CustomField


@shared_task(name="customfields.custom_field_index_sync")
def custom_field_index_sync(field_id: int, rebuild: bool = False) -> str:
    """Build the index a filterable, active field needs; drop it when it no longer does. Idempotent."""
    field = CustomField.objects.filter(pk=field_id).first()
    if field is None:
        return "gone"
    wanted = field.filterable and field.archived_at is None and field.type in indexes.INDEXABLE
    if not wanted or rebuild:
        indexes.drop_index(field)
    if wanted:
        return "built" if indexes.ensure_index(field) else "present"
    return "dropped"


@shared_task(name="customfields.custom_field_index_drop")
def custom_field_index_drop(index_name: str) -> None:
    if connection.vendor == "postgresql" and index_name.startswith("cf_"):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {connection.ops.quote_name(index_name)}")
