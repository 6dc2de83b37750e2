"""Workflow rules at scale (issue 18), with 200 active rules on contacts.

1. **Overhead on a contact update through the API**: ``PATCH /api/v1/contacts/{id}/`` through
   gunicorn, interleaved rounds with the 200 rules switched on and switched off. With them on,
   the request pays the hook (a cached index lookup) and queueing one ``workflows.dispatch``
   task on the broker after the commit; the rules themselves run on the worker. Target: the
   difference of the p50s ≤ 10 % of the request without rules.
2. **Rule evaluations per second on one worker**: ``engine.plan`` + the run log insert for one
   contact change at a time (what ``workflows.dispatch`` does per event), 200 rules whose
   conditions read the contact, its account and a count of the account's open cases. Target
   ≥ 2,000 evaluations/s. Rolled back: nothing is kept.
3. **Time-trigger scan over 1,000,000 contacts**: ``engine.time_claim`` for a rule "30 days
   after the contact was created, if the account is not strategic" over a window of one day:
   the set-based query over the whole table plus the run rows it inserts. Target ≤ 5 s. Rolled back.

Run: ``flock /tmp/clientele-bench.lock .venv/bin/python -m bench --only workflows`` with
``DATABASE_URL`` set to a benchmark database (and ``REDIS_URL`` for a real broker round trip).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import statistics
import time
from typing import Any

RULES = 200
TARGET_OVERHEAD = 0.10
TARGET_EVALS_PER_S = 2000.0
TARGET_SCAN_MS = 5000.0
CLIENTS = 2
REQUESTS_PER_ROUND = 150
ROUNDS = 3
NAMES = [
    "workflows: contact update via API, 200 rules on",
    "workflows: rule evaluations per second (one worker)",
    "workflows: time-trigger scan over 1M contacts",
]
_SERVER_TIMING = re.compile(r"dur=([0-9.]+)")


def _rules(owner) -> list[Any]:
    from workflows.models import Rule

    Rule.objects.filter(name__startswith="bench ").delete()
    tiers = ["key", "strategic", "standard"]
    rules = [
        Rule(
            name=f"bench {n}",
            record_type="crm.contact",
            trigger="changed",
            conditions={
                "all": [
                    {"field": "account.tier", "op": "eq", "value": tiers[n % 3]},
                    {"field": "account.open_cases", "op": "gt", "value": 3 + n % 5},
                    {"field": "job_title", "op": "contains", "value": f"head{n}"},
                ]
            },
            actions=[{"type": "task", "subject": "Follow up {{ first_name }}"}],
            position=10 * (n + 1),
            enabled=False,
            owner=owner,
        )
        for n in range(RULES)
    ]
    return Rule.objects.bulk_create(rules)


def _set_enabled(on: bool) -> None:
    from workflows.models import Rule
    from workflows.triggers import forget_index

    Rule.objects.filter(name__startswith="bench ").update(enabled=on)
    forget_index()


def _patch(port: int, path: str, headers: dict[str, str], n: int) -> tuple[int, float, float | None]:
    body = json.dumps({"job_title": f"Buyer {n}"})
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "PATCH", path, body=body, headers={"Host": "localhost", "Content-Type": "application/json", **headers}
        )
        response = conn.getresponse()
        response.read()
        wall = (time.perf_counter() - started) * 1000
        timing = _SERVER_TIMING.search(response.getheader("Server-Timing") or "")
        return response.status, wall, float(timing.group(1)) if timing else None
    finally:
        conn.close()


def _burst(
    port: int, ids: list[int], headers: dict[str, str], time_cap: float
) -> list[tuple[int, float, float | None]]:
    from bench.run import _fire

    counter = iter(range(10**9))

    def one(_state):
        n = next(counter)
        return _patch(port, f"/api/v1/contacts/{ids[n % len(ids)]}/", headers, n)

    return _fire(REQUESTS_PER_ROUND, CLIENTS, time_cap, one)


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0


def _update_overhead(ctx, ids: list[int]) -> Any:
    from django.utils import timezone

    from api.services import api_key_create
    from bench.run import Gunicorn, Result, _log

    issued = api_key_create(
        actor=ctx.users["ops"],
        name=f"bench workflows {timezone.now():%Y-%m-%d %H:%M:%S}",
        scopes="contacts:write",
        expires_at=timezone.now() + timezone.timedelta(hours=2),
    )
    headers = {"Authorization": f"Api-Key {issued.key}"}
    previous_rate = os.environ.get("API_THROTTLE_RATE")
    os.environ["API_THROTTLE_RATE"] = "1000000/min"
    server = Gunicorn(database_url=ctx.database_url, workers=ctx.workers)
    samples: dict[bool, list[float]] = {True: [], False: []}
    walls: dict[bool, list[float]] = {True: [], False: []}
    errors = 0
    try:
        for on in (False, True):
            _set_enabled(on)
            _burst(server.port, ids, headers, ctx.time_cap)  # warm-up (and the index cache)
        for round_no in range(ROUNDS):
            for on in (True, False) if round_no % 2 == 0 else (False, True):
                _set_enabled(on)
                _burst(server.port, ids[:5], headers, ctx.time_cap)  # re-warm the index for this state
                burst = _burst(server.port, ids, headers, ctx.time_cap)
                errors += sum(1 for s in burst if s[0] != 200)
                samples[on].extend(s[2] for s in burst if s[0] == 200 and s[2] is not None)
                walls[on].extend(s[1] for s in burst if s[0] == 200)
                _log(
                    f"[bench] workflows: rules {'on' if on else 'off'} round {round_no + 1}: "
                    f"p50 {_p(samples[on], 0.5)} ms"
                )
    finally:
        _set_enabled(False)
        server.stop()
        if previous_rate is None:
            os.environ.pop("API_THROTTLE_RATE", None)
        else:
            os.environ["API_THROTTLE_RATE"] = previous_rate
    on50, off50 = statistics.median(samples[True]), statistics.median(samples[False])
    overhead = (on50 - off50) / off50 if off50 else 0.0
    return Result(
        name=NAMES[0],
        path="/api/v1/contacts/{id}/ (PATCH)",
        target_ms=None,
        requests=len(samples[True]),
        errors=errors,
        p50=round(on50, 1),
        p95=_p(samples[True], 0.95),
        p95_rounds=[_p(samples[True], 0.95)],
        wall_p50=_p(walls[True], 0.5),
        baseline_p50=round(off50, 1),
        baseline_p95=_p(samples[False], 0.95),
        ratio=on50 / off50 if off50 else None,
        passed=overhead <= TARGET_OVERHEAD and errors == 0,
        note=f"overhead {overhead:+.1%} of the request without rules (target ≤ {TARGET_OVERHEAD:.0%}); "
        f"broker: {'Redis' if os.environ.get('REDIS_URL') else 'none (in-process: the rules ran inside the request)'}",
    )


class _Rollback(Exception):
    pass


def _evaluations(ids: list[int]) -> Any:
    from django.db import transaction

    from bench.run import Result
    from workflows import engine
    from workflows.events import Occurrence

    _set_enabled(True)
    rules = engine.enabled_rules({"crm.contact"}, engine.RECORD_TRIGGERS)
    events = [
        Occurrence(
            key=f"bench:{n}:{pk}",
            record_type="crm.contact",
            record_id=pk,
            kind="changed",
            changes={"job_title": {"old": "", "new": "x"}},
        )
        for n, pk in enumerate(ids)
    ]
    elapsed_plan = elapsed_total = 0.0
    try:
        with transaction.atomic():
            for event in events:  # one dispatch per event, as after one commit each
                started = time.perf_counter()
                planned = engine.plan([event], rules, 0)
                mid = time.perf_counter()
                engine._log_runs(planned, 0)
                done = time.perf_counter()
                elapsed_plan += mid - started
                elapsed_total += done - started
            raise _Rollback
    except _Rollback:
        pass
    finally:
        _set_enabled(False)
    evaluations = len(rules) * len(events)
    per_s = evaluations / elapsed_total
    result = Result(name=NAMES[1], path="workflows.engine.plan + run log", target_ms=TARGET_EVALS_PER_S, unit="eval/s")
    result.requests = len(events)
    result.p50 = round(per_s)
    result.p95_rounds = []
    result.passed = per_s >= TARGET_EVALS_PER_S
    result.note = (
        f"{evaluations:,} evaluations ({len(rules)} rules × {len(events)} events, one query per event); "
        f"conditions alone {evaluations / elapsed_plan:,.0f}/s; with the run log insert {per_s:,.0f}/s"
    )
    return result


def _time_scan(owner) -> Any:
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.run import Result
    from crm.models import Contact
    from workflows import engine
    from workflows.models import Rule

    rule = Rule.objects.create(
        name="bench time",
        record_type="crm.contact",
        trigger="time",
        time_field="created_at",
        time_offset_hours=24 * 30,
        conditions={"all": [{"field": "account.tier", "op": "ne", "value": "strategic"}]},
        actions=[{"type": "task", "subject": "30 days in: call {{ first_name }}"}],
        enabled=True,
        owner=owner,
    )
    newest = Contact.objects.order_by("-created_at").values_list("created_at", flat=True).first() or timezone.now()
    hi = newest + dt.timedelta(days=30)
    lo = hi - dt.timedelta(days=1)
    claimed = 0
    try:
        with transaction.atomic():
            started = time.perf_counter()
            claimed = len(engine.time_claim(rule, lo, hi))
            elapsed_ms = (time.perf_counter() - started) * 1000
            raise _Rollback
    except _Rollback:
        pass
    finally:
        Rule.objects.filter(pk=rule.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'crm_contact'")
        rows = cursor.fetchone()[0]
    result = Result(name=NAMES[2], path="workflows.engine.time_claim", target_ms=TARGET_SCAN_MS)
    result.requests = 1
    result.p50 = result.p95 = round(elapsed_ms, 1)
    result.p95_rounds = [result.p95]
    result.passed = elapsed_ms <= TARGET_SCAN_MS
    result.note = f"~{rows:,} contacts scanned, {claimed:,} fell due in the one-day window and got a run row"
    return result


def measure(ctx) -> list:
    from bench.run import Result, _log
    from crm.models import Contact
    from workflows.models import Rule

    if ctx.only and not any(re.search(ctx.only, n) for n in NAMES):
        return []
    if ctx.sizes.get("contacts", 0) < 100_000:
        return [Result(n, "", None, status="unavailable", note="too few contacts") for n in NAMES]
    owner = ctx.users["ops"]
    _rules(owner)
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True)[:300])
    results = []
    try:
        _log("[bench] workflows: contact update with 200 rules on/off")
        results.append(_update_overhead(ctx, ids[:200]))
        _log("[bench] workflows: evaluations per second")
        results.append(_evaluations(ids))
        _log("[bench] workflows: time scan")
        results.append(_time_scan(owner))
    finally:
        Rule.objects.filter(name__startswith="bench ").delete()
    for r in results:
        _log(f"[bench] {r.name}: {r.p50} {r.unit} — {r.note}")
    return results
