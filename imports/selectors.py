"""Reads for the import pages: the jobs, a preview of rows as they will be stored, the failed rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from dedup.matching import MATCHERS
from iam.permissions import can_import
from imports.mapping import MODEL_LABELS, targets_for
from imports.models import ImportChunk, ImportFailure, ImportJob, ImportMapping
from imports.normalise import Options, Row, normalise_row

if TYPE_CHECKING:
    from iam.models import User

PREVIEW_ROWS = 20


def import_jobs(*, user: User) -> QuerySet[ImportJob]:
    if not can_import(user):
        return ImportJob.objects.none()
    return ImportJob.objects.select_related("created_by")


def saved_mappings(*, user: User, resource: str) -> QuerySet[ImportMapping]:
    if not can_import(user):
        return ImportMapping.objects.none()
    return ImportMapping.objects.filter(resource=resource)


@dataclass
class PreviewRow:
    row: Row
    shown: list[str]  # the stored value of each mapped target, in the order of ``columns``
    duplicate_of: str  # "" or what it matched, in words


def import_preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> tuple[list[str], list[PreviewRow]]:
    """The first rows as they will be stored, each with its errors and what it duplicates."""
    from crm.matching import account_match

    chunk = ImportChunk.objects.filter(job=job).order_by("number").first()
    if chunk is None:
        return [], []
    labels = {t.key: t.label for t in targets_for(job.resource)}
    columns = [labels.get(t, t) for t in job.mapping.values()]
    options = Options(default_country=job.default_country, date_format=job.date_format)
    rows = [
        normalise_row(job.resource, Row(line=chunk.first_line + i, cells=cells), job.mapping, options)
        for i, cells in enumerate(chunk.rows[:limit])
    ]
    probes: list[dict[str, Any]] = []
    for row in rows:
        v = dict(row.values)
        if job.resource == "contacts" and row.ok:
            match = account_match(
                business_id=v.get("account_business_id", ""),
                company_name=v.get("account", ""),
                country=v.get("account_country", ""),
            )
            v["account_id"] = (
                match.account.pk if match is not None and (match.conclusive or match.score >= 0.8) else None
            )
        probes.append(
            v
            if job.resource != "accounts"
            else {"name": v.get("name"), "business_id": v.get("business_id"), "country": v.get("country")}
        )
    matches = MATCHERS[MODEL_LABELS[job.resource]](probes)
    preview = []
    for row, found in zip(rows, matches, strict=True):
        shown = []
        for target in job.mapping.values():
            value = row.values.get(target, row.custom.get(target.removeprefix("cf:"), ""))
            if target == "full_name":
                value = f"{row.values.get('first_name', '')} {row.values.get('last_name', '')}".strip()
            shown.append("" if value is None else str(value))
        best = max(found.values(), key=lambda m: m.score, default=None)
        preview.append(PreviewRow(row, shown, "; ".join(best.reasons) if best is not None and row.ok else ""))
    return columns, preview


class _Echo:
    def write(self, value: str) -> str:
        return value


def failed_rows_csv(job: ImportJob) -> Iterator[str]:
    """The rows the import could not take, as uploaded plus a ``reason`` column: fix and upload again."""
    writer = csv.writer(_Echo())
    from exports.cells import neutralise

    yield "\ufeff" + writer.writerow([*(neutralise(h) for h in job.headers), "reason", "line"])
    failures = ImportFailure.objects.filter(job=job).order_by("line").values_list("row", "reason", "line")
    for cells, reason, line in failures.iterator(chunk_size=2000):
        padded = list(cells) + [""] * (len(job.headers) - len(cells))
        yield writer.writerow([*(neutralise(c) for c in padded), reason, line])
