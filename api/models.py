"""API keys (integrators' credentials) and stored answers to idempotent POSTs."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self, now: dt.datetime | None = None) -> ApiKeyQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """An integrator's key: ``clt_<prefix>_<secret>``. Only the SHA-256 of the secret is stored.

    A key acts for the staff user who created it, never with more rights than they have; its
    scopes and, when set, its accounts narrow what it may read and write.
    """

    name = models.CharField(max_length=100, help_text="What the key is for, e.g. “ERP sync”.")
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Identifies the key in logs.")
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text='e.g. ["contacts:read", "contacts:write"]')
    accounts = models.ManyToManyField(
        "crm.Account", blank=True, related_name="+", help_text="Only these accounts' records (empty: all)."
    )
    # Denormalised from accounts (kept by api.services), so authenticating a key without an
    # account restriction costs one query.
    restricted_to_accounts = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_keys")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()
    # Set by ApiKeyAuthentication on the key serving a request: its accounts' ids (None: all).
    account_ids: frozenset[int] | None

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def label(self) -> str:
        return f"api-key:{self.name}"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with ``Idempotency-Key``, replayed for a repeat of it."""

    owner = models.CharField(max_length=64, help_text='Who sent it: "api-key:<id>" or "user:<id>".')
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="api_idempotency_owner_key")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
