"""The Celery app. Broker and result settings come from Django settings (CELERY_*)."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from celery import Celery, signals

from core.context import Channel, reset_channel, set_channel

if TYPE_CHECKING:
    from contextvars import Token

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("clientele")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task's context token, by task id, between its prerun and postrun signals.
_task_tokens: dict[str, Token[tuple[str, str]]] = {}


@signals.task_prerun.connect
def _task_acts_as_job(task_id=None, task=None, **_kwargs) -> None:
    # Everything a task changes is attributed to the job that changed it (audit, history).
    _task_tokens[task_id] = set_channel(Channel.JOB, task.name if task is not None else "")


@signals.task_postrun.connect
def _task_done(task_id=None, **_kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (eager tasks nest)
            reset_channel(token)
