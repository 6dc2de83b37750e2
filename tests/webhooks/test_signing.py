"""A receiver written from the spec verifies what Clientele sends, over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from tests.webhooks.receiver import SignatureInvalid, verify_from_spec
from webhooks import services
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


def _register(ops, receiver, **kwargs):
    return services.endpoint_create(actor=ops, url=receiver.url, description="ERP sync", **kwargs)


def test_receiver_verifies_the_signature_with_the_spec_and_the_reference_library(
    ops, receiver, django_capture_on_commit_callbacks
):
    endpoint = _register(ops, receiver)

    with django_capture_on_commit_callbacks(execute=True):
        event = services.webhook_emit("contact.updated", data={"id": 7, "email": "jo@acme.example"}, account=None)

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.path == "/hooks/clientele?source=test"
    assert got.headers["webhook-id"] == event.public_id
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-signature"].startswith("v1,")
    payload = verify_from_spec(endpoint.secret, got.headers, got.body)
    assert Webhook(endpoint.secret).verify(got.body, got.headers) == payload
    assert payload["type"] == "contact.updated"
    assert payload["data"] == {"id": 7, "email": "jo@acme.example"}
    assert dt.datetime.fromisoformat(payload["timestamp"]) <= timezone.now()
    assert Delivery.objects.get(event=event).state == Delivery.State.SUCCEEDED


def test_a_tampered_body_or_another_secret_fails_verification(ops, receiver, django_capture_on_commit_callbacks):
    endpoint = _register(ops, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_emit("lead.created", data={"id": 1})
    got = receiver.requests[0]

    with pytest.raises(SignatureInvalid):
        verify_from_spec(endpoint.secret, got.headers, got.body.replace(b'"id":1', b'"id":2'))
    other = services.endpoint_create(actor=ops, url=receiver.url)
    with pytest.raises(SignatureInvalid):
        verify_from_spec(other.secret, got.headers, got.body)


def test_secret_is_whsec_base64_of_32_bytes(ops, receiver):
    endpoint = _register(ops, receiver)
    assert endpoint.secret.startswith("whsec_")
    import base64

    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) == 32


def test_after_rotation_both_secrets_sign_until_the_overlap_ends(ops, receiver, django_capture_on_commit_callbacks):
    endpoint = _register(ops, receiver)
    old_secret = endpoint.secret
    rotated = services.endpoint_rotate_secret(actor=ops, endpoint=endpoint)
    assert rotated.secret != old_secret

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_emit("account.updated", data={"id": 3})
    got = receiver.requests[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    verify_from_spec(old_secret, got.headers, got.body)
    verify_from_spec(rotated.secret, got.headers, got.body)

    rotated.previous_secret_expires_at = timezone.now() - dt.timedelta(seconds=1)
    rotated.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_emit("account.updated", data={"id": 3})
    got = receiver.requests[-1]
    verify_from_spec(rotated.secret, got.headers, got.body)
    with pytest.raises(SignatureInvalid):
        verify_from_spec(old_secret, got.headers, got.body)


def test_retries_carry_the_same_id_and_body_with_a_fresh_timestamp(
    ops, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [60]
    endpoint = _register(ops, receiver)
    receiver.answer(503, 200)
    with django_capture_on_commit_callbacks(execute=True):
        event = services.webhook_emit("lead.converted", data={"id": 5})
    delivery = Delivery.objects.get(event=event)

    services.delivery_send(delivery_id=delivery.pk, now=timezone.now() + dt.timedelta(minutes=2))

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.public_id
    assert first.body == second.body == Event.objects.get(pk=event.pk).body.encode()
    verify_from_spec(endpoint.secret, second.headers, second.body)
