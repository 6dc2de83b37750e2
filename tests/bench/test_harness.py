"""Smoke test of the benchmark harness at tiny sizes, so it does not rot between releases."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from crm.management.commands.seed_scale import BIG_ACCOUNT_NAME, names_checksum, table_counts
from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="seed_scale and the benchmark are PostgreSQL-only (COPY, pg_trgm); set DATABASE_URL=postgres://...",
    ),
    # Committed data: gunicorn, a separate process, must see it.
    pytest.mark.django_db(transaction=True),
]

TINY = {
    "reps": 5,
    "accounts": 20,
    "contacts": 200,
    "leads": 30,
    "opportunities": 20,
    "contracts": 15,
    "activities": 300,
    "memberships": 0,
    "big_contacts": 40,
    "big_activities": 80,
}


def _seed(**extra) -> str:
    out = io.StringIO()
    call_command("seed_scale", stdout=out, **{**TINY, **extra})
    return out.getvalue()


def test_seed_scale_gives_accounts_portal_users_with_one_org_admin_each_and_reruns_cleanly():
    from iam.models import Membership

    _seed(memberships=50)
    members = Membership.objects.select_related("user")
    assert members.count() == 50
    assert all(not m.user.is_staff and not m.user.has_usable_password() for m in members)
    assert all(m.contact.account_id == m.account_id for m in members.select_related("contact"))
    admins = members.filter(is_org_admin=True)
    assert admins.count() == members.values("account").distinct().count()  # one org admin per account
    assert set(admins.values_list("roles__key", flat=True)) == {"org_admin"}
    # Access follows the contract from the start: members without an active contract are suspended by it.
    without_contract = members.exclude(account__contracts__status="active")
    assert set(without_contract.values_list("status", "suspended_by").distinct()) <= {("suspended", "contract")}
    assert members.filter(account__contracts__status="active", status="active").exists()

    out = _seed(memberships=50)
    assert "50 already loaded" in out
    assert Membership.objects.count() == 50
    _seed(memberships=20)
    assert Membership.objects.count() == 20


def test_seed_scale_loads_the_requested_counts_deterministically():
    _seed()
    counts = table_counts()
    assert counts["crm_account"] == 20
    assert counts["crm_contact"] == 200
    assert counts["crm_lead"] == 30
    assert counts["crm_opportunity"] == 20
    assert counts["crm_contract"] == 15
    assert counts["crm_activity"] == 300
    big = Account.objects.get(name=BIG_ACCOUNT_NAME)
    assert big.contacts.count() == 40
    assert big.activities.count() >= 80
    # The data obeys the model's invariants (the database enforced them during COPY, too).
    assert not Contact.objects.filter(last_verified_at__isnull=False, verification_method="").exists()
    assert not Opportunity.objects.filter(stage="won").exclude(probability=100).exists()
    assert not Lead.objects.filter(status="converted", converted_at__isnull=True).exists()
    assert Contract.objects.filter(status="active").exists()
    assert not Activity.objects.filter(done=True, done_at__isnull=True).exists()
    # Freshness is derived from last_verified_at at read time: every state occurs, nothing to recompute.
    from crm.decay import Freshness, contacts_refresh_freshness

    assert all(Contact.objects.freshness_in(state).exists() for state in Freshness)
    assert not contacts_refresh_freshness()
    checksum = names_checksum()

    assert "Nothing to do" in _seed()  # same seed and sizes: skipped
    _seed(reset=True)
    assert names_checksum() == checksum  # same seed: the same data
    _seed(reset=True, seed=7)
    assert names_checksum() != checksum


def test_harness_runs_and_reports_a_table_and_json(tmp_path, capsys, monkeypatch):
    import sys
    import types

    import bench.run
    from bench.run import Result, run

    # The real suites have smoke tests of their own (tests/bench/test_<suite>.py); here one
    # stand-in checks that the page run hands over to the suites and reports their figures.
    handed: list = []

    def measure(ctx):
        handed.append(ctx)
        return [Result(name="suite: stand-in", path="-", target_ms=5.0, p50=7.0, p95=9.0, unit="jobs/s")]

    monkeypatch.setitem(sys.modules, "tests_bench_stand_in", types.SimpleNamespace(measure=measure))
    monkeypatch.setattr(bench.run, "SUITES", ["tests_bench_stand_in"])

    sizes = {k: TINY[k] for k in ("accounts", "contacts", "leads", "opportunities", "contracts", "activities")}
    json_out, markdown_out = tmp_path / "results.json", tmp_path / "benchmarks.md"
    run(
        sizes={**sizes, "memberships": 0, "reps": 5, "big_contacts": 40, "big_activities": 80},
        requests=3,
        rounds=1,
        clients=2,
        workers=1,
        time_cap=20,
        json_out=json_out,
        markdown_out=markdown_out,
        stdout=io.StringIO(),
    )

    printed = capsys.readouterr().out
    assert "operation" in printed
    assert "contacts: first page" in printed
    report = json.loads(json_out.read_text())
    assert report["machine"]["cores"] >= 1
    results = {r["name"]: r for r in report["results"]}
    first = results["contacts: first page"]
    assert first["status"] == "ok", first
    assert first["errors"] == 0
    assert first["p50"] > 0
    assert first["baseline_p50"] > 0
    assert first["queries"] > 0
    assert any(name.startswith("search: company") and r["status"] == "ok" for name, r in results.items())
    assert "| operation |" in markdown_out.read_text()
    assert len(handed) == 1
    assert handed[0].database_url.startswith("postgres://")
    assert handed[0].sizes["contacts"] == 200
    assert results["suite: stand-in"]["unit"] == "jobs/s"
    assert "7.0 jobs/s" in printed
