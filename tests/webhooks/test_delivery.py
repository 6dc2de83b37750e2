"""Delivery: claimed once, retried with backoff, disabled after repeated failures, redelivered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from iam.models import AuditEvent
from tests.webhooks.factories import EndpointFactory, OpsFactory
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.tasks import deliveries_dispatch_due_task, delivery_send_task

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(hours=20)


@pytest.fixture
def endpoint(ops, receiver):
    return services.endpoint_create(actor=ops, url=receiver.url, description="Billing sync")


def _emit(capture, event_type="contact.created", data=None):
    with capture(execute=True):
        event = services.webhook_emit(event_type, data=data or {"id": 1})
    return Delivery.objects.get(event=event)


def test_a_500_then_a_200_makes_two_attempts_and_one_success(
    endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5, 300]
    receiver.answer((500, b"database is down", {}), 200)

    delivery = _emit(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.last_status_code == 500
    assert timezone.now() <= delivery.next_attempt_at <= timezone.now() + dt.timedelta(seconds=5)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    assert endpoint.health == "failing"

    assert services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(seconds=6)) == "succeeded"

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED
    assert delivery.attempt_count == 2
    attempts = list(delivery.attempts.order_by("number"))
    assert [(a.number, a.status_code, a.succeeded) for a in attempts] == [(1, 500, False), (2, 200, True)]
    assert attempts[0].response_excerpt == "database is down"
    assert attempts[0].remote_address == "127.0.0.1"
    assert len(receiver.requests) == 2
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since, endpoint.health) == (0, None, "healthy")


def test_a_delivery_task_run_twice_posts_once(endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        event = services.webhook_emit("lead.created", data={"id": 9})
    delivery = Delivery.objects.get(event=event)

    assert delivery_send_task(delivery.pk) == "succeeded"
    assert delivery_send_task(delivery.pk) is None
    assert services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + LATER) is None

    assert len(receiver.requests) == 1
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1


def test_a_delivery_claimed_by_another_worker_is_not_posted(endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        event = services.webhook_emit("lead.created", data={"id": 9})
    delivery = Delivery.objects.get(event=event)
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.SENDING, claimed_at=timezone.now())

    assert delivery_send_task(delivery.pk) is None
    assert receiver.requests == []


def test_a_slow_attempt_does_not_overwrite_the_claim_of_the_worker_that_took_over(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    """The sweep put the slow worker's claim back; another worker claimed it: the slow one records only its attempt."""
    from webhooks.transport import PostResult

    with django_capture_on_commit_callbacks(execute=False):
        event = services.webhook_emit("lead.created", data={"id": 9})
    Delivery.objects.filter(event=event).update(state=Delivery.State.SENDING, attempt_count=1)
    slow = Delivery.objects.get(event=event)
    Delivery.objects.filter(pk=slow.pk).update(attempt_count=2, claimed_at=timezone.now())  # the new claim

    services._record_outcome(
        slow,
        PostResult(status_code=200, response_excerpt="", error="", duration_ms=400_000, remote_address="127.0.0.1"),
        started_at=timezone.now(),
        now=timezone.now(),
    )

    taken_over = Delivery.objects.get(pk=slow.pk)
    assert (taken_over.state, taken_over.attempt_count) == (Delivery.State.SENDING, 2)
    assert DeliveryAttempt.objects.filter(delivery=slow, number=1, succeeded=True).exists()


def test_retries_give_up_after_the_schedule(
    endpoint, receiver, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [1, 1]
    # The longest jitter: with a near-zero one, the retry that eager Celery runs at once is
    # already due on a slow machine and takes the attempt this test makes itself.
    monkeypatch.setattr(services.random, "uniform", lambda low, high: high)
    receiver.answer(500)
    delivery = _emit(django_capture_on_commit_callbacks)

    services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(seconds=2))
    assert services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(seconds=4)) == "failed"

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 3, None)
    assert services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + LATER) is None
    assert len(receiver.requests) == 3


def test_retry_delays_follow_the_schedule_with_full_jitter(settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800]
    delays = [services.retry_delay(n) for n in (1, 2, 3) for _ in range(50)]
    assert all(0 <= d <= 5 for d in delays[:50])
    assert all(0 <= d <= 300 for d in delays[50:100])
    assert max(delays[100:]) > 300  # spread over the whole step, not pinned to it
    assert services.retry_delay(4) is None


def test_repeated_failures_disable_the_endpoint_and_email_its_creator_and_ops(
    ops, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOKS_RETRY_SCHEDULE = [1, 1, 1, 1, 1]
    settings.WEBHOOKS_ALERT_EMAILS = ["integrations@clientele.example"]
    other_ops = OpsFactory(email="second.ops@clientele.example")
    endpoint = services.endpoint_create(actor=ops, url=receiver.url, description="Billing sync")
    receiver.answer((500, b"boom", {}))
    waiting = _emit(django_capture_on_commit_callbacks, "lead.created")
    delivery = _emit(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(seconds=3))
    assert len(receiver.requests) == 3

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.health == "disabled"
    assert "3 delivery attempts in a row failed" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    delivery.refresh_from_db()
    waiting.refresh_from_db()
    assert delivery.state == waiting.state == Delivery.State.FAILED
    audit = AuditEvent.objects.get(action="webhooks.endpoint.disabled")
    assert audit.actor is None
    assert audit.data["automatic"] is True

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) == {ops.email, other_ops.email, "integrations@clientele.example"}
    assert message.subject == "Webhook endpoint disabled: Billing sync"
    link = f"{settings.SITE_URL}/webhooks/{endpoint.pk}/"
    assert link in message.body
    html = message.alternatives[0][0]
    assert f'href="{link}"' in html
    assert endpoint.disabled_reason in message.body

    # Nothing more goes out, and a sweep or a late task changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_emit("contact.updated", data={"id": 1}) is None
        deliveries_dispatch_due_task()
        delivery_send_task(waiting.pk)
    assert len(receiver.requests) == 3
    assert len(mail.outbox) == 1


def test_an_endpoint_failing_for_days_is_disabled(endpoint, receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_DISABLE_AFTER_DAYS = 5
    Endpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=4, failing_since=timezone.now() - dt.timedelta(days=5, minutes=1)
    )
    receiver.answer(502)

    _emit(django_capture_on_commit_callbacks)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "failed for 5 days" in endpoint.disabled_reason
    assert len(mail.outbox) == 1


def test_a_success_resets_the_failure_count(endpoint, receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    receiver.answer(500, 500, 200, 500, 500)
    for _ in range(5):
        _emit(django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.consecutive_failures == 2


def test_redirects_are_not_followed(endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.answer((302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"}))

    delivery = _emit(django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.last_status_code == 302
    assert "Redirects are not followed" in delivery.last_error
    assert len(receiver.requests) == 1


def test_the_response_read_is_capped(endpoint, receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_RESPONSE_MAX_BYTES = 100
    receiver.answer((200, b"x" * 50_000, {}))

    delivery = _emit(django_capture_on_commit_callbacks)

    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.succeeded
    assert attempt.response_excerpt == "x" * 100


def test_a_receiver_that_does_not_answer_is_a_failed_attempt(ops, settings, django_capture_on_commit_callbacks):
    import socket

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    services.endpoint_create(actor=ops, url=f"http://127.0.0.1:{port}/")

    delivery = _emit(django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.last_status_code is None
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error.lower()


def test_redeliver_sends_a_finished_delivery_again_with_the_same_id(
    ops, endpoint, receiver, django_capture_on_commit_callbacks
):
    delivery = _emit(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED

    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_redeliver(actor=ops, delivery=delivery)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == ("succeeded", 2)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


def test_redeliver_of_a_queued_delivery_is_refused(ops, endpoint, receiver, django_capture_on_commit_callbacks):
    from core.errors import BusinessRuleViolation

    with django_capture_on_commit_callbacks(execute=False):
        event = services.webhook_emit("lead.created", data={"id": 1})
    delivery = Delivery.objects.get(event=event)
    with pytest.raises(BusinessRuleViolation):
        services.delivery_redeliver(actor=ops, delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == ("pending", 0)


def test_the_sweep_sends_due_deliveries_and_recovers_lost_claims(
    endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        due = services.webhook_emit("lead.created", data={"id": 1})
        lost = services.webhook_emit("lead.created", data={"id": 2})
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Delivery.objects.filter(event=due).update(next_attempt_at=long_ago)
    Delivery.objects.filter(event=lost).update(state=Delivery.State.SENDING, claimed_at=long_ago)

    assert services.deliveries_dispatch_due(now=timezone.now() + dt.timedelta(minutes=1)) == 2

    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
    assert len(receiver.requests) == 2
    assert services.deliveries_dispatch_due(now=timezone.now() + dt.timedelta(minutes=1)) == 0


def test_a_lost_claim_of_a_disabled_endpoint_fails_instead_of_waiting_forever(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        event = services.webhook_emit("lead.created", data={"id": 1})
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Delivery.objects.filter(event=event).update(state=Delivery.State.SENDING, claimed_at=long_ago)
    Endpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_at=timezone.now())

    assert services.deliveries_dispatch_due(now=timezone.now() + dt.timedelta(minutes=1)) == 0

    delivery = Delivery.objects.get(event=event)
    assert (delivery.state, delivery.last_error) == (Delivery.State.FAILED, "The endpoint was disabled.")
    assert receiver.requests == []


def test_a_delivery_whose_every_attempt_was_lost_stops_being_retried(
    endpoint, receiver, settings, django_capture_on_commit_callbacks
):
    """A worker that dies on the same delivery each time must not make it retry forever."""
    settings.WEBHOOKS_RETRY_SCHEDULE = [1, 2]  # three attempts in all
    with django_capture_on_commit_callbacks(execute=False):
        last_chance = services.webhook_emit("lead.created", data={"id": 1})
        one_left = services.webhook_emit("lead.created", data={"id": 2})
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Delivery.objects.filter(event=last_chance).update(
        state=Delivery.State.SENDING, claimed_at=long_ago, attempt_count=3
    )
    Delivery.objects.filter(event=one_left).update(state=Delivery.State.SENDING, claimed_at=long_ago, attempt_count=2)

    services.deliveries_dispatch_due(now=timezone.now() + dt.timedelta(minutes=1))

    assert Delivery.objects.get(event=last_chance).state == Delivery.State.FAILED
    assert Delivery.objects.get(event=one_left).state == Delivery.State.SUCCEEDED  # retried and sent
    assert len(receiver.requests) == 1


def test_pruning_keeps_recent_and_unfinished_events(endpoint, receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    old = _emit(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        unfinished = services.webhook_emit("lead.created", data={"id": 2})
    from webhooks.models import Event

    Event.objects.update(created_at=timezone.now() - dt.timedelta(days=31))
    _emit(django_capture_on_commit_callbacks)

    assert services.events_prune() == 1
    assert not Event.objects.filter(pk=old.event_id).exists()
    assert Event.objects.filter(pk=unfinished.pk).exists()
    assert Event.objects.count() == 2


def test_a_test_event_goes_only_to_its_endpoint(ops, endpoint, receiver, django_capture_on_commit_callbacks):
    EndpointFactory(url=receiver.url, event_types=["lead.created"])

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.endpoint_send_test(actor=ops, endpoint=endpoint)

    assert len(receiver.requests) == 1
    assert receiver.requests[0].json["type"] == "webhook.test"
    assert receiver.requests[0].json["data"]["endpoint_id"] == endpoint.pk
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED
