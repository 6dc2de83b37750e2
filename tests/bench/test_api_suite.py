"""Smoke test of the API benchmark suite at tiny sizes (gunicorn, the plain view, the same JSON)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark is PostgreSQL-only"),
    pytest.mark.django_db(transaction=True),
]


def test_api_suite_measures_both_pages_against_the_plain_view(monkeypatch):
    import bench.api
    from bench.run import SuiteContext, _login_cookie
    from crm.management.commands.seed_scale import SEED_DOMAIN
    from iam.models import User

    call_command(
        "seed_scale",
        stdout=io.StringIO(),
        reps=3,
        accounts=20,
        contacts=60,
        leads=5,
        opportunities=5,
        contracts=5,
        activities=20,
        memberships=0,
        big_contacts=10,
        big_activities=10,
    )
    monkeypatch.setattr(bench.api, "PAGE_SIZE", 50)
    monkeypatch.setattr(bench.api, "ROUNDS", 1)
    monkeypatch.setattr(bench.api, "REQUESTS_PER_ROUND", 4)
    monkeypatch.setattr(bench.api, "WARMUP", 1)
    # Page 1,000 of 60 contacts does not exist: the suite says so instead of inventing figures.
    users = {
        "rep": User.objects.get(email=f"rep001@{SEED_DOMAIN}"),
        "ops": User.objects.get(email=f"ops@{SEED_DOMAIN}"),
    }
    db = connection.settings_dict
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    ctx = SuiteContext(
        database_url=f"postgres://{db.get('USER') or ''}@{host}/{db['NAME']}",
        users=users,
        cookies={k: _login_cookie(u) for k, u in users.items()},
        sizes={"contacts": 60},
        only=None,
        clients=2,
        workers=1,
        time_cap=20,
    )
    assert {r.status for r in bench.api.measure(ctx)} == {"unavailable"}
    monkeypatch.setattr(bench.api, "DEEP_PAGE", 2)
    results = {r.name: r for r in bench.api.measure(ctx)}
    page = results["API contacts list: cursor page 1"]
    assert page.status == "ok", page.note
    assert page.errors == 0
    assert page.p50 > 0
    assert page.baseline_p50 > 0
    throughput = results["API contacts list: cursor page 1: throughput"]
    assert throughput.unit == "req/s"
    assert throughput.p50 > 0
    assert throughput.baseline_p50 > 0
    assert ctx.only is None
    assert bench.api.measure(SuiteContext(**{**ctx.__dict__, "only": "search"})) == []
