"""The API's contacts list at scale: /api/v1/contacts/ against a hand-written Django view.

Both run the same keyset query (``crm.selectors.contact_list`` paged by ``core.listing.keyset_page``)
and return the same JSON; the plain view skips DRF, authentication, throttling and serializers.
Measured with gunicorn on loopback and 8 concurrent clients, for cursor page 1 and page 1,000
(row 49,951), in interleaved rounds so machine noise hits both alike. Figures: requests/s
(throughput, wall clock) and p50/p95 of the server's own time (``Server-Timing``) and of the
client's wall time. Targets (issue 7): at least 50 % of the plain view's throughput, p95 < 50 ms.

The plain view and its URL exist only in the benchmark's URLconf (``bench.urls``, set by
``config.settings.bench``), never in the product's.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
from typing import Any

from django.http import HttpRequest, JsonResponse

CLIENTS = 8
WARMUP = 10
ROUNDS = 3
REQUESTS_PER_ROUND = 200
TARGET_P95_MS = 50.0
TARGET_THROUGHPUT_SHARE = 0.5
PLAIN_PATH = "/bench/plain/contacts/"
API_PATH = "/api/v1/contacts/"
PAGE_SIZE = 50
DEEP_PAGE = 1_000


# --- The hand-written view (bench URLconf only) ------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def plain_contact_list(request: HttpRequest) -> JsonResponse:
    """The same rows and JSON as /api/v1/contacts/, by hand: no DRF, no auth, no throttle, no session."""
    from api.views import ContactViewSet
    from core.listing import keyset_page
    from crm.models import Contact
    from customfields.selectors import fields_for

    cursor = request.GET.get("cursor") or None
    # The query of crm.selectors.contact_list for a staff user (visible_to: every contact).
    qs = Contact.objects.select_related("account", "owner")
    sort = next(iter(ContactViewSet.orderings.values()))
    page = keyset_page(qs, sort=sort, cursor=cursor, page_size=PAGE_SIZE, count=False)
    custom = fields_for("crm.contact")
    results = [
        {
            "id": c.pk,
            "account": c.account_id,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "email": c.email,
            "other_emails": c.other_emails,
            "phone": str(c.phone) if c.phone else "",
            "job_title": c.job_title,
            "owner": c.owner_id,
            "consent_to_contact": c.consent_to_contact,
            "consent_updated_at": _iso(c.consent_updated_at),
            "last_verified_at": _iso(c.last_verified_at),
            "verification_method": c.verification_method,
            "freshness": c.freshness,
            "left_at": _iso(c.left_at),
            "left_reason": c.left_reason,
            "custom_fields": {f.key: (c.custom_fields or {}).get(f.key) for f in custom},
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at),
        }
        for c in page.items
    ]

    def link(value: str | None) -> str | None:
        return request.build_absolute_uri(f"{request.path}?cursor={value}") if value else None

    return JsonResponse({"next": link(page.next_cursor), "previous": link(page.prev_cursor), "results": results})


# --- Load ----------------------------------------------------------------------------------------

_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, float, float | None, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": "localhost", **headers})
        response = conn.getresponse()
        body = response.read()
        wall = (time.perf_counter() - started) * 1000
        timing = _SERVER_TIMING.search(response.getheader("Server-Timing") or "")
        return response.status, wall, float(timing.group(1)) if timing else None, body
    finally:
        conn.close()


def _burst(port: int, path: str, headers: dict[str, str], count: int, time_cap: float) -> dict[str, Any]:
    from bench.run import _fire

    started = time.perf_counter()
    samples = _fire(count, CLIENTS, time_cap, lambda _state: _get(port, path, headers))
    elapsed = time.perf_counter() - started
    return {
        "ok": [s for s in samples if s[0] == 200],
        "errors": sum(1 for s in samples if s[0] != 200),
        "rps": len(samples) / elapsed if elapsed else 0.0,
    }


def _comparable(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    for key in ("next", "previous"):
        if data.get(key):
            data[key] = data[key].split("?", 1)[1]  # the cursor, whatever the path
    return data


def measure(ctx) -> list:
    from django.utils import timezone

    from api.services import api_key_create
    from bench.run import Gunicorn, Result, _deep_cursor, _log
    from crm.models import Contact

    names = ["API contacts list: cursor page 1", f"API contacts list: cursor page {DEEP_PAGE:,}"]
    if ctx.only and not any(re.search(ctx.only, n) for n in names):
        return []
    from api.views import ContactViewSet

    sort = next(iter(ContactViewSet.orderings.values()))
    deep = _deep_cursor(sort, (DEEP_PAGE - 1) * PAGE_SIZE - 1)  # the 'next' cursor that opens that page
    if deep is None or not Contact.objects.exists():
        return [Result(n, API_PATH, TARGET_P95_MS, status="unavailable", note="too few contacts") for n in names]
    issued = api_key_create(
        actor=ctx.users["ops"],
        name=f"bench {timezone.now():%Y-%m-%d %H:%M:%S}",
        scopes="contacts:read",
        expires_at=timezone.now() + timezone.timedelta(hours=2),
    )
    api_headers = {"Authorization": f"Api-Key {issued.key}"}
    plain_headers: dict[str, str] = {}  # anonymous: not even a session lookup
    pages = [(names[0], ""), (names[1], f"?cursor={deep}")]

    # The throttle stays on (its cache round trip is part of the cost), with room for the load.
    previous_rate = os.environ.get("API_THROTTLE_RATE")
    os.environ["API_THROTTLE_RATE"] = "1000000/min"
    _log(f"[bench] api: starting gunicorn ({ctx.workers} workers), {CLIENTS} clients")
    server = Gunicorn(database_url=ctx.database_url, workers=ctx.workers)
    results = []
    try:
        collected: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for name, query in pages:
            api_status, *_r, api_body = _get(server.port, API_PATH + query, api_headers)
            plain_status, *_r, plain_body = _get(server.port, PLAIN_PATH + query, plain_headers)
            same = api_status == plain_status == 200 and _comparable(api_body) == _comparable(plain_body)
            if not same:
                note = f"the plain view's JSON differs from the API's (HTTP {api_status}/{plain_status})"
                results.append(Result(name, API_PATH + query, TARGET_P95_MS, status="error", note=note))
                continue
            for which, path, headers in (("api", API_PATH, api_headers), ("plain", PLAIN_PATH, plain_headers)):
                _burst(server.port, path + query, headers, WARMUP, ctx.time_cap)  # warm-up, not counted
                collected[(name, which)] = []
        for round_no in range(ROUNDS):
            for name, query in pages:
                if (name, "api") not in collected:
                    continue
                # Alternate which goes first, so neither always gets the warmer machine.
                order = [("api", API_PATH, api_headers), ("plain", PLAIN_PATH, plain_headers)]
                for which, path, headers in order if round_no % 2 == 0 else order[::-1]:
                    burst = _burst(server.port, path + query, headers, REQUESTS_PER_ROUND, ctx.time_cap)
                    collected[(name, which)].append(burst)
                    _log(f"[bench] api: {name} [{which}] round {round_no + 1}: {burst['rps']:.0f} req/s")
        for name, query in pages:
            if (name, "api") not in collected:
                continue
            stats = {which: _stats(collected[(name, which)]) for which in ("api", "plain")}
            api, plain = stats["api"], stats["plain"]
            share = api["rps"] / plain["rps"] if plain["rps"] else 0.0
            results.append(
                Result(
                    name=name,
                    path=API_PATH + (query[:30] + "…" if query else ""),
                    target_ms=TARGET_P95_MS,
                    requests=api["requests"],
                    errors=api["errors"],
                    queries=2,
                    p50=api["p50"],
                    p95=api["p95"],
                    p25=api["p25"],
                    p75=api["p75"],
                    p95_rounds=api["p95_rounds"],
                    wall_p50=api["wall_p50"],
                    wall_p95=api["wall_p95"],
                    baseline_p50=plain["p50"],
                    baseline_p95=plain["p95"],
                    ratio=api["p50"] / plain["p50"] if plain["p50"] else None,
                    passed=api["p95"] < TARGET_P95_MS and api["errors"] == 0,
                    note=f"baseline: the plain Django view (server p95 {plain['p95']:.1f} ms, "
                    f"wall p95 {plain['wall_p95']:.1f} ms)",
                )
            )
            results.append(
                Result(
                    name=f"{name}: throughput",
                    path=API_PATH,
                    target_ms=round(plain["rps"] * TARGET_THROUGHPUT_SHARE, 1),
                    requests=api["requests"],
                    errors=api["errors"],
                    p50=api["rps"],
                    p95_rounds=[],
                    baseline_p50=plain["rps"],
                    ratio=share,
                    passed=share >= TARGET_THROUGHPUT_SHARE,
                    unit="req/s",
                    note=f"API {api['rps']:.0f} req/s = {share:.0%} of the plain view's {plain['rps']:.0f} req/s "
                    f"(target ≥ {TARGET_THROUGHPUT_SHARE:.0%}); {CLIENTS} clients, {ctx.workers} workers",
                )
            )
    finally:
        server.stop()
        if previous_rate is None:
            os.environ.pop("API_THROTTLE_RATE", None)
        else:
            os.environ["API_THROTTLE_RATE"] = previous_rate
    return results


def _stats(bursts: list[dict[str, Any]]) -> dict[str, Any]:
    from bench.run import percentile

    ok = [s for b in bursts for s in b["ok"]]
    server = [s[2] for s in ok if s[2] is not None]
    wall = [s[1] for s in ok]
    rounds_p95 = [percentile([s[2] for s in b["ok"] if s[2] is not None], 0.95) for b in bursts if b["ok"]]
    return {
        "requests": len(ok),
        "errors": sum(b["errors"] for b in bursts),
        "rps": sum(b["rps"] for b in bursts) / len(bursts) if bursts else 0.0,
        "p50": percentile(server, 0.5),
        "p95": sorted(rounds_p95)[len(rounds_p95) // 2] if rounds_p95 else percentile(server, 0.95),
        "p25": percentile(server, 0.25),
        "p75": percentile(server, 0.75),
        "p95_rounds": [round(v, 1) for v in rounds_p95],
        "wall_p50": percentile(wall, 0.5),
        "wall_p95": percentile(wall, 0.95),
    }
