"""Reading record history. The caller has already found the record through the user's scoped queryset."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Q, QuerySet, Subquery

from core.listing import Page, Sort, keyset_page
from history.display import field_changes
from history.models import RecordChange

# Newest first, served by the (record_type, record_id, -changed_at, -id) index.
HISTORY_SORT = Sort("-changed", "Newest first", "changed_at", descending=True)
HISTORY_PAGE_SIZE = 25


def record_history(*, record: models.Model) -> QuerySet[RecordChange]:
    """The changes of ``record``, newest first. Scope the record before asking (same 404 as missing)."""
    label = record._meta.label_lower
    if not apps.is_installed("dedup"):
        return RecordChange.objects.filter(record_type=label, record_id=record.pk)
    from dedup.models import MergedRecord

    # A merged record's history is the survivor's too (rows stay as written: history is append-only).
    merged = MergedRecord.objects.filter(record_type=label, survivor_id=record.pk).values("merged_id")
    return RecordChange.objects.filter(Q(record_id=record.pk) | Q(record_id__in=Subquery(merged)), record_type=label)


def record_history_page(*, record: models.Model, cursor: str | None, page_size: int = HISTORY_PAGE_SIZE) -> Page:
    """One keyset page of a record's history for the History tab, each change with its field rows."""
    changes = record_history(record=record)
    page = keyset_page(changes, sort=HISTORY_SORT, cursor=cursor, page_size=page_size, count=False)
    for change in page.items:
        change.entries = field_changes(change, type(record))
    return page
