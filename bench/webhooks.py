"""Webhooks at scale: recording a set-based fan-out, and signed delivery to a loopback receiver.

1. Fan-out: a set-based job (a contract end suspending many memberships) emits one event per
   record to every subscribed endpoint: events recorded per second, events x endpoints rows
   written in two INSERT statements per batch, in the job's transaction.
2. Delivery: deliveries claimed, signed, posted to an HTTP server on 127.0.0.1 and recorded,
   per second, by one worker process (sequentially; workers scale it out).
The rows it makes are deleted afterwards.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from bench.run import Result, SuiteContext

ENDPOINTS = 5


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _rate(name: str, count: int, seconds: float, unit: str, note: str) -> Result:
    rate = round(count / seconds, 1) if seconds > 0 else None
    return Result(name=name, path="(service)", target_ms=None, requests=count, p50=rate, p95=rate, unit=unit, note=note)


def measure(ctx: SuiteContext) -> list[Result]:
    from django.conf import settings
    from django.db import transaction

    from webhooks import services, signing
    from webhooks.models import Delivery, Endpoint, Event

    # One event per 100 contacts: 10,000 at the published size (1M), 100 in the harness's smoke test.
    events = max(100, min((ctx.sizes.get("contacts") or 0) // 100, 10_000))
    deliveries = max(50, min(events // 10, 1_000))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    allow = settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    endpoint_ids: list[int] = []
    recorded: list[Event] = []
    try:
        endpoint_ids = [
            Endpoint.objects.create(url=url, description=f"bench {n}", secret=signing.secret_generate()).pk
            for n in range(ENDPOINTS)
        ]
        items = [({"id": n, "status": "suspended", "reason": "contract"}, None) for n in range(events)]
        started = time.perf_counter()
        with transaction.atomic():  # the job's transaction, rolled back: the figure is the recording
            fanned = len(services.webhook_emit_many("membership.suspended", items=items))
            transaction.set_rollback(True)
        fan_out = time.perf_counter() - started
        # Then a sample is recorded for real (not queued: this process posts it itself).
        with mock.patch.object(services, "deliveries_enqueue"):
            recorded = services.webhook_emit_many("membership.suspended", items=items[: deliveries // ENDPOINTS])
        keep = list(Delivery.objects.filter(event__in=recorded).values_list("pk", flat=True))
        started = time.perf_counter()
        sent = sum(services.delivery_send(delivery_id=pk) == Delivery.State.SUCCEEDED for pk in keep)
        delivery = time.perf_counter() - started
    finally:
        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = allow
        server.shutdown()
        server.server_close()
        Endpoint.objects.filter(pk__in=endpoint_ids).delete()  # and their deliveries
        ids = [e.pk for e in recorded]
        for start in range(0, len(ids), 1000):
            Event.objects.filter(pk__in=ids[start : start + 1000]).delete()
    return [
        _rate(
            f"webhooks: record a fan-out of {fanned:,} events x {ENDPOINTS} endpoints",
            fanned,
            fan_out,
            "events/s",
            f"{fanned * ENDPOINTS:,} deliveries written in {fan_out:.2f} s (one transaction)",
        ),
        _rate(
            f"webhooks: sign, post and record {len(keep):,} deliveries (one worker, loopback)",
            sent,
            delivery,
            "deliveries/s",
            f"{sent:,} succeeded in {delivery:.2f} s",
        ),
    ]
