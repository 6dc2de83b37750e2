"""List pages that cost the same on page 1 and page 20,000 of a million rows.

Keyset ("seek") pagination over ``(sort column, id)`` instead of OFFSET, and a bounded count
(or the planner's estimate for a whole table on PostgreSQL) instead of ``COUNT(*)``.

A text search is paged differently (see ``as_search``): its matches are scattered over every
sort order, so no sort index can find the next 50 of them cheaply; reading the matches' sort
keys once (up to the count limit) and paging over those in SQL can.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Model, Q, QuerySet

# Set on ``QuerySet.query`` (which, unlike the QuerySet, carries its attributes through every
# clone, so filters applied after the search keep it) by ``as_search``.
_SEARCH_MARK = "keyset_page_as_search"

_QS = TypeVar("_QS", bound="QuerySet[Any]")


@dataclass(frozen=True)
class Sort:
    key: str  # the value of ?sort=
    label: str
    field: str  # a non-null column of the model's own table (or the name of ``expression``)
    descending: bool = False
    # A non-null expression to sort by instead of a column (a custom field's value, with the same
    # expression as its index), annotated as ``field``; ``cursor`` turns a cursor's value back
    # into the expression's type.
    expression: Any = None
    cursor: Any = None

    def db_value(self, model: Any, value: Any, db: Any) -> Any:
        if self.expression is not None:
            return self.cursor(value) if self.cursor is not None else value
        field = model._meta.get_field(self.field)
        return field.get_db_prep_value(field.to_python(value), db)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None
    count: int | None
    count_is_estimate: bool
    count_is_lower_bound: bool
    search_is_bounded: bool = False  # a wide search: paged within its first CRM_COUNT_LIMIT matches

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


def _seek(qs: QuerySet[Any], sort: Sort, value: Any, pk: int, *, forward: bool) -> QuerySet[Any]:
    model = qs.model
    ascending = forward != sort.descending
    if sort.expression is not None:
        # (key, id) > (v, pk) spelled out; the first term lets the index range-scan from v.
        v, op = sort.db_value(model, value, connection), "gt" if ascending else "lt"
        return qs.filter(
            Q(**{f"{sort.field}__{op}e": v}),
            Q(**{f"{sort.field}__{op}": v}) | Q(**{sort.field: v, f"pk__{op}": int(pk)}),
        )
    field = model._meta.get_field(sort.field)
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(field.column)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    db_value = field.get_db_prep_value(field.to_python(value), connection)
    # Row-value comparison uses the (column, id) index on PostgreSQL and works on SQLite.
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


def as_search(qs: _QS) -> _QS:
    """Mark ``qs`` as a text search for ``keyset_page``: page it through its matches' sort keys.

    The matches of a search ("Jovanovic": 7,638 of 1M contacts) follow no sort index. Paged
    like any list, the planner either walks the sort index hoping for an early match (a surname
    search sorted by surname finds them only at its letter: 1 s), or fetches and joins every
    match to sort them and keep 50. ``keyset_page`` instead reads each match's (sort key, id)
    once, in the trigram bitmap scan that finds them, and counts and pages those in one query;
    only the page's rows are then fetched and joined. The mark only chooses the strategy: the
    rows are those of ``qs`` either way, with any filter applied after marking.
    """
    qs = qs.all()
    setattr(qs.query, _SEARCH_MARK, True)
    return qs


def _search_page_ids(
    qs: QuerySet[Any], sort: Sort, payload: dict[str, Any] | None, *, forward: bool, size: int
) -> tuple[int, list[int]]:
    """``(matches counted up to CRM_COUNT_LIMIT + 1, ids of the page's rows)`` in one query.

    ``m`` holds every match's (id, sort key) (the LIMIT bounds a wide search); the count and the
    keyset page both read it, so the matching rows are visited once. MATERIALIZED keeps
    PostgreSQL from merging ``m`` into the page query, where it would again walk the sort index
    (PostgreSQL 12+ and SQLite 3.35+ accept the keyword). A wide search (more matches than the
    limit) gets no ids: ``m`` holds only some of its rows.
    """
    limit = settings.CRM_COUNT_LIMIT
    db = connections[qs.db]
    try:
        inner, params = qs.order_by().values_list("pk", sort.field)[: limit + 1].query.get_compiler(qs.db).as_sql()
    except EmptyResultSet:
        return 0, []
    ascending = forward != sort.descending
    direction = "ASC" if ascending else "DESC"
    seek, seek_params = "", []
    if payload:
        seek = f"WHERE (m.k, m.id) {'>' if ascending else '<'} (%s, %s)"
        seek_params = [sort.db_value(qs.model, payload.get("v"), db), int(payload["id"])]
    # One row even for an empty page (LEFT JOIN), so the count always comes back. Only the
    # ORM's own compiled SQL and fixed keywords are interpolated; values travel as parameters.
    sql = (
        f"WITH m (id, k) AS MATERIALIZED ({inner}) "  # noqa: S608
        "SELECT c.n, p.id FROM (SELECT COUNT(*) AS n FROM m) AS c LEFT JOIN ("
        f"SELECT m.id FROM m {seek} ORDER BY m.k {direction}, m.id {direction} LIMIT %s"
        ") AS p ON 1 = 1"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, *seek_params, size + 1])
        result = cursor.fetchall()
    total = result[0][0]
    return total, [pk for _n, pk in result if pk is not None]


def estimated_table_rows(model: type[Model]) -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


def keyset_page(
    qs: QuerySet[Any],
    *,
    sort: Sort,
    cursor: str | None,
    page_size: int | None = None,
    filtered: bool = True,
    count: bool = True,
) -> Page:
    page_size = page_size or settings.CRM_PAGE_SIZE
    if sort.expression is not None:
        qs = qs.annotate(**{sort.field: sort.expression})
    payload = _decode(cursor) if cursor else None
    forward = True
    base = qs
    if payload:
        forward = payload["d"] == "n"
    known_total = None  # a search's match count, from the query that finds its page
    paged = False  # qs already holds only the page's rows
    if getattr(qs.query, _SEARCH_MARK, False):
        known_total, ids = _search_page_ids(qs, sort, payload, forward=forward, size=page_size)
        # The search stays in the WHERE: a cheap recheck of at most page_size + 1 rows.
        qs, paged = (qs.filter(pk__in=ids) if ids else qs.none()), True
    if payload and not paged:
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
    if count and known_total is not None:
        total = known_total
        if total > settings.CRM_COUNT_LIMIT:
            total, lower_bound = settings.CRM_COUNT_LIMIT, True
    elif count:
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
        search_is_bounded=known_total is not None and known_total > settings.CRM_COUNT_LIMIT,
    )
