"""Thin Celery tasks: ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from invitations import services


@shared_task(name="invitations.send")
def invitation_send_task(invitation_id: int) -> bool:
    return services.invitation_send(invitation_id=invitation_id)


@shared_task(name="invitations.lead_registered_notify")
def lead_registered_notify_task(lead_id: int, invitation_id: int) -> bool:
    return services.lead_registered_notify(lead_id=lead_id, invitation_id=invitation_id)


@shared_task(name="invitations.expire_due")
def invitations_expire_due_task() -> int:
    return services.invitations_expire_due()
