"""Writes of the API's own records: API keys and stored idempotent answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from api.keys import format_key, hash_secret, new_prefix, new_secret
from api.models import ApiKey, IdempotencyKey
from api.permissions import can_manage_api_keys
from api.scopes import parse_scopes
from iam.audit import audit_record

if TYPE_CHECKING:
    from crm.models import Account
    from iam.models import User


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # the whole key: shown once, never stored


def api_key_create(
    *,
    actor: User,
    name: str,
    scopes: str | list[str],
    accounts: Iterable[Account] = (),
    expires_at: dt.datetime | None = None,
) -> IssuedKey:
    """Issue a key acting for ``actor``. The returned ``key`` is the only time anyone sees it."""
    if not can_manage_api_keys(actor):
        raise PermissionDenied("Only operations staff may create API keys.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Say what the key is for."})
    try:
        scope_list = parse_scopes(scopes)
    except ValueError as exc:
        raise ValidationError({"scopes": str(exc)}) from exc
    if not scope_list:
        raise ValidationError({"scopes": "Choose at least one scope."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    accounts = list(accounts)
    secret = new_secret()
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            name=name[:100],
            prefix=new_prefix(),
            secret_hash=hash_secret(secret),
            scopes=scope_list,
            restricted_to_accounts=bool(accounts),
            created_by=actor,
            expires_at=expires_at,
        )
        api_key.accounts.set(accounts)
        audit_record(
            actor=actor,
            action="api.api_key.created",
            target=api_key,
            data={
                "prefix": api_key.prefix,
                "scopes": scope_list,
                "accounts": sorted(a.pk for a in accounts),
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return IssuedKey(api_key=api_key, key=format_key(api_key.prefix, secret))


def api_key_revoke(*, actor: User, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once (idempotent: revoking a revoked key changes nothing)."""
    if not can_manage_api_keys(actor):
        raise PermissionDenied("Only operations staff may revoke API keys.")
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is not None:
            return api_key
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api.api_key.revoked", target=api_key, data={"prefix": api_key.prefix})
    return api_key


LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def api_key_mark_used(api_key: ApiKey, *, now: dt.datetime | None = None) -> None:
    """Record use at most once a minute per key: a conditional UPDATE only when the value is stale."""
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(last_used_at=now)
    api_key.last_used_at = now


def idempotency_keys_expire(*, now: dt.datetime | None = None) -> int:
    """Forget stored answers older than API_IDEMPOTENCY_TTL_HOURS (set-based, idempotent)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
