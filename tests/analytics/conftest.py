from __future__ import annotations

import pytest
from django.test import Client

from iam.models import User
from tests.factories import StaffFactory


@pytest.fixture
def manager(db):
    return StaffFactory(
        email="mona.manager@clientele.example",
        first_name="Mona",
        last_name="Manager",
        staff_role=User.StaffRole.SALES_MANAGER,
    )


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    client.get("/healthz")
    return client
