from __future__ import annotations

from celery import shared_task

from notifications.services import digest_send_due, task_reminders_send_due


@shared_task(name="notifications.task_reminders_send_due")
def task_reminders_send_due_task() -> int:
    return task_reminders_send_due()


@shared_task(name="notifications.digest_send_due")
def digest_send_due_task() -> int:
    return digest_send_due()
