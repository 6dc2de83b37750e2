from __future__ import annotations

from celery import shared_task

from registrations.services import registrations_expire_unverified


@shared_task(name="registrations.expire_unverified")
def registrations_expire_unverified_task() -> int:
    return registrations_expire_unverified()
