from __future__ import annotations

import pytest
from django.test import Client

from tests.api.factories import ops_user


@pytest.fixture
def ops(db):
    return ops_user(email="olga.ops@clientele.example")


@pytest.fixture
def ops_client(ops) -> Client:
    client = Client()
    client.force_login(ops)
    client.get("/healthz")
    return client
