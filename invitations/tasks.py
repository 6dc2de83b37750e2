"""Thin Celery tasks: ids in, one service call."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from invitations import batches, services


@shared_task(name="invitations.send")
def invitation_send_task(invitation_id: int) -> bool:
    return services.invitation_send(invitation_id=invitation_id)


@shared_task(name="invitations.lead_registered_notify")
def lead_registered_notify_task(lead_id: int, invitation_id: int) -> bool:
    return services.lead_registered_notify(lead_id=lead_id, invitation_id=invitation_id)


@shared_task(name="invitations.expire_due")
def invitations_expire_due_task() -> int:
    return services.invitations_expire_due()


@shared_task(name="invitations.batch_send_chunk")
def batch_send_chunk_task(batch_id: int, after_id: int = 0) -> int:
    """One chunk, then the next one (after the pause the sending rate asks for)."""
    result = batches.batch_send_chunk(batch_id=batch_id, after_id=after_id)
    if result.more:
        batch_send_chunk_task.apply_async((batch_id, result.last_id), countdown=result.countdown or None)  # type: ignore[arg-type]  # None: no delay
    return result.sent


@shared_task(name="invitations.batches_resume")
def batches_resume_task() -> int:
    return batches.batches_resume()


@worker_ready.connect
def _resume_batches_when_a_worker_starts(sender=None, **kwargs) -> None:
    # A worker that starts may be the one that died mid-batch: resume now, and again once
    # its claims count as stalled.
    batches_resume_task.apply_async()
    batches_resume_task.apply_async(countdown=settings.INVITATIONS_BATCH_STALL_SECONDS + 1)
