"""Smoke test of the webhooks benchmark suite at a tiny size."""

from __future__ import annotations

import pytest

from bench.run import SuiteContext
from bench.webhooks import measure
from webhooks.models import Delivery, Endpoint, Event


@pytest.mark.django_db
def test_webhooks_suite_measures_fan_out_and_delivery_and_leaves_nothing_behind():
    ctx = SuiteContext(
        database_url="", users={}, cookies={}, sizes={"contacts": 200}, only=None, clients=1, workers=1, time_cap=5
    )

    fan_out, delivery = measure(ctx)

    assert fan_out.unit == "events/s"
    assert fan_out.requests == 100
    assert fan_out.p50 > 0
    assert delivery.unit == "deliveries/s"
    assert delivery.requests == 50  # every sampled delivery succeeded
    assert not Endpoint.objects.exists()
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
