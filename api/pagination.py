"""Cursor pages over ``(sort column, id)`` (``core.listing.keyset_page``): the same cost on page 1 and
page 20,000, and stable when rows are inserted between two requests.

``?ordering=`` chooses among the orderings a view declares (each backed by an index); ``?cursor=``
is opaque; ``next``/``previous`` are the URLs to follow.
"""

from __future__ import annotations

from collections import OrderedDict

from django.conf import settings
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.listing import Sort, _decode, keyset_page

CURSOR, PAGE_SIZE, ORDERING = "cursor", "page_size", "ordering"


def view_orderings(view) -> dict[str, Sort]:
    return getattr(view, "orderings", None) or {"id": Sort("id", "Oldest first", "id")}


class KeysetCursorPagination(BasePagination):
    def sort_for(self, request, view) -> Sort:
        orderings = view_orderings(view)
        wanted = request.query_params.get(ORDERING)
        if wanted is None:
            return next(iter(orderings.values()))
        if wanted not in orderings:
            raise exceptions.ValidationError({ORDERING: [f"Choose one of: {', '.join(orderings)}."]})
        return orderings[wanted]

    def page_size_for(self, request) -> int:
        raw = request.query_params.get(PAGE_SIZE)
        if raw is None:
            return settings.API_PAGE_SIZE
        if not raw.isdecimal() or not 1 <= int(raw) <= settings.API_MAX_PAGE_SIZE:
            raise exceptions.ValidationError({PAGE_SIZE: [f"A whole number from 1 to {settings.API_MAX_PAGE_SIZE}."]})
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        sort = self.sort_for(request, view)
        cursor = request.query_params.get(CURSOR) or None
        if cursor is not None and _decode(cursor) is None:
            raise exceptions.ValidationError({CURSOR: ["Not a cursor of this list; follow the next/previous links."]})
        self.page = keyset_page(queryset, sort=sort, cursor=cursor, page_size=self.page_size_for(request), count=False)
        return self.page.items

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, CURSOR, cursor)

    def get_paginated_response(self, data) -> Response:
        return Response(
            OrderedDict(
                [
                    ("next", self._link(self.page.next_cursor)),
                    ("previous", self._link(self.page.prev_cursor)),
                    ("results", data),
                ]
            )
        )

    def first_page_url(self) -> str:
        return remove_query_param(self.request.build_absolute_uri(), CURSOR)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page; null on the last page."},
                "previous": {**link, "description": "The page before; null on the first page."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        orderings = view_orderings(view)
        return [
            {
                "name": CURSOR,
                "required": False,
                "in": "query",
                "description": "Opaque position in the list, from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {settings.API_PAGE_SIZE}, "
                f"at most {settings.API_MAX_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE},
            },
            {
                "name": ORDERING,
                "required": False,
                "in": "query",
                "description": "Sort order (each one served by an index). Default: "
                + next(iter(orderings))
                + ". "
                + "; ".join(f"`{k}`: {s.label}" for k, s in orderings.items()),
                "schema": {"type": "string", "enum": list(orderings)},
            },
        ]
