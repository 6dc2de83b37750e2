"""API keys and API clients for tests: keys are issued through the service, as staff would."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from api.services import api_key_create
from iam.models import User
from tests.factories import StaffFactory


def ops_user(**extra) -> User:
    return StaffFactory(is_superuser=True, staff_role=User.StaffRole.OPERATIONS, **extra)


def issue_key(scopes: str | list[str], *, accounts=(), created_by: User | None = None, **extra) -> tuple[Any, str]:
    issued = api_key_create(
        actor=created_by or ops_user(),
        name=extra.pop("name", "Test integration"),
        scopes=scopes,
        accounts=accounts,
        **extra,
    )
    return issued.api_key, issued.key


class Api:
    """A test client speaking JSON, with an API key or a signed-in user (or neither)."""

    def __init__(self, *, key: str | None = None, user: User | None = None, csrf_checks: bool = False) -> None:
        self.client = Client(enforce_csrf_checks=csrf_checks)
        self.headers: dict[str, str] = {}
        if key:
            self.headers["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
        if user:
            self.client.force_login(user)
            self.client.get("/healthz")  # allauth's user session is recorded on the first request

    def _call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, **kw):
        extra = {**self.headers, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}}
        if body is not None:
            kw["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kw["content_type"] = "application/json"
        return getattr(self.client, method)(path, **kw, **extra)

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self._call("get", path, headers=headers, data=params or {})

    def post(self, path: str, body: Any = None, headers: dict | None = None):
        return self._call("post", path, body if body is not None else {}, headers)

    def patch(self, path: str, body: Any, headers: dict | None = None):
        return self._call("patch", path, body, headers)

    def delete(self, path: str, headers: dict | None = None):
        return self._call("delete", path, headers=headers)
