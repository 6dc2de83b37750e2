from __future__ import annotations

from celery import shared_task

from crm.contracts import contracts_expire_due


@shared_task(name="crm.contracts_expire_due")
def contracts_expire_due_task() -> int:
    return contracts_expire_due()


@shared_task(name="crm.reconfirmations_send_due")
def reconfirmations_send_due_task() -> dict[str, int]:
    from crm.reconfirmation import reconfirmations_send_due

    outcome = reconfirmations_send_due()
    return {"sent": outcome.sent, "invited": outcome.invited}
