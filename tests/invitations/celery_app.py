"""The Celery app for a worker process started by a test: the project's app on the test's own queue.

Every task the worker sends (the next chunk, a resume) goes to that queue too, so a developer's
running worker cannot take the test's jobs and the test's worker takes nobody else's.
"""

from __future__ import annotations

import os

from config.celery import app

app.conf.task_default_queue = os.environ["CLIENTELE_TEST_QUEUE"]

__all__ = ["app"]
