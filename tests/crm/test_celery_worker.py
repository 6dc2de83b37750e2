"""Background jobs through the real broker (Redis) and a real Celery worker."""

from __future__ import annotations

import datetime as dt
import os
import socket
from urllib.parse import urlparse

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import timezone

from config.celery import app
from crm.models import Contract
from crm.tasks import contracts_expire_due_task
from tests.factories import ContractFactory

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_answers() -> bool:
    parsed = urlparse(REDIS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _forget_result_backend() -> None:
    """Celery caches the result backend on first use; drop it so the next use reads the conf."""
    app._backend_cache = None
    if hasattr(app._local, "backend"):
        del app._local.backend


def _forget_routing() -> None:
    """Celery caches its queues (``app.amqp``) and producer pool on first use; drop them too.

    Otherwise a test that published anything earlier in the process leaves the default
    queue at ``celery``: the task goes there and the worker, on the test's own queue, never
    sees it (tests/webhooks/test_worker.py failed after any other webhooks test that way).
    """
    app.__dict__.pop("amqp", None)
    # Not closed: kombu keeps pools per broker URL and would hand the closed one back.
    app._pool = None


@pytest.fixture
def real_worker():
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}; CI must have it.")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    previous = dict(app.conf)
    _forget_result_backend()  # another test may have cached the disabled one this run
    app.conf.update(
        task_always_eager=False,
        broker_url=REDIS_URL,
        result_backend=REDIS_URL,
        task_ignore_result=False,
        # A queue of our own, so a developer's running worker cannot take the test's job.
        task_default_queue=f"test-{os.getpid()}",
    )
    _forget_routing()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[app.conf.task_default_queue]):
            yield
    finally:
        app.conf.update(previous)
        _forget_result_backend()
        _forget_routing()


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    # The SQLite default is the laptop setup, where jobs run in-process (no broker); a worker
    # thread and the test cannot share the in-memory test database. PostgreSQL runs this in CI.
    reason="a worker thread cannot use the in-memory SQLite test database of the test's thread",
)
@pytest.mark.django_db(transaction=True)
def test_worker_expires_contracts_through_the_broker(real_worker):
    today = timezone.localdate()
    ended = ContractFactory(start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=2))

    changed = contracts_expire_due_task.apply_async(ignore_result=False).get(timeout=20)

    assert changed == 1
    ended.refresh_from_db()
    assert ended.status == Contract.Status.EXPIRED
