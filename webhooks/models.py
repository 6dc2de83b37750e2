"""Webhook endpoints, the events sent to them, and every delivery attempt.

An :class:`Event` is recorded once, in the transaction of the change it tells about; it has
one :class:`Delivery` per endpoint subscribed at that moment, and each delivery has one
:class:`DeliveryAttempt` per HTTP request made for it.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from webhooks.sealing import SealedSecretField


class EndpointQuerySet(models.QuerySet["Endpoint"]):
    def active(self) -> EndpointQuerySet:
        return self.filter(is_active=True)


class Endpoint(models.Model):
    """A URL of an integrator's that receives signed event notifications."""

    url = models.URLField("URL", max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Empty: every event type, including types added later.
    event_types = models.JSONField(default=list, blank=True)
    # The signing secret (``whsec_`` + base64). Shown once; needed in clear text to sign with,
    # so it is stored encrypted (webhooks.sealing), not hashed.
    secret = SealedSecretField(editable=False)
    # After a rotation, messages are signed with both secrets until this passes.
    previous_secret = SealedSecretField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True) | Q(disabled_at__isnull=False), name="webhooks_endpoint_disabled_has_time"
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def get_absolute_url(self) -> str:
        return reverse("webhooks:endpoint_detail", args=[self.pk])

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets

    @property
    def health(self) -> str:
        """'disabled', 'failing' (the last attempt failed), 'healthy' or 'new' (nothing sent yet)."""
        if not self.is_active:
            return "disabled"
        if self.consecutive_failures:
            return "failing"
        return "healthy" if self.last_success_at else "new"


class Event(models.Model):
    """One outgoing event: ``{"type", "timestamp", "data"}``, as every endpoint receives it."""

    # The ``webhook-id`` header: the same for every endpoint and every retry, for receivers' dedup.
    public_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=64)
    account = models.ForeignKey(
        "crm.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_events"
    )
    # The request body, serialized once: every endpoint and every retry gets the same bytes.
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Delivery(models.Model):
    """One event to one endpoint, through however many attempts it takes."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for its next attempt at next_attempt_at
        SENDING = "sending", "Sending"  # claimed by a worker, request under way
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # retries exhausted, or the endpoint was disabled

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # attempt_count when the current round began: a manual redeliver starts a new round of retries.
    round_start = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhooks_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=~Q(state="pending") | Q(next_attempt_at__isnull=False),
                name="webhooks_delivery_pending_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhooks_delivery_log"),
            models.Index(fields=["next_attempt_at"], name="webhooks_delivery_due", condition=Q(state="pending")),
            models.Index(fields=["claimed_at"], name="webhooks_delivery_claimed", condition=Q(state="sending")),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class DeliveryAttempt(models.Model):
    """One HTTP request made for a delivery, as it went."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The address actually connected to (after the SSRF check), for the log.
    remote_address = models.CharField(max_length=64, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"
