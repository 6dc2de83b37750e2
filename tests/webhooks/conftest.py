from __future__ import annotations

import pytest
from django.test import Client

from tests.webhooks.factories import OpsFactory
from tests.webhooks.receiver import running_receiver


@pytest.fixture
def receiver(settings):
    """A real HTTP receiver on loopback; private targets are allowed while it runs."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def ops(db):
    return OpsFactory(email="olivia.ops@clientele.example", first_name="Olivia", last_name="Ops")


@pytest.fixture
def ops_client(ops) -> Client:
    client = Client()
    client.force_login(ops)
    client.get("/healthz")
    return client
