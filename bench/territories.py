"""Territories and routing at scale: 100,000 accounts, 1M contacts, 200,000 leads.

1. **Setup** (idempotent): a team of 10 of the staff who own the benchmark's leads (capacity
   set above their load, so capacity is counted on every pick), twelve territories (regions,
   countries, industries, a custom field value, a catch-all last) and two lead rules (by
   territory; else round-robin in the team).
2. **Routing a lead on creation**: ``crm.services.lead_save`` of a new lead without routing and
   with it (``route=True``: rules, territory, the team row lock, loads, the owner change, history,
   audit), each in a transaction rolled back so the database stays as it was. The figure is the
   added time per create (p50/p95 of each, ms) and the added queries.
3. **Least-loaded pick** among the 10 members, whose open leads are counted among the 200,000
   (one grouped query), inside a rolled-back transaction: p50/p95 ms, queries.
4. **Re-applying territories** to all 100,000 accounts (``territories_reapply``: keyset chunks of
   5,000, one UPDATE … CASE, one history INSERT per chunk): the first run after the definitions
   change (most accounts move), then a second run (nothing to move: idempotent). Seconds.

Run on its own: ``DATABASE_URL=postgres://…/clientele_bench_terr python -m bench.territories``;
in the harness it is the suite ``bench.territories``. Knobs: ``BENCH_TERRITORIES_CREATES`` (200).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from bench.run import Result, SuiteContext, _log, percentile

CREATE_OVERHEAD_TARGET_MS = 10.0
REAPPLY_TARGET_S = 30.0

TERRITORIES: list[dict[str, Any]] = [
    {"name": "Bench Gold partners", "custom_field": "partner_level", "custom_value": "gold"},
    {"name": "Bench Nordic software", "regions": ["nordics"], "industries": ["software"]},
    {"name": "Bench Nordics", "regions": ["nordics"]},
    {"name": "Bench DACH manufacturing", "regions": ["dach"], "industries": ["manufacturing"]},
    {"name": "Bench DACH", "regions": ["dach"]},
    {"name": "Bench Benelux", "regions": ["benelux"]},
    {"name": "Bench UK & Ireland", "regions": ["uk_ireland"]},
    {"name": "Bench Southern Europe", "regions": ["southern_europe"]},
    {"name": "Bench Eastern Europe", "regions": ["eastern_europe"]},
    {"name": "Bench North America", "regions": ["north_america"]},
    {"name": "Bench Healthcare", "industries": ["healthcare"]},
    {"name": "Bench Rest of world"},
]


def _setup() -> Any:
    from django.db.models import Count

    from crm.models import Lead
    from iam.models import User
    from territories.models import AssignmentRule, Strategy, Team, TeamMembership, Territory
    from territories.routing import OPEN_LEAD_STATUSES

    owners = list(
        Lead.objects.filter(status__in=OPEN_LEAD_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by("-n", "owner_id")[:10]
    )
    team, _ = Team.objects.get_or_create(key="bench", defaults={"name": "Bench team"})
    for row in owners:
        TeamMembership.objects.get_or_create(
            team=team, user_id=row["owner_id"], defaults={"max_open_leads": row["n"] + 100_000}
        )
    team.manager = User.objects.get(pk=owners[0]["owner_id"])
    team.save()
    for position, spec in enumerate(TERRITORIES, start=1):
        Territory.objects.update_or_create(
            name=spec["name"],
            defaults={"position": position, "team": team, **{k: v for k, v in spec.items() if k != "name"}},
        )
    first, _ = AssignmentRule.objects.get_or_create(
        name="Bench Nordic leads",
        defaults={"record_type": "crm.lead", "position": 1, "strategy": Strategy.TERRITORY},
    )
    first.territories.set(Territory.objects.filter(name__in=["Bench Nordics", "Bench Nordic software"]))
    AssignmentRule.objects.get_or_create(
        name="Bench everyone else",
        defaults={"record_type": "crm.lead", "position": 2, "strategy": Strategy.ROUND_ROBIN, "team": team},
    )
    return team


def _timed(fn: Any, n: int) -> tuple[list[float], int]:
    """Run ``fn`` n times, each in a transaction rolled back; ms per call and the queries of the last."""
    from django.db import connection, reset_queries, transaction
    from django.test.utils import CaptureQueriesContext

    times: list[float] = []
    queries = 0
    for i in range(n):
        # The query log is a bounded deque: start each call from an empty one so counts stay exact.
        reset_queries()
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            start = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - start) * 1000)
            transaction.set_rollback(True)
        queries = len(captured.captured_queries)
    return times, queries


def _result(name: str, path: str, times: list[float], queries: int, *, target: float | None, note: str = "") -> Result:
    r = Result(name=name, path=path, target_ms=target, requests=len(times), queries=queries, note=note)
    r.p50, r.p95 = statistics.median(times), percentile(times, 0.95)
    r.p25, r.p75 = percentile(times, 0.25), percentile(times, 0.75)
    return r


def measure(ctx: SuiteContext | None = None) -> list[Result]:
    from crm.models import Account, Lead
    from crm.services import lead_save
    from iam.models import User
    from territories.routing import pick_assignee
    from territories.services import territories_reapply

    n = int(os.environ.get("BENCH_TERRITORIES_CREATES", "200"))
    team = _setup()
    actor = User.objects.filter(is_staff=True, is_active=True, is_superuser=True).first() or team.manager
    countries = ["FI", "SE", "DE", "FR", "US", "GB", "PL", "NL", "ES", "BR"]

    def create(route: bool):
        def run(i: int) -> None:
            lead = Lead(
                last_name=f"Bench {i}",
                company_name=f"Bench prospect {i}",
                company_country=countries[i % len(countries)],
                source="web",
                owner=actor,
            )
            lead_save(actor=actor, lead=lead, route=route)

        return run

    results = []
    _timed(create(False), 1)  # warm the caches (custom field definitions, content types); rolled back
    plain, plain_q = _timed(create(False), n)
    routed, routed_q = _timed(create(True), n)
    added = statistics.median(routed) - statistics.median(plain)
    results.append(_result("Lead create, no routing", "crm.services.lead_save", plain, plain_q, target=None))
    r = _result(
        "Lead create, routed on creation",
        "crm.services.lead_save(route=True)",
        routed,
        routed_q,
        target=None,
        note=f"added {added:.1f} ms and {routed_q - plain_q} queries per create",
    )
    results.append(r)
    overhead = Result(
        name="Routing: added time per lead create (p50)",
        path="territories.services.lead_route",
        target_ms=CREATE_OVERHEAD_TARGET_MS,
        requests=n,
        queries=routed_q - plain_q,
    )
    overhead.p50 = added
    overhead.p95 = percentile(routed, 0.95) - percentile(plain, 0.95)
    overhead.passed = added <= CREATE_OVERHEAD_TARGET_MS
    results.append(overhead)

    sample = Lead(last_name="Sample", source="web", company_country="DE")
    picks, pick_q = _timed(lambda i: pick_assignee(record=sample, strategy="least_loaded", team=team), n)
    leads = Lead.objects.count()
    results.append(
        _result(
            f"Least-loaded pick (10 members, {leads:,} leads)",
            "territories.routing.pick_assignee",
            picks,
            pick_q,
            target=None,
        )
    )

    accounts = Account.objects.count()
    # Every run starts from accounts without a territory (one untimed UPDATE), so the first re-apply
    # always moves them all, however often the benchmark ran before.
    Account.objects.update(territory="", territory_manual=False)
    for label in ("first run (definitions changed)", "second run (nothing to move)"):
        start = time.perf_counter()
        changed = territories_reapply(actor=None)
        seconds = time.perf_counter() - start
        rr = Result(
            name=f"Re-apply territories, {accounts:,} accounts, {label}",
            path="territories.services.territories_reapply",
            target_ms=REAPPLY_TARGET_S,
            requests=1,
            unit="s",
            note=f"{changed:,} accounts moved",
        )
        rr.p50 = rr.p95 = seconds
        rr.passed = seconds <= REAPPLY_TARGET_S
        results.append(rr)
        _log(f"[bench.territories] re-apply {label}: {seconds:.2f} s, {changed:,} moved")
    return results


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    django.setup()
    with open("/proc/loadavg") as f:
        _log(f"[bench.territories] load average before: {f.read().strip()}")
    for r in measure():
        print(f"{r.name:62} p50 {r.p50:9.2f} {r.unit}  p95 {r.p95:9.2f} {r.unit}  q={r.queries}  {r.note}")
    with open("/proc/loadavg") as f:
        _log(f"[bench.territories] load average after: {f.read().strip()}")
