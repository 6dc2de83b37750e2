from __future__ import annotations

from celery import shared_task

from iam.inactivity import users_deactivate_inactive


@shared_task(name="iam.users_deactivate_inactive")
def users_deactivate_inactive_task() -> dict[str, int]:
    outcome = users_deactivate_inactive()
    return {"warned": outcome.warned, "deactivated": outcome.deactivated}
