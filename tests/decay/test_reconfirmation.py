"""Reconfirmation: who is asked, how often, the link's single use and expiry, and the answer."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.decay import Freshness
from crm.models import Contact, ContactReconfirmation
from crm.reconfirmation import _invitations_available, reconfirmations_send_due
from iam.models import AuditEvent, Membership, User
from tests.decay.factories import LONG_AGO, stale_portal_user, verified
from tests.factories import ContactFactory, StaffFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/reconfirm/[^/\s\"]+/)")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"
    settings.DECAY_RECONFIRMATION_INTERVAL_DAYS = 90
    settings.DECAY_RECONFIRMATION_LINK_DAYS = 14


@pytest.fixture
def invitation_mode(settings):
    """Contacts without portal access are invited to register instead of sent one-click links."""
    settings.DECAY_RECONFIRMATION_NON_PORTAL = "invitation"


def _send(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return reconfirmations_send_due(**kwargs)


def _link(message) -> str:
    text = LINK.search(message.body).group(1)
    html = LINK.search(message.alternatives[0][0]).group(1)
    assert text == html
    return text


def test_a_stale_portal_user_gets_one_email_with_a_link_and_only_its_digest_is_stored(
    django_capture_on_commit_callbacks,
):
    membership = stale_portal_user()
    outcome = _send(django_capture_on_commit_callbacks)
    assert outcome.sent == 1
    [message] = mail.outbox
    assert message.to == [membership.contact.email]
    assert message.subject == "Are your contact details still correct?"
    link = _link(message)
    assert reverse("portal:profile") in message.body  # "update my details"
    request = ContactReconfirmation.objects.get()
    secret = link.split("/")[2].split(":")[0]
    assert request.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(ContactReconfirmation.objects.values()))
    assert Contact.objects.get(pk=membership.contact_id).last_reconfirmation_sent_at is not None


def test_a_second_run_asks_nobody_again_within_the_interval(django_capture_on_commit_callbacks):
    stale_portal_user()
    _send(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assert _send(django_capture_on_commit_callbacks).sent == 0
    assert mail.outbox == []
    assert ContactReconfirmation.objects.count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(days=89)):
        assert _send(django_capture_on_commit_callbacks).sent == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=91)):
        assert _send(django_capture_on_commit_callbacks).sent == 1
    old, new = ContactReconfirmation.objects.order_by("created_at")
    assert old.outcome == ContactReconfirmation.Outcome.SUPERSEDED
    assert new.outcome == ContactReconfirmation.Outcome.PENDING


def test_only_stale_reachable_contacts_are_asked(django_capture_on_commit_callbacks):
    asked = stale_portal_user()
    verified(30)  # fresh
    fresh_portal = stale_portal_user()
    Contact.objects.filter(pk=fresh_portal.contact_id).update(
        last_verified_at=timezone.now() - dt.timedelta(days=250)
    )  # ageing
    bounced = stale_portal_user()
    Contact.objects.filter(pk=bounced.contact_id).update(email_bounced_at=timezone.now())
    suspended = stale_portal_user()
    Membership.objects.filter(pk=suspended.pk).update(status=Membership.Status.SUSPENDED, suspended_by="admin")
    ContactFactory(consent_to_contact=False)  # no portal access, no consent: never written to
    outcome = _send(django_capture_on_commit_callbacks)
    assert outcome.contact_ids == [asked.contact_id]
    assert [m.to for m in mail.outbox] == [[asked.contact.email]]


@pytest.fixture
def operations():
    return StaffFactory(staff_role=User.StaffRole.OPERATIONS, first_name="Olga", last_name="Ops")


def test_contacts_with_consent_but_no_portal_access_are_invited_through_one_batch(
    invitation_mode, django_capture_on_commit_callbacks, operations
):
    if not _invitations_available():
        pytest.skip("invitations have not landed")
    from invitations.models import BatchRecipient, Invitation, InvitationBatch

    consenting = [ContactFactory(consent_to_contact=True) for _ in range(3)]
    ContactFactory(consent_to_contact=False)
    bounced = ContactFactory(consent_to_contact=True, email_bounced_at=timezone.now())
    portal = stale_portal_user()
    outcome = _send(django_capture_on_commit_callbacks)
    assert (outcome.sent, outcome.invited) == (1, 3)
    assert outcome.contact_ids == [portal.contact_id, *sorted(c.pk for c in consenting)]

    batch = InvitationBatch.objects.get()
    assert (batch.pk, batch.total, batch.created_by, batch.source) == (outcome.batch_id, 3, operations, "contacts")
    assert batch.status == InvitationBatch.Status.FINISHED
    assert sorted(BatchRecipient.objects.values_list("contact_id", flat=True)) == sorted(c.pk for c in consenting)
    assert set(BatchRecipient.objects.values_list("state", flat=True)) == {BatchRecipient.State.SENT}
    assert sorted(Invitation.objects.values_list("contact_id", "account_id", "email")) == sorted(
        (c.pk, c.account_id, c.email.lower()) for c in consenting
    )
    assert set(Invitation.objects.values_list("invited_by", flat=True)) == {operations.pk}
    assert bounced.pk not in outcome.contact_ids
    expected = [portal.contact.email] + [c.email.lower() for c in consenting]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(expected)
    assert AuditEvent.objects.filter(action="invitations.batch.started").count() == 1
    assert AuditEvent.objects.filter(action="invitations.invitation.created").count() == 3

    mail.outbox.clear()
    again = _send(django_capture_on_commit_callbacks)
    assert (again.sent, again.invited, again.batch_id, again.contact_ids) == (0, 0, None, [])
    assert (InvitationBatch.objects.count(), Invitation.objects.count()) == (1, 3)
    assert mail.outbox == []


def test_invitations_respect_the_interval_and_the_limit(
    invitation_mode, django_capture_on_commit_callbacks, operations
):
    if not _invitations_available():
        pytest.skip("invitations have not landed")
    from invitations.models import InvitationBatch

    first, second = ContactFactory(consent_to_contact=True), ContactFactory(consent_to_contact=True)
    assert _send(django_capture_on_commit_callbacks, limit=1).contact_ids == [first.pk]
    assert _send(django_capture_on_commit_callbacks, limit=1).contact_ids == [second.pk]
    assert _send(django_capture_on_commit_callbacks).invited == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=89)):
        assert _send(django_capture_on_commit_callbacks).invited == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=91)):
        # Asked again after the interval: the batch skips them (their invitations are still open).
        assert _send(django_capture_on_commit_callbacks).invited == 2
    assert InvitationBatch.objects.count() == 3


def test_consent_withdrawn_means_no_invitation_and_no_claim(
    invitation_mode, django_capture_on_commit_callbacks, operations
):
    if not _invitations_available():
        pytest.skip("invitations have not landed")
    from invitations.models import InvitationBatch

    contact = ContactFactory(consent_to_contact=False)
    outcome = _send(django_capture_on_commit_callbacks)
    assert (outcome.invited, outcome.batch_id) == (0, None)
    assert not InvitationBatch.objects.exists()
    assert Contact.objects.get(pk=contact.pk).last_reconfirmation_sent_at is None


def test_without_an_operations_user_nobody_is_invited_and_nobody_is_claimed(
    invitation_mode, django_capture_on_commit_callbacks
):
    if not _invitations_available():
        pytest.skip("invitations have not landed")
    contact = ContactFactory(consent_to_contact=True)
    assert _send(django_capture_on_commit_callbacks).invited == 0
    assert Contact.objects.get(pk=contact.pk).last_reconfirmation_sent_at is None


def test_the_batch_is_sent_in_the_name_of_the_configured_inviter(
    invitation_mode, django_capture_on_commit_callbacks, operations, settings
):
    if not _invitations_available():
        pytest.skip("invitations have not landed")
    from invitations.models import InvitationBatch

    named = StaffFactory(staff_role=User.StaffRole.OPERATIONS)
    settings.DECAY_RECONFIRMATION_INVITER_EMAIL = named.email.upper()
    ContactFactory(consent_to_contact=True)
    _send(django_capture_on_commit_callbacks)
    assert InvitationBatch.objects.get().created_by == named


def test_a_run_is_capped_by_its_limit_and_the_next_run_continues(django_capture_on_commit_callbacks):
    for _ in range(3):
        stale_portal_user()
    assert _send(django_capture_on_commit_callbacks, limit=2).sent == 2
    assert _send(django_capture_on_commit_callbacks, limit=2).sent == 1
    assert len({m.to[0] for m in mail.outbox}) == 3


def _asked(django_capture_on_commit_callbacks) -> tuple[Membership, str]:
    membership = stale_portal_user()
    _send(django_capture_on_commit_callbacks)
    return membership, _link(mail.outbox[-1])


def test_the_link_shows_the_data_and_a_get_changes_nothing(django_capture_on_commit_callbacks):
    membership, link = _asked(django_capture_on_commit_callbacks)
    response = Client().get(link)
    assert response.status_code == 200
    assert membership.contact.last_name in response.content.decode()
    assert b"Yes, all still correct" in response.content
    contact = Contact.objects.get(pk=membership.contact_id)
    assert contact.freshness == Freshness.STALE
    assert ContactReconfirmation.objects.get().used_at is None


def test_confirming_refreshes_last_verified_at_and_audits(django_capture_on_commit_callbacks):
    membership, link = _asked(django_capture_on_commit_callbacks)
    moment = timezone.now() + dt.timedelta(days=2)
    with time_machine.travel(moment, tick=False):
        response = Client().post(link)
    assert response.status_code == 200
    assert b"Thank you" in response.content
    contact = Contact.objects.get(pk=membership.contact_id)
    assert contact.last_verified_at == moment
    assert contact.verification_method == Contact.VerificationMethod.RECONFIRMATION
    assert contact.verified_by == membership.user
    assert contact.freshness == Freshness.FRESH
    event = AuditEvent.objects.get(action="crm.contact.reconfirmed")
    assert (event.account_id, event.target_id, event.actor_id) == (
        membership.account_id,
        str(contact.pk),
        membership.user_id,
    )
    assert ContactReconfirmation.objects.get().outcome == ContactReconfirmation.Outcome.CONFIRMED


def test_a_used_link_says_so_and_changes_nothing(django_capture_on_commit_callbacks):
    membership, link = _asked(django_capture_on_commit_callbacks)
    Client().post(link)
    before = Contact.objects.get(pk=membership.contact_id)
    events = AuditEvent.objects.count()
    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        for method in ("get", "post"):
            response = getattr(Client(), method)(link)
            assert response.status_code == 410
            assert b"You already answered" in response.content
            assert b"Nothing was changed" in response.content
    after = Contact.objects.get(pk=membership.contact_id)
    assert after.last_verified_at == before.last_verified_at
    assert AuditEvent.objects.count() == events


def test_an_expired_link_says_so_and_changes_nothing(django_capture_on_commit_callbacks):
    membership, link = _asked(django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        response = Client().post(link)
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    contact = Contact.objects.get(pk=membership.contact_id)
    assert contact.freshness == Freshness.STALE
    assert contact.last_verified_at < timezone.now() - LONG_AGO + dt.timedelta(days=1)
    assert ContactReconfirmation.objects.get().used_at is None
    assert not AuditEvent.objects.filter(action="crm.contact.reconfirmed").exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda link: link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:],  # the signature
        lambda link: link.replace("/reconfirm/", "/reconfirm/x"),  # the secret
        lambda link: "/reconfirm/not-a-token/",
    ],
)
def test_a_tampered_link_is_refused_and_changes_nothing(django_capture_on_commit_callbacks, tamper):
    membership, link = _asked(django_capture_on_commit_callbacks)
    response = Client().post(tamper(link))
    assert response.status_code == 404
    assert b"This link is not valid" in response.content
    assert Contact.objects.get(pk=membership.contact_id).freshness == Freshness.STALE
    assert ContactReconfirmation.objects.get().used_at is None


def test_a_replaced_link_points_to_the_newer_email(django_capture_on_commit_callbacks):
    _membership, first = _asked(django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + dt.timedelta(days=91)):
        _send(django_capture_on_commit_callbacks)
        response = Client().post(first)
    assert response.status_code == 410
    assert b"This link was replaced" in response.content


def test_the_command_sends_by_hand(django_capture_on_commit_callbacks):
    import io

    from django.core.management import call_command

    stale_portal_user()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reconfirmations_send", stdout=out)
    assert "1 reconfirmation emails sent" in out.getvalue()
    assert len(mail.outbox) == 1
