"""Smoke test of the decay benchmark suite at tiny sizes, so it does not rot between runs."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from bench.decay import SimConfig, run_decay
from bench.run import SUITES, SuiteContext

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark is PostgreSQL-only"),
    pytest.mark.django_db(transaction=True),
]

TINY = {
    "reps": 3,
    "accounts": 20,
    "contacts": 300,
    "leads": 5,
    "opportunities": 5,
    "contracts": 14,
    "activities": 5,
    "big_contacts": 10,
    "big_activities": 5,
}


def test_decay_suite_is_registered():
    assert "bench.decay" in SUITES


def test_decay_suite_measures_the_jobs_and_simulates_a_short_year(settings):
    call_command("seed_scale", memberships=100, stdout=open("/dev/null", "w"), **TINY)  # noqa: SIM115
    ctx = SuiteContext(database_url="", users={}, cookies={}, sizes={}, only=None, clients=1, workers=1, time_cap=5)
    config = SimConfig(contacts=300, months=3, portal_share=0.3, job_change=0.1)
    results = run_decay(ctx, reconfirm=50, sim=config, sim_sizes=TINY, sim_in_place=True)
    names = [r.name for r in results]
    assert any("freshness of 300 contacts derived at read time" in n for n in names)
    assert any("reconfirmation job" in n for n in names)
    [invited] = (r for r in results if "one invitation batch" in r.name)
    assert invited.status != "unavailable", invited.note
    assert "invitations sent by the batch's chunks" in invited.note
    off, on = (r for r in results if "simulation" in r.name)
    assert off.unit == on.unit == "% wrong"
    assert 0 < off.p50 <= 100
    assert on.p50 <= off.p50  # the loops only ever fix data
    today, year_later, stored = results[:3]
    assert today.unit == year_later.unit == stored.unit == "s"
    assert today.note.startswith("0 rows written")
    assert year_later.note.startswith("0 rows written")
    assert "stored state without index" in stored.name
    assert "300 rows change" in stored.name
    assert all(r.passed is not None for r in (today, year_later, stored))
