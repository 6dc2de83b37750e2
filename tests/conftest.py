from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import ExternalUserFactory, StaffFactory


@pytest.fixture
def sales_rep(db):
    return StaffFactory(email="alice.rep@clientele.example", first_name="Alice", last_name="Rep")


@pytest.fixture
def other_rep(db):
    return StaffFactory(email="bob.rep@clientele.example", first_name="Bob", last_name="Rep")


@pytest.fixture
def external_user(db):
    return ExternalUserFactory(email="charlie@customer.example", first_name="Charlie", last_name="Outsider")


@pytest.fixture
def rep_client(sales_rep) -> Client:
    client = Client()
    client.force_login(sales_rep)
    return client


@pytest.fixture
def external_client(external_user) -> Client:
    client = Client()
    client.force_login(external_user)
    return client
