"""List pages that cost the same on page 1 and page 20,000 of a million rows.

Keyset ("seek") pagination over ``(sort column, id)`` instead of OFFSET, and a bounded count
(or the planner's estimate for a whole table on PostgreSQL) instead of ``COUNT(*)``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet


@dataclass(frozen=True)
class Sort:
    key: str  # the value of ?sort=
    label: str
    field: str  # a non-null column of the model's own table
    descending: bool = False


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None
    count: int | None
    count_is_estimate: bool
    count_is_lower_bound: bool

    @property
    def count_display(self) -> str:
        if self.count is None:
            return ""
        if self.count_is_lower_bound:
            return f"{self.count:,}+"
        if self.count_is_estimate:
            return f"≈ {self.count:,}"
        return f"{self.count:,}"


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("d") not in ("n", "p") or "id" not in payload:
        return None
    return payload


def _seek(qs: QuerySet, sort: Sort, value: Any, pk: int, *, forward: bool) -> QuerySet:
    model = qs.model
    field = model._meta.get_field(sort.field)
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    db_value = field.get_db_prep_value(field.to_python(value), connection)
    # Row-value comparison uses the (column, id) index on PostgreSQL and works on SQLite.
    ascending = forward != sort.descending
    op = ">" if ascending else "<"
    # Only quoted identifiers are interpolated; the values travel as parameters.
    return qs.extra(  # noqa: S610
        where=[f"({table}.{column}, {table}.{pk_column}) {op} (%s, %s)"],
        params=[db_value, int(pk)],
    )


def _order(sort: Sort, *, forward: bool) -> list[str]:
    descending = sort.descending == forward
    prefix = "-" if descending else ""
    return [f"{prefix}{sort.field}", f"{prefix}pk"]


def estimated_table_rows(model) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


def keyset_page(
    qs: QuerySet,
    *,
    sort: Sort,
    cursor: str | None,
    page_size: int | None = None,
    filtered: bool = True,
    count: bool = True,
) -> Page:
    page_size = page_size or settings.CRM_PAGE_SIZE
    payload = _decode(cursor) if cursor else None
    forward = True
    base = qs
    if payload:
        forward = payload["d"] == "n"
        qs = _seek(qs, sort, payload.get("v"), payload["id"], forward=forward)
    rows = list(qs.order_by(*_order(sort, forward=forward))[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if not forward:
        rows.reverse()

    def cursor_for(obj: Any, direction: str) -> str:
        return _encode({"d": direction, "v": getattr(obj, sort.field), "id": obj.pk})

    next_cursor = prev_cursor = None
    if rows:
        if (forward and has_more) or (not forward and payload):
            next_cursor = cursor_for(rows[-1], "n")
        if (not forward and has_more) or (forward and payload):
            prev_cursor = cursor_for(rows[0], "p")

    total, estimate, lower_bound = None, False, False
    if count:
        if not filtered:
            total = estimated_table_rows(base.model)
            estimate = total is not None and total > settings.CRM_COUNT_LIMIT
            if total is not None and not estimate:
                total = None  # small table: an exact count is cheap and nicer
        if total is None:
            limit = settings.CRM_COUNT_LIMIT
            total = base.order_by().values("pk")[: limit + 1].count()
            if total > limit:
                total, lower_bound = limit, True
    return Page(
        items=rows,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        count=total,
        count_is_estimate=estimate,
        count_is_lower_bound=lower_bound,
    )
