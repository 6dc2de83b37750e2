from __future__ import annotations

import pytest
from django.test import override_settings

from tests.api.factories import Api, issue_key

pytestmark = pytest.mark.django_db


@override_settings(API_THROTTLE_RATE="3/min")
def test_throttling_per_key_answers_429_with_retry_after(ops):
    _key, raw = issue_key("contacts:read", created_by=ops)
    _other, other_raw = issue_key("contacts:read", created_by=ops)
    api = Api(key=raw)
    for _ in range(3):
        assert api.get("/api/v1/contacts/").status_code == 200
    throttled = api.get("/api/v1/contacts/")
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled.json()["type"].endswith("throttled")
    # Another key has its own budget.
    assert Api(key=other_raw).get("/api/v1/contacts/").status_code == 200
