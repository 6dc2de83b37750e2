from __future__ import annotations

from celery import shared_task


@shared_task(name="dedup.duplicates_scan")
def duplicates_scan_task(record_type: str) -> int:
    from dedup.finder import duplicates_scan

    return duplicates_scan(record_type)
