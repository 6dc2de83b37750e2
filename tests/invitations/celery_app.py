"""The Celery app for a worker process started by a test: the project's app on the test's own queue.

Every task the worker sends (the next chunk, a resume) goes to that queue too, so a developer's
running worker cannot take the test's jobs and the test's worker takes nobody else's.
"""

from __future__ import annotations

import os

from config.celery import app

if os.environ.get("CLIENTELE_TEST_QUEUE"):  # set for the worker process only
    app.conf.task_default_queue = os.environ["CLIENTELE_TEST_QUEUE"]

__all__ = ["app"]


def queue_name() -> str:
    """One queue per test (or benchmark) process: Celery keeps the default queue it first used."""
    return f"clientele-inv-{os.getpid()}"


def forget_result_backend(celery_app) -> None:
    """Sending a task builds (and caches) the result backend of the moment; drop it, so a later
    test that configures a real one gets it."""
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


def forget_routing(celery_app) -> None:
    """Drop the queues (``app.amqp``) and producer pool Celery cached on its first publish, so the
    next task goes to the queue the conf names now (see tests/crm/test_celery_worker.py)."""
    celery_app.__dict__.pop("amqp", None)
    # Not closed: kombu keeps pools per broker URL and would hand the closed one back.
    celery_app._pool = None


def conf_override(celery_app, values: dict) -> dict:
    """Set Celery settings in a running test process; returns what to pass back to restore them.

    Each key is set in both spellings: once a ``CELERY_*`` copy sits among the changes (a test
    that restored ``dict(app.conf)`` leaves one), it wins over the plain key.
    """
    previous = {}
    for key, value in values.items():
        previous[key] = celery_app.conf[key]
        celery_app.conf.update({key: value, f"CELERY_{key.upper()}": value})
    return previous
