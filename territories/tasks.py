from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from territories.models import TerritoryRun


@shared_task(name="territories.reapply")
def territories_reapply_task(run_id: int) -> int:
    """Re-apply the territory definitions for one queued run; a redelivered run that is done does nothing."""
    from territories.services import territories_reapply

    claimed = TerritoryRun.objects.filter(pk=run_id, status=TerritoryRun.Status.QUEUED).update(
        status=TerritoryRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return 0
    run = TerritoryRun.objects.get(pk=run_id)
    try:
        return territories_reapply(actor=None, run=run)
    except Exception as exc:
        TerritoryRun.objects.filter(pk=run_id).update(
            status=TerritoryRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise
