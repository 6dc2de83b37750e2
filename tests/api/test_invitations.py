"""Invitations and batches through the API: the invitations app's services, with the key as actor."""

from __future__ import annotations

import pytest
from django.core import mail

from iam.models import AuditEvent
from invitations.models import BatchRecipient, Invitation, InvitationBatch
from tests.api.factories import Api, issue_key
from tests.factories import ContactFactory, ContractFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_api(key_api, django_capture_on_commit_callbacks):
    """The API client, running what each request left for after commit (the emails), as production would."""

    class Committing:
        headers = key_api.headers

        def __getattr__(self, method):
            def call(*args, **kwargs):
                with django_capture_on_commit_callbacks(execute=True):
                    return getattr(key_api, method)(*args, **kwargs)

            return call

    return Committing()


@pytest.fixture
def customer():
    return ContractFactory(account__name="Acme Industries").account


def test_invite_a_contact_sends_one_email_and_a_repeat_refreshes_instead_of_duplicating(key_api, full_key, customer):
    contact = ContactFactory(account=customer, email="pia@acme-industries.com")
    created = key_api.post("/api/v1/invitations/", {"contact": contact.pk, "roles": ["buyer"]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "pia@acme-industries.com"
    assert body["account"] == customer.pk
    assert body["roles"] == ["buyer"]
    assert "token" not in str(body)
    assert [m.to for m in mail.outbox] == [["pia@acme-industries.com"]]
    again = key_api.post("/api/v1/invitations/", {"contact": contact.pk})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Invitation.objects.count() == 1
    event = AuditEvent.objects.get(action="invitations.invitation.created")
    assert event.actor_label == f"api-key:{full_key[0].name}"


def test_inviting_a_portal_user_again_is_a_conflict_and_sends_nothing(key_api):
    membership = MembershipFactory()
    response = key_api.post("/api/v1/invitations/", {"contact": membership.contact_id})
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_resend_and_revoke(key_api, customer):
    contact = ContactFactory(account=customer, email="ola@acme-industries.com")
    pk = key_api.post("/api/v1/invitations/", {"contact": contact.pk}).json()["id"]
    resent = key_api.post(f"/api/v1/invitations/{pk}/resend/", {"expires_in_days": 3})
    assert resent.status_code == 200, resent.content
    assert len(mail.outbox) == 2  # sent after commit, so the answer still shows the first send
    assert key_api.get(f"/api/v1/invitations/{pk}/").json()["send_count"] == 2
    revoked = key_api.post(f"/api/v1/invitations/{pk}/revoke/")
    assert revoked.json()["status"] == "revoked"
    refused = key_api.post(f"/api/v1/invitations/{pk}/resend/")
    assert refused.status_code == 409
    assert len(mail.outbox) == 2
    bad = key_api.post(f"/api/v1/invitations/{pk}/resend/", {"expires_in_days": 90, "extra": 1})
    assert bad.status_code == 400
    assert {e["pointer"] for e in bad.json()["errors"]} == {"#/extra"}


def test_an_invitation_of_another_account_is_out_of_a_restricted_keys_reach(ops, customer):
    other = ContractFactory().account
    contact = ContactFactory(account=other, email="x@other-industries.com")
    _key, raw = issue_key("invitations:write", accounts=[customer], created_by=ops)
    response = Api(key=raw).post("/api/v1/invitations/", {"contact": contact.pk})
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_a_batch_invites_an_accounts_contacts_and_can_be_cancelled(key_api, customer, settings):
    settings.INVITATIONS_BATCH_RATE_PER_SECOND = 0
    for n in range(3):
        ContactFactory(account=customer, email=f"p{n}@acme-industries.com")
    created = key_api.post(
        "/api/v1/invitation-batches/", {"source": "contacts", "account": customer.pk, "name": "Acme roll-out"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["total"] == 3
    assert body["progress"]["total"] == 3
    batch = InvitationBatch.objects.get()
    assert BatchRecipient.objects.filter(batch=batch).count() == 3
    cancelled = key_api.post(f"/api/v1/invitation-batches/{batch.pk}/cancel/")
    assert cancelled.status_code == 200
    assert key_api.get(f"/api/v1/invitation-batches/{batch.pk}/").json()["progress"]["total"] == 3


def test_a_batch_needs_ids_or_an_account(key_api):
    response = key_api.post("/api/v1/invitation-batches/", {"source": "leads"})
    assert response.status_code == 400
    assert not InvitationBatch.objects.exists()


def test_a_key_restricted_to_accounts_cannot_start_batches(ops, customer):
    _key, raw = issue_key("invitation-batches:write", accounts=[customer], created_by=ops)
    response = Api(key=raw).post("/api/v1/invitation-batches/", {"source": "contacts", "account": customer.pk})
    assert response.status_code == 403
    assert not InvitationBatch.objects.exists()
