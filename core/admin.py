"""Admin building blocks for big tables that services write: a paginator that never counts a
million-row table whole, and a read-only ModelAdmin.

The admin's changelist asks its paginator for ``count`` on every page, and Django's
``Paginator`` answers with ``COUNT(*)``, even with ``show_full_result_count = False`` (that only
skips the second, unfiltered count). At a million contacts that is half the changelist's SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from core.listing import estimated_table_rows

if TYPE_CHECKING:
    # Generic in the stubs only: Django's classes take no subscript at runtime.
    _Paginator = Paginator[Any]
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _Paginator = Paginator
    _ModelAdmin = admin.ModelAdmin


class EstimatedCountPaginator(_Paginator):
    """``count`` is the planner's estimate unfiltered, and bounded filtered, on PostgreSQL.

    - The whole table (no WHERE): ``pg_class.reltuples``, which VACUUM/ANALYZE keep within a
      few percent; a table at or under ``CRM_COUNT_LIMIT`` rows, or never analyzed, is counted
      exactly, which is cheap.
    - Filtered or searched: counted up to ``CRM_COUNT_LIMIT + 1`` rows and no further, so the
      pager offers that many rows' pages and the count reads as "at least".
    - Anything else (SQLite, a list, a UNION): Django's exact count.

    An estimate can be off by a page or two at the end: the last pages' links may show a page
    that turns out empty (the admin then shows its "invalid page" notice) or miss the newest
    rows' last page. That is the price of not reading every row to draw the pager.
    """

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet) or connections[qs.db].vendor != "postgresql" or qs.query.combinator:
            return super().count
        limit = settings.CRM_COUNT_LIMIT
        if not qs.query.where:
            estimate = estimated_table_rows(qs.model)
            if estimate is not None and estimate > limit:
                return estimate
            return super().count
        return qs.order_by().values("pk")[: limit + 1].count()


class ReadOnlyAdmin(_ModelAdmin):
    """Look, never touch: the rows are written (and audited) by services and jobs only.

    No add, change or delete: a delete from the admin would bypass the audit trail.
    """

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
