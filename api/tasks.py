from __future__ import annotations

from celery import shared_task

from api.services import idempotency_keys_expire


@shared_task(name="api.idempotency_keys_expire")
def idempotency_keys_expire_task() -> int:
    return idempotency_keys_expire()
