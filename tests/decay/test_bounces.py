"""The mail provider's bounce notifications: authenticated by a shared secret, or nothing happens."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client
from django.urls import reverse

from crm.decay import Freshness
from crm.models import Contact
from iam.models import AuditEvent
from tests.decay.factories import verified

pytestmark = pytest.mark.django_db

SECRET = "s3cret-shared-with-the-mail-provider"
URL = "/hooks/mail/bounce"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.MAIL_BOUNCE_WEBHOOK_SECRET = SECRET


def _post(body: dict | str, **headers):
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client().post(URL, data=raw, content_type="application/json", headers=headers)


def _signature(raw: str, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()


def _state(contact: Contact) -> tuple:
    c = Contact.objects.get(pk=contact.pk)
    return c.last_verified_at, c.verification_method, c.freshness, c.email_bounced_at


def test_route_is_the_documented_one():
    assert reverse("mail_bounce") == URL


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SECRET}"},
        {"Authorization": f"Bearer {SECRET}x"},
        {"X-Signature-256": "sha256=" + "0" * 64},
        {"X-Signature-256": _signature('{"email": "other@example.com"}')},  # signs another body
    ],
)
def test_unauthenticated_calls_get_401_and_change_nothing(headers):
    contact = verified(10, email="gone@company.example")
    before = _state(contact)
    response = _post({"email": "gone@company.example"}, **headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert _state(contact) == before
    assert not AuditEvent.objects.exists()


def test_without_a_configured_secret_nothing_is_accepted(settings):
    settings.MAIL_BOUNCE_WEBHOOK_SECRET = ""
    contact = verified(10, email="gone@company.example")
    before = _state(contact)
    assert _post({"email": "gone@company.example"}, Authorization="Bearer ").status_code == 401
    assert _state(contact) == before


def test_a_bounce_marks_every_contact_with_that_email_unverified_and_stale():
    one = verified(10, email="Gone@Company.example")
    two = verified(20, email="gone@company.example")
    other = verified(10, email="still@company.example")
    response = _post({"email": "gone@company.example", "reason": "550 no such user"}, Authorization=f"Bearer {SECRET}")
    assert response.status_code == 200
    assert response.json() == {"received": 1, "contacts_marked": 2}
    for contact in (one, two):
        last_verified_at, method, freshness, bounced_at = _state(contact)
        assert (last_verified_at, method, freshness) == (None, "", Freshness.STALE)
        assert bounced_at is not None
    assert _state(other)[2] == Freshness.FRESH
    events = AuditEvent.objects.filter(action="crm.contact.email_bounced")
    assert sorted(int(e.target_id) for e in events) == sorted([one.pk, two.pk])


def test_a_signed_batch_is_accepted_and_a_repeat_changes_nothing():
    contact = verified(10, email="gone@company.example")
    raw = json.dumps({"bounces": [{"email": "gone@company.example"}, {"email": "unknown@nowhere.example"}]})
    first = _post(raw, **{"X-Signature-256": _signature(raw)})
    assert first.json() == {"received": 2, "contacts_marked": 1}
    marked = _state(contact)
    again = _post(raw, **{"X-Signature-256": _signature(raw)})
    assert again.json() == {"received": 2, "contacts_marked": 0}
    assert _state(contact) == marked
    # The bounce, and the departure it makes a fact of (#19): once each.
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == [
        "crm.contact.email_bounced",
        "crm.contact.left",
    ]


def test_a_batch_of_bounces_costs_the_same_queries_however_many_and_audits_each_reason():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def call(n: int, prefix: str) -> int:
        for i in range(n):
            verified(10, email=f"{prefix}{i}@company.example")
        bounces = [{"email": f"{prefix}{i}@company.example", "reason": f"550 {prefix}{i}"} for i in range(n)]
        raw = json.dumps({"bounces": bounces})
        with CaptureQueriesContext(connection) as ctx:
            assert _post(raw, **{"X-Signature-256": _signature(raw)}).json()["contacts_marked"] == n
        return len(ctx.captured_queries)

    assert call(2, "a") == call(20, "b")
    event = AuditEvent.objects.get(action="crm.contact.email_bounced", data__email="b7@company.example")
    assert event.data["reason"] == "550 b7"


@pytest.mark.parametrize("body", ["not json", "[]", '{"bounces": []}', '{"email": 42}', '{"bounces": [{"x": 1}]}'])
def test_malformed_bodies_get_400_and_change_nothing(body):
    contact = verified(10, email="gone@company.example")
    before = _state(contact)
    response = _post(body, Authorization=f"Bearer {SECRET}")
    assert response.status_code == 400
    assert _state(contact) == before


def test_a_get_is_not_allowed():
    assert Client().get(URL).status_code == 405


def test_a_bounce_marks_the_addresss_open_invitations_bounced(django_capture_on_commit_callbacks):
    invitations = pytest.importorskip("invitations.services")
    from invitations.models import Invitation

    contact = verified(10, email="gone@company.example")
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invitation_create(actor=contact.account.owner, account=contact.account, contact=contact)
    response = _post({"email": "gone@company.example", "reason": "550"}, Authorization=f"Bearer {SECRET}")
    assert response.status_code == 200
    assert Invitation.objects.get().status == Invitation.Status.BOUNCED
    assert AuditEvent.objects.filter(action="invitations.invitation.bounced").count() == 1
