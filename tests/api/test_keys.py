"""API keys: the command, hashing, last-used recording, and the staff page."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from api.keys import hash_secret, parse_key
from api.models import ApiKey
from api.services import api_key_mark_used
from iam.models import AuditEvent
from tests.api.factories import Api, issue_key
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _create(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_api_key_prints_a_working_key_once_and_stores_only_its_hash(ops):
    account = AccountFactory()
    key, note = _create(
        "ERP sync", "--scopes", "contacts:read,leads:write", "--accounts", str(account.pk), "--expires-days", "30"
    )
    assert re.fullmatch(r"clt_[a-z0-9]{10}_[A-Za-z0-9_-]{43}", key)
    stored = ApiKey.objects.get()
    parts = parse_key(key)
    assert stored.prefix == parts.prefix
    assert stored.secret_hash == hash_secret(parts.secret)
    assert parts.secret not in str(stored.__dict__)
    assert stored.scopes == ["contacts:read", "leads:read", "leads:write"]
    assert list(stored.accounts.all()) == [account]
    assert stored.created_by == ops
    assert 29 <= (stored.expires_at - timezone.now()).days <= 30
    assert "not shown again" in note
    assert AuditEvent.objects.filter(action="api.api_key.created", target_id=str(stored.pk)).exists()
    contact = ContactFactory(account=account)
    assert Api(key=key).get(f"/api/v1/contacts/{contact.pk}/").status_code == 200


@pytest.mark.parametrize(
    "args",
    [
        ["X", "--scopes", "contacts:delete"],
        ["X", "--scopes", ""],
        ["X", "--scopes", "contacts:read", "--accounts", "999999"],
        ["X", "--scopes", "contacts:read", "--expires-days", "0"],
        ["X", "--scopes", "audit-events:write"],
    ],
)
def test_create_api_key_refuses_bad_arguments_and_creates_nothing(ops, args):
    with pytest.raises(CommandError):
        _create(*args)
    assert not ApiKey.objects.exists()


def test_create_api_key_needs_an_operations_user(db):
    with pytest.raises(CommandError, match="operations"):
        _create("X", "--scopes", "contacts:read")


def test_last_used_is_written_at_most_once_a_minute(ops):
    api_key, raw = issue_key("contacts:read", created_by=ops)
    Api(key=raw).get("/api/v1/contacts/")
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None
    Api(key=raw).get("/api/v1/contacts/")
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
    stale = ApiKey.objects.get(pk=api_key.pk)
    later = first + dt.timedelta(seconds=61)
    api_key_mark_used(stale, now=later)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == later


# --- The staff page ------------------------------------------------------------------------------


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_ops_create_a_key_on_the_staff_page_and_see_it_once(ops):
    client = _client(ops)
    assert client.get("/api-keys/").status_code == 200
    form = client.get("/api-keys/new/")
    assert form.status_code == 200
    response = client.post(
        "/api-keys/new/",
        {"name": "Webshop", "scopes": ["contacts:read", "contacts:write"], "expires_in_days": "90"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r"clt_[a-z0-9]{10}_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    stored = ApiKey.objects.get()
    assert stored.name == "Webshop"
    assert Api(key=key).get("/api/v1/contacts/").status_code == 200
    listing = client.get("/api-keys/").content.decode()
    assert stored.prefix in listing
    assert key not in listing


def test_ops_revoke_a_key_on_the_staff_page(ops):
    api_key, raw = issue_key("contacts:read", created_by=ops)
    response = _client(ops).post(f"/api-keys/{api_key.pk}/revoke/")
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert Api(key=raw).get("/api/v1/contacts/").status_code == 401
    assert AuditEvent.objects.filter(action="api.api_key.revoked").count() == 1


def test_the_staff_page_refuses_invalid_input_and_creates_nothing(ops):
    response = _client(ops).post("/api-keys/new/", {"name": "", "scopes": []})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    assert "is-invalid" in response.content.decode() or "invalid-feedback" in response.content.decode()


def test_sales_staff_and_external_users_cannot_manage_keys(sales_rep, external_user, ops):
    api_key, _raw = issue_key("contacts:read", created_by=ops)
    rep = _client(sales_rep)
    for path in ("/api-keys/", "/api-keys/new/"):
        assert rep.get(path).status_code == 403
    assert rep.post(f"/api-keys/{api_key.pk}/revoke/").status_code == 403
    assert rep.post("/api-keys/new/", {"name": "x", "scopes": ["contacts:read"]}).status_code == 403
    external = _client(external_user)
    assert external.get("/api-keys/").status_code == 404
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is None
    assert ApiKey.objects.count() == 1
    anonymous = Client().get("/api-keys/")
    assert anonymous.status_code == 302
