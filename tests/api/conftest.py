from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.api.factories import Api, issue_key, ops_user


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ops(db):
    return ops_user(email="olga.ops@clientele.example")


@pytest.fixture
def ops_api(ops) -> Api:
    return Api(user=ops)


@pytest.fixture
def rep_api(sales_rep) -> Api:
    return Api(user=sales_rep)


@pytest.fixture
def external_api(external_user) -> Api:
    return Api(user=external_user)


@pytest.fixture
def anon_api(db) -> Api:
    return Api()


@pytest.fixture
def full_key(ops):
    """A key with every scope, acting for operations."""
    from api.scopes import all_scopes

    return issue_key(all_scopes(), created_by=ops)


@pytest.fixture
def key_api(full_key) -> Api:
    return Api(key=full_key[1])
