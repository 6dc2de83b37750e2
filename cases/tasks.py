from __future__ import annotations

from celery import shared_task

from cases.breach import cases_sla_scan


@shared_task(name="cases.sla_scan")
def cases_sla_scan_task() -> dict[str, int]:
    result = cases_sla_scan()
    return {"red": result.red, "amber": result.amber, "notified": result.notified}
