from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The rate limit counts in the cache; each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
