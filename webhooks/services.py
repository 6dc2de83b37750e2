"""Webhooks: recording events, managing endpoints, delivering with retries.

Emitting: :func:`webhook_emit` records the event and one delivery per subscribed endpoint
in the caller's transaction, and enqueues the deliveries when it commits; a rolled-back
change sends nothing. Audited identity and access changes reach here through
``iam.audit`` (its ``WEBHOOK_EVENT_TYPES`` table), CRM record changes by explicit calls.

Delivering: :func:`delivery_send` claims a due delivery with a conditional UPDATE (so a
task run twice, or on two workers, makes one attempt), posts it signed, and records the
attempt; failures are retried on ``WEBHOOKS_RETRY_SCHEDULE`` with full jitter, and an
endpoint that keeps failing is disabled and its creator and operations are told by email.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from core.errors import BusinessRuleViolation
from iam.audit import audit_record
from webhooks import signing, transport
from webhooks.events import EVENT_TYPES, TEST_EVENT
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event
from webhooks.payloads import BUILDERS, generic_data, record_data, records_fresh
from webhooks.permissions import can_manage_webhooks
from webhooks.targets import UnsafeTarget, target_resolve

if TYPE_CHECKING:
    from django.db import models

    from iam.models import AuditEvent, User

log = logging.getLogger(__name__)

# Up to this many deliveries are enqueued one by one at commit; more go to one task that does it.
ENQUEUE_INLINE_MAX = 100


# --- Emitting events ---------------------------------------------------------------------------


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _account_id(account: Any) -> int | None:
    if account is None:
        return None
    return account if isinstance(account, int) else account.pk


def _subscribed_endpoint_ids(event_type: str) -> list[int]:
    # Endpoints are few; filtering their subscriptions here works the same on every database.
    return [
        pk
        for pk, types in Endpoint.objects.active().order_by("pk").values_list("pk", "event_types")
        if not types or event_type in types
    ]


def _new_event(event_type: str, *, data: dict[str, Any], account: Any, at: dt.datetime) -> Event:
    body = json.dumps(
        {"type": event_type, "timestamp": _timestamp(at), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return Event(
        public_id=f"msg_{uuid.uuid4().hex}",
        type=event_type,
        account_id=_account_id(account),
        body=body,
        created_at=at,
    )


def _record(
    event_type: str, items: Sequence[tuple[dict[str, Any], Any]], endpoint_ids: list[int], at: dt.datetime | None = None
) -> list[Event]:
    """Insert the events, then all their deliveries, in bulk (batched INSERTs); enqueue at commit."""
    now = timezone.now()
    events = Event.objects.bulk_create(
        [_new_event(event_type, data=data, account=account, at=at or now) for data, account in items], batch_size=500
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(endpoint_id=pk, event=event, next_attempt_at=now, created_at=now)
            for event in events
            for pk in endpoint_ids
        ],
        batch_size=1000,
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return events


def _check_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {event_type!r}; add it to webhooks.events.EVENT_TYPES.")


def webhook_emit(event_type: str, *, data: dict[str, Any], account: Any = None) -> Event | None:
    """Record one event for every endpoint subscribed to ``event_type``; deliver after commit.

    ``data`` is the payload's ``data`` object (the record's id and key fields). Returns the
    event, or None when no active endpoint wants this type (then nothing is written).
    """
    events = webhook_emit_many(event_type, items=[(data, account)])
    return events[0] if events else None


def webhook_emit_many(event_type: str, *, items: Iterable[tuple[dict[str, Any], Any]]) -> list[Event]:
    """:func:`webhook_emit` for many records at once (set-based jobs): ``items`` of (data, account)."""
    _check_type(event_type)
    endpoint_ids = _subscribed_endpoint_ids(event_type)
    items = list(items)
    if not endpoint_ids or not items:
        return []
    return _record(event_type, items, endpoint_ids)


def webhook_send_to(endpoint: Endpoint, event_type: str, *, data: dict[str, Any], account: Any = None) -> Event:
    """Record one event for this endpoint only (a workflow rule's "call a webhook endpoint");
    delivered after commit like every event, with the same retries and signature."""
    _check_type(event_type)
    if not endpoint.is_active:
        raise BusinessRuleViolation("This webhook endpoint is disabled.")
    return _record(event_type, [(data, account)], [endpoint.pk])[0]


def webhook_emit_records(event_type: str, records: Iterable[models.Model]) -> list[Event]:
    """One event per record, its data built by ``webhooks.payloads`` (records of one model)."""
    _check_type(event_type)
    endpoint_ids = _subscribed_endpoint_ids(event_type)
    if not endpoint_ids:
        return []  # a queryset of records is not even read
    items = [(record_data(r), getattr(r, "account_id", None) or _own_account(r)) for r in records]
    return _record(event_type, items, endpoint_ids) if items else []


def _own_account(record: models.Model) -> int | None:
    return record.pk if record._meta.label_lower == "crm.account" else None


def webhooks_emit_audited(
    event_type: str,
    *,
    audit_events: Sequence[AuditEvent],
    targets: Sequence[models.Model | None],
    reread: bool = False,
) -> list[Event]:
    """The webhook side of ``iam.audit``: one event per audit event, in its transaction.

    A target with a payload builder is described by its fields (re-read from the database
    with ``reread``: set-based jobs change rows with UPDATE, so their instances are stale);
    any other by its id, its account and the audit event's data. A ``reason`` in the audit
    data is passed on.
    """
    endpoint_ids = _subscribed_endpoint_ids(event_type)
    if not endpoint_ids or not audit_events:
        return []
    fresh: dict[str, models.Model] = {}
    labels = {t._meta.label_lower for t in targets if t is not None}
    if reread and len(labels) == 1 and (label := labels.pop()) in BUILDERS:
        fresh = records_fresh(label, [t.pk for t in targets if t is not None])
    items = []
    for audit, target in zip(audit_events, targets, strict=True):
        if target is not None and target._meta.label_lower in BUILDERS:
            data = record_data(fresh.get(str(target.pk), target))
            if "reason" in audit.data:
                data["reason"] = audit.data["reason"]
        else:
            data = generic_data(target_id=audit.target_id, account_id=audit.account_id, extra=audit.data)
        items.append((data, audit.account_id))
    return _record(event_type, items, endpoint_ids, at=audit_events[0].occurred_at)


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue these deliveries; if the broker is unreachable the periodic sweep sends them later."""
    from webhooks.tasks import deliveries_enqueue_range_task, delivery_send_task

    if not delivery_ids:
        return
    try:
        if len(delivery_ids) <= ENQUEUE_INLINE_MAX:
            for delivery_id in delivery_ids:
                delivery_send_task.delay(delivery_id)
        else:
            deliveries_enqueue_range_task.delay(min(delivery_ids), max(delivery_ids))
    except (BrokerError, OSError):
        log.exception("Could not queue %d webhook deliveries; the periodic sweep will send them.", len(delivery_ids))


def deliveries_enqueue_range(*, first_id: int, last_id: int, chunk: int = 1000) -> int:
    """Queue the pending deliveries with ids in [first_id, last_id], by keyset."""
    from webhooks.tasks import delivery_send_task

    queued, after = 0, first_id - 1
    while True:
        ids = list(
            Delivery.objects.filter(pk__gt=after, pk__lte=last_id, state=Delivery.State.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return queued
        for delivery_id in ids:
            delivery_send_task.delay(delivery_id)
        queued += len(ids)
        after = ids[-1]


# --- Endpoints ---------------------------------------------------------------------------------


def _require_manager(actor: User) -> None:
    if not can_manage_webhooks(actor):
        raise PermissionDenied("Only operations manage webhook endpoints.")


def endpoint_check_url(url: str) -> str:
    """The URL, stripped, if webhooks may go there; else a ValidationError on ``url``."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the URL that should receive the events."})
    max_length = Endpoint._meta.get_field("url").max_length
    if max_length is not None and len(url) > max_length:
        raise ValidationError({"url": "This URL is too long (at most 2,000 characters)."})
    try:
        target_resolve(url)
    except UnsafeTarget as exc:
        raise ValidationError({"url": str(exc)}) from exc
    return url


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    wanted = sorted(set(event_types))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise ValidationError({"event_types": f"Unknown event types: {', '.join(unknown)}."})
    return wanted


def endpoint_create(*, actor: User, url: str, description: str = "", event_types: Iterable[str] = ()) -> Endpoint:
    """Register an endpoint; ``event_types`` empty means every event. Its secret is on the result."""
    _require_manager(actor)
    url = endpoint_check_url(url)
    types = _clean_event_types(event_types)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            url=url,
            description=description.strip(),
            event_types=types,
            secret=signing.secret_generate(),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="webhooks.endpoint.created",
            target=endpoint,
            data={"url": url, "event_types": types or ["*"]},
        )
    return endpoint


def endpoint_update(
    *,
    actor: User,
    endpoint: Endpoint,
    url: str | None = None,
    description: str | None = None,
    event_types: Iterable[str] | None = None,
) -> Endpoint:
    """Change an endpoint's URL, description or subscriptions; the audit event says what changed."""
    _require_manager(actor)
    new_url = endpoint_check_url(url) if url is not None else None
    new_types = _clean_event_types(event_types) if event_types is not None else None
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        changes: dict[str, Any] = {}
        if new_url is not None and new_url != endpoint.url:
            changes["url"] = {"from": endpoint.url, "to": new_url}
            endpoint.url = new_url
        if description is not None and description.strip() != endpoint.description:
            changes["description"] = {"from": endpoint.description, "to": description.strip()}
            endpoint.description = description.strip()
        if new_types is not None and new_types != endpoint.event_types:
            changes["event_types"] = {"from": endpoint.event_types or ["*"], "to": new_types or ["*"]}
            endpoint.event_types = new_types
        if changes:
            endpoint.save(update_fields=["url", "description", "event_types", "updated_at"])
            audit_record(actor=actor, action="webhooks.endpoint.updated", target=endpoint, data=changes)
    return endpoint


def _disable(endpoint: Endpoint, *, actor: User | None, reason: str, now: dt.datetime) -> None:
    """Disable a locked endpoint and fail its queued deliveries; the caller is in a transaction."""
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.PENDING).update(
        state=Delivery.State.FAILED, next_attempt_at=None, last_error="The endpoint was disabled."
    )
    audit_record(
        actor=actor,
        action="webhooks.endpoint.disabled",
        target=endpoint,
        data={"reason": endpoint.disabled_reason, "automatic": actor is None},
    )


def endpoint_disable(*, actor: User, endpoint: Endpoint, reason: str = "") -> Endpoint:
    _require_manager(actor)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.is_active:
            _disable(endpoint, actor=actor, reason=reason.strip() or f"Disabled by {actor.email}.", now=timezone.now())
    return endpoint


def endpoint_enable(*, actor: User, endpoint: Endpoint) -> Endpoint:
    """Switch an endpoint back on with a clean failure record. Its URL is checked again."""
    _require_manager(actor)
    endpoint_check_url(endpoint.url)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.is_active:
            return endpoint
        endpoint.is_active = True
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.save(
            update_fields=[
                "is_active",
                "disabled_at",
                "disabled_reason",
                "consecutive_failures",
                "failing_since",
                "updated_at",
            ]
        )
        audit_record(actor=actor, action="webhooks.endpoint.enabled", target=endpoint, data={"url": endpoint.url})
    return endpoint


def endpoint_rotate_secret(*, actor: User, endpoint: Endpoint) -> Endpoint:
    """A new signing secret; the old one keeps signing too for ``WEBHOOKS_SECRET_OVERLAP_HOURS``."""
    _require_manager(actor)
    now = timezone.now()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + dt.timedelta(hours=settings.WEBHOOKS_SECRET_OVERLAP_HOURS)
        endpoint.secret = signing.secret_generate()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit_record(
            actor=actor,
            action="webhooks.endpoint.secret_rotated",
            target=endpoint,
            data={"old_secret_valid_until": endpoint.previous_secret_expires_at.isoformat()},
        )
    return endpoint


def endpoint_send_test(*, actor: User, endpoint: Endpoint) -> Delivery:
    """Send a ``webhook.test`` event to this endpoint only, whatever it subscribes to."""
    _require_manager(actor)
    if not endpoint.is_active:
        raise BusinessRuleViolation("This endpoint is disabled. Enable it to send a test event.")
    now = timezone.now()
    with transaction.atomic():
        event = _new_event(
            TEST_EVENT,
            data={"endpoint_id": endpoint.pk, "message": "A test event from Clientele.", "sent_by": actor.email},
            account=None,
            at=now,
        )
        event.save()
        delivery = Delivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=now, created_at=now)
        audit_record(actor=actor, action="webhooks.endpoint.tested", target=endpoint, data={"delivery": delivery.pk})
        transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    return delivery


def delivery_redeliver(*, actor: User, delivery: Delivery) -> Delivery:
    """Send a finished delivery again (same event id), with a fresh round of retries."""
    _require_manager(actor)
    if not Endpoint.objects.filter(pk=delivery.endpoint_id, is_active=True).exists():
        raise BusinessRuleViolation("This endpoint is disabled. Enable it before redelivering.")
    now = timezone.now()
    with transaction.atomic():
        requeued = Delivery.objects.filter(
            pk=delivery.pk, state__in=[Delivery.State.SUCCEEDED, Delivery.State.FAILED]
        ).update(state=Delivery.State.PENDING, next_attempt_at=now, round_start=F("attempt_count"))
        if not requeued:
            raise BusinessRuleViolation("This delivery is already queued or being sent.")
        audit_record(
            actor=actor,
            action="webhooks.delivery.redelivered",
            target=delivery,
            data={"endpoint": delivery.endpoint_id, "event": delivery.event_id},
        )
        transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


# --- Delivering ----------------------------------------------------------------------------------


def retry_delay(retry_number: int) -> float | None:
    """Seconds before retry ``retry_number`` (1 = the first retry), or None when none is left.

    Full jitter: a random time between none and the schedule's step, so endpoints that failed
    together (an outage) are not all retried in the same second.
    """
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if retry_number < 1 or retry_number > len(schedule):
        return None
    return random.uniform(0, schedule[retry_number - 1])  # noqa: S311 - jitter, not a secret


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str | None:
    """Make the delivery's next attempt if it is due; returns its new state, or None if not claimed.

    The claim is one conditional UPDATE: a second run of the same task, a sweep that queued
    it again, or another worker finds nothing to claim, so a delivery is never posted by two
    at once and never again once it succeeded.
    """
    now = now or timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
    ).update(state=Delivery.State.SENDING, claimed_at=now, attempt_count=F("attempt_count") + 1)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    started_at = timezone.now()
    headers = signing.signed_headers(
        secrets=endpoint.signing_secrets(started_at),
        msg_id=event.public_id,
        timestamp=int(started_at.timestamp()),
        body=event.body,
    )
    result = transport.post(endpoint.url, body=event.body.encode(), headers=headers)
    state, delay = _record_outcome(delivery, result, started_at=started_at, now=max(now, timezone.now()))
    if state == Delivery.State.PENDING and delay is not None and delay <= settings.WEBHOOKS_COUNTDOWN_MAX_SECONDS:
        # Longer waits are left to the periodic sweep: brokers redeliver long-delayed messages.
        from webhooks.tasks import delivery_send_task

        try:
            delivery_send_task.apply_async((delivery_id,), countdown=delay)
        except (BrokerError, OSError):
            log.warning("Could not queue the retry of webhook delivery %s; the sweep will.", delivery_id)
    return state


def _record_outcome(
    delivery: Delivery, result: transport.PostResult, *, started_at: dt.datetime, now: dt.datetime
) -> tuple[str, float | None]:
    attempt = DeliveryAttempt(
        delivery=delivery,
        number=delivery.attempt_count,
        started_at=started_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        response_excerpt=result.response_excerpt,
        error=result.error,
        remote_address=result.remote_address,
        succeeded=result.ok,
    )
    common = {
        "last_status_code": result.status_code,
        "last_error": result.error,
        "last_attempt_at": started_at,
        "claimed_at": None,
    }
    with transaction.atomic():
        attempt.save()
        # Only our own claim: if the sweep took it for lost (a receiver slower than the claim
        # timeout) and another worker claimed it again, that worker records the outcome.
        sending = Delivery.objects.filter(
            pk=delivery.pk, state=Delivery.State.SENDING, attempt_count=delivery.attempt_count
        )
        if result.ok:
            sending.update(state=Delivery.State.SUCCEEDED, succeeded_at=now, next_attempt_at=None, **common)
            Endpoint.objects.filter(pk=delivery.endpoint_id).update(
                consecutive_failures=0, failing_since=None, last_success_at=now
            )
            return Delivery.State.SUCCEEDED, None
        still_active = _endpoint_record_failure(delivery.endpoint_id, result=result, now=now)
        delay = retry_delay(delivery.attempt_count - delivery.round_start) if still_active else None
        if delay is None:
            sending.update(state=Delivery.State.FAILED, next_attempt_at=None, **common)
            return Delivery.State.FAILED, None
        sending.update(state=Delivery.State.PENDING, next_attempt_at=now + dt.timedelta(seconds=delay), **common)
        return Delivery.State.PENDING, delay


def _what_failed(result: transport.PostResult) -> str:
    if result.status_code is not None:
        return f"HTTP {result.status_code}"
    return result.error.split(":", 1)[0] or "no response"


def _endpoint_record_failure(endpoint_id: int, *, result: transport.PostResult, now: dt.datetime) -> bool:
    """Count a failed attempt; disable the endpoint past the limits. True while it stays active."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.consecutive_failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.last_failure_at = now
    endpoint.save(update_fields=["consecutive_failures", "failing_since", "last_failure_at", "updated_at"])
    if not endpoint.is_active:
        return False
    limit, days = settings.WEBHOOKS_DISABLE_AFTER_FAILURES, settings.WEBHOOKS_DISABLE_AFTER_DAYS
    why = ""
    if endpoint.consecutive_failures >= limit:
        why = f"{endpoint.consecutive_failures} delivery attempts in a row failed"
    elif now - endpoint.failing_since >= dt.timedelta(days=days):
        why = f"deliveries have failed for {days} days"
    if not why:
        return True
    _disable(endpoint, actor=None, reason=f"Disabled automatically: {why} (last: {_what_failed(result)}).", now=now)
    transaction.on_commit(lambda: _notify_disabled(endpoint.pk))
    return False


def _notify_disabled(endpoint_id: int) -> None:
    from webhooks.tasks import endpoint_disabled_notify_task

    try:
        endpoint_disabled_notify_task.delay(endpoint_id)
    except (BrokerError, OSError):
        log.exception("Could not queue the email about disabled webhook endpoint %s.", endpoint_id)


def endpoint_disabled_recipients(endpoint: Endpoint) -> list[str]:
    """The endpoint's creator, operations staff, and ``WEBHOOKS_ALERT_EMAILS``."""
    from iam.models import User

    emails: list[str] = []
    if endpoint.created_by and endpoint.created_by.is_active:
        emails.append(endpoint.created_by.email)
    emails += (
        User.objects.staff().filter(Q(is_superuser=True) | Q(staff_role="operations")).values_list("email", flat=True)
    )
    emails += settings.WEBHOOKS_ALERT_EMAILS
    return list(dict.fromkeys(e.lower() for e in emails if e))


def endpoint_disabled_notify(*, endpoint_id: int) -> int:
    """Email staff that an endpoint was disabled automatically. Returns the emails sent (0 or 1)."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    endpoint = Endpoint.objects.select_related("created_by").filter(pk=endpoint_id, is_active=False).first()
    if endpoint is None:
        return 0  # enabled again meanwhile: nothing to say
    recipients = endpoint_disabled_recipients(endpoint)
    if not recipients:
        return 0
    context = {"endpoint": endpoint, "url": settings.SITE_URL + endpoint.get_absolute_url()}
    message = EmailMultiAlternatives(
        subject=f"Webhook endpoint disabled: {endpoint}",
        body=render_to_string("webhooks/email/endpoint_disabled.txt", context),
        to=recipients,
    )
    message.attach_alternative(render_to_string("webhooks/email/endpoint_disabled.html", context), "text/html")
    message.send()
    return 1


def deliveries_dispatch_due(*, now: dt.datetime | None = None) -> int:
    """The periodic sweep: queue due deliveries, and put back claims a dead worker left behind.

    Deliveries normally queue themselves (at commit, or a short countdown for a retry); this
    catches long retry waits, a broker that was down, and a worker that died mid-request.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.WEBHOOKS_CLAIM_TIMEOUT_SECONDS)
    lost = Delivery.objects.filter(state=Delivery.State.SENDING, claimed_at__lt=stale)
    # A claim lost as often as the schedule allows attempts (a worker that dies on this very
    # delivery each time) fails for good, like attempts that all failed.
    out_of_attempts = Q(attempt_count__gt=F("round_start") + len(settings.WEBHOOKS_RETRY_SCHEDULE))
    lost.filter(out_of_attempts).update(
        state=Delivery.State.FAILED,
        next_attempt_at=None,
        claimed_at=None,
        last_error="Every attempt was lost: the worker stopped before recording an outcome.",
    )
    lost.filter(endpoint__is_active=True).update(
        state=Delivery.State.PENDING, next_attempt_at=F("claimed_at"), claimed_at=None
    )
    # Disabling failed the endpoint's queued deliveries; a lost claim fails the same way
    # instead of waiting, pending, for an endpoint nothing sends to.
    lost.filter(endpoint__is_active=False).update(
        state=Delivery.State.FAILED, next_attempt_at=None, claimed_at=None, last_error="The endpoint was disabled."
    )
    # Those that fell due just now are normally in the queue already.
    due = now - dt.timedelta(seconds=settings.WEBHOOKS_SWEEP_GRACE_SECONDS)
    ids = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=due, endpoint__is_active=True)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: settings.WEBHOOKS_SWEEP_BATCH]
    )
    deliveries_enqueue(ids)
    return len(ids)


def events_prune(*, now: dt.datetime | None = None, chunk: int = 1000) -> int:
    """Delete events (with their deliveries and attempts) older than ``WEBHOOKS_RETENTION_DAYS``."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            Event.objects.filter(created_at__lt=cutoff)
            .exclude(deliveries__state__in=[Delivery.State.PENDING, Delivery.State.SENDING])
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            Event.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
