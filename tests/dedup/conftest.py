from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.api.factories import Api


@pytest.fixture
def rep_api(sales_rep) -> Api:
    cache.clear()  # the API throttle counts in the cache
    return Api(user=sales_rep)
