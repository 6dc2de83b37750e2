from __future__ import annotations

from celery import shared_task

from analytics.services import data_health_refresh, reconfirmation_run_execute


@shared_task(name="analytics.data_health_refresh")
def data_health_refresh_task() -> int | None:
    return data_health_refresh().changed_state


@shared_task(name="analytics.reconfirmation_run_execute")
def reconfirmation_run_execute_task(run_id: int) -> None:
    reconfirmation_run_execute(run_id=run_id)


@shared_task(name="analytics.report_snapshot_take")
def report_snapshot_take_task() -> int | None:
    from analytics.reports.snapshots import report_snapshot_take

    return report_snapshot_take()


@shared_task(name="analytics.report_rollups_refresh")
def report_rollups_refresh_task() -> str | None:
    from analytics.reports.rollups import report_rollups_refresh

    through = report_rollups_refresh()
    return through.isoformat() if through else None
