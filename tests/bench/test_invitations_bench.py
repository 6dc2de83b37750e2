"""Smoke test of the batch-invitation benchmark at a tiny size: a real worker, Redis and SMTP sink."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

from bench import invitations as suite
from bench.run import SuiteContext
from tests.factories import StaffFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL only"),
    pytest.mark.django_db(transaction=True),
]


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return url
    except OSError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {url}; CI must have it.")
        pytest.skip(f"Redis does not answer at {url}")


def test_the_batch_benchmark_delivers_every_invitation_once_and_reports_rate_and_memory(monkeypatch):
    monkeypatch.setenv("REDIS_URL", _redis_url())
    StaffFactory(is_superuser=True, staff_role="operations")
    db = connection.settings_dict
    ctx = SuiteContext(
        database_url=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        users={},
        cookies={},
        sizes={"invitation_recipients": 40},
        only=None,
        clients=2,
        workers=2,
        time_cap=30,
    )

    rate, memory = suite.measure(ctx)

    assert rate.status == "ok", rate.note
    assert rate.unit == "invitations/s"
    assert rate.requests == 40
    assert rate.p50 > 0
    assert "0 duplicates" in rate.note
    assert memory.unit == "MB"
    assert 0 < memory.p50 < 1000
    # Run again: the previous run's invitations are forgotten, nobody is skipped.
    again, _ = suite.measure(ctx)
    assert again.requests == 40
