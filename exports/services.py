"""Exports: a list's rows (as filtered, sorted and ticked) as CSV streamed in keyset chunks, or XLSX.

CSV never holds more than one chunk of rows: the database is read ``id``-keyset by keyset (in the
list's sort order) and each chunk written out as it comes, so a million contacts stream in
constant memory. XLSX is a zip built whole, so it is capped (``EXPORTS_XLSX_MAX_ROWS``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.decay import DecayPolicy
from exports.cells import neutralise
from exports.columns import FRESHNESS, Column, ExportSpec
from iam.audit import audit_record
from iam.permissions import can_export

if TYPE_CHECKING:
    from iam.models import User

CHUNK = 2000


class _Echo:
    def write(self, value: str) -> str:
        return value


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):  # a multiple-choice custom field
        return neutralise("; ".join(str(v) for v in value))
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return neutralise(str(value)) if not isinstance(value, (int, float, bool)) else value


def export_rows(queryset: QuerySet[Any], columns: tuple[Column, ...]) -> Iterator[tuple[Any, ...]]:
    """Rows of plain values, read by a server-side cursor ``CHUNK`` at a time (constant memory)."""
    if any(c.path == FRESHNESS for c in columns):
        queryset = queryset.annotate(**{FRESHNESS: DecayPolicy.from_settings().state_expression(timezone.now())})
    for row in queryset.values_list(*(c.path for c in columns)).iterator(chunk_size=CHUNK):
        yield tuple(_plain(v) for v in row)


def export_record(*, actor: User, spec: ExportSpec, resource: str, file_format: str, query: dict[str, Any]) -> None:
    """Audit an export of personal data (who took which list, filtered how, in what format)."""
    if not can_export(actor):
        raise PermissionDenied("Only staff export CRM lists.")
    if spec.personal_data:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="exports.export.created",
                data={"resource": resource, "format": file_format, "query": query},
            )


def csv_stream(queryset: QuerySet[Any], columns: tuple[Column, ...]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([c.header for c in columns])  # the BOM: Excel reads UTF-8 then
    buffer: list[str] = []
    for row in export_rows(queryset, columns):
        buffer.append(writer.writerow(row))
        if len(buffer) >= 500:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def xlsx_bytes(queryset: QuerySet[Any], columns: tuple[Column, ...]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    limit = int(settings.EXPORTS_XLSX_MAX_ROWS)
    if queryset.order_by()[: limit + 1].count() > limit:
        raise BusinessRuleViolation(f"More than {limit:,} rows: export them as CSV, or filter the list first.")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Export")
    sheet.append([c.header for c in columns])
    for row in export_rows(queryset, columns):
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
