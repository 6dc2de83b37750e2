"""Departures become facts: every signal marks the contact left, tells the owner, deletes nothing."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from crm.departures import contact_mark_left, inbound_message_receive, inbound_message_says_left
from crm.models import Activity, Contact, LeftReason
from crm.reconfirmation import reconfirmations_due
from history.models import RecordChange
from iam.models import AuditEvent, Membership
from iam.services import membership_remove, user_update
from invitations.services import invitation_create
from notifications.models import Notification
from tests.decay.factories import stale_portal_user, verified
from tests.factories import ActivityFactory, ContactFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-shared-with-the-mail-provider"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.MAIL_BOUNCE_WEBHOOK_SECRET = SECRET


def _left(contact: Contact) -> tuple:
    c = Contact.objects.get(pk=contact.pk)
    return c.left_at is not None, c.left_reason


def test_a_departure_signal_never_deletes_data_and_tells_the_owner_once():
    contact = verified(10, consent_to_contact=True)
    ActivityFactory(account=contact.account, contact=contact)
    assert contact_mark_left(actor=None, contact=contact, reason=LeftReason.HARD_BOUNCE)
    assert not contact_mark_left(actor=None, contact=contact, reason=LeftReason.OUT_OF_OFFICE)  # already a fact
    assert _left(contact) == (True, LeftReason.HARD_BOUNCE)
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert Activity.objects.filter(contact=contact).count() == 1
    [told] = Notification.objects.filter(kind="contact.left")
    assert told.recipient == contact.owner
    assert told.url == contact.get_absolute_url()
    assert AuditEvent.objects.filter(action="crm.contact.left").count() == 1
    change = RecordChange.objects.filter(record_type="crm.contact", record_id=contact.pk).latest("id")
    assert change.changes["left_reason"]["new"] == LeftReason.HARD_BOUNCE


def test_org_admin_removing_a_member_marks_the_contact_left_but_staff_removal_does_not():
    admin = MembershipFactory(roles=["org_admin"])
    member = MembershipFactory(account=admin.account)
    membership_remove(actor=admin.user, membership=member)
    assert _left(member.contact) == (True, LeftReason.ORG_ADMIN)
    assert Membership.objects.get(pk=member.pk).status == Membership.Status.DEACTIVATED


def test_a_deactivated_identity_marks_its_contacts_left():
    ops = StaffFactory(staff_role="operations")
    member = MembershipFactory()
    user_update(actor=ops, user=member.user, changes={"is_active": False})
    assert _left(member.contact) == (True, LeftReason.IDENTITY_DEACTIVATED)


def test_a_hard_bounce_marks_the_contact_left():
    contact = verified(10)
    raw = json.dumps({"email": contact.email, "reason": "550 user unknown"})
    response = Client().post(
        "/hooks/mail/bounce", data=raw, content_type="application/json", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 200
    assert _left(contact) == (True, LeftReason.HARD_BOUNCE)


@pytest.mark.parametrize(
    ("subject", "body", "left"),
    [
        ("Automatic reply", "Anna is no longer with the company. Please write to sales@x.example.", True),
        ("Out of office", "I have left the company as of 1 May.", True),
        ("Poissa", "Anna ei enää työskentele meillä", False),
        ("Out of office", "I am on holiday until Monday.", False),
    ],
)
def test_the_inbound_classifier_tells_a_departure_from_a_holiday(subject, body, left):
    assert inbound_message_says_left(subject=subject, body=body) is left


def test_an_out_of_office_reply_saying_they_left_marks_the_contact_left_through_the_hook():
    contact, on_holiday = verified(10), verified(10)
    auth = {"Authorization": f"Bearer {SECRET}"}
    for who, body in ((contact, "She is no longer with the company."), (on_holiday, "Back on Monday.")):
        raw = json.dumps({"from": who.email.upper(), "subject": "Automatic reply", "body": body})
        response = Client().post("/hooks/mail/auto-reply", data=raw, content_type="application/json", headers=auth)
        assert response.status_code == 200
    assert _left(contact) == (True, LeftReason.OUT_OF_OFFICE)
    assert _left(on_holiday) == (False, "")
    unauthenticated = Client().post("/hooks/mail/auto-reply", data="{}", content_type="application/json")
    assert unauthenticated.status_code == 401


def test_registering_at_another_company_marks_the_old_contact_left():
    from crm.departures import registration_elsewhere

    old = ContactFactory(first_name="Anna", last_name="Virtanen", email="anna.virtanen@oldco.example")
    namesake = ContactFactory(first_name="Anna", last_name="Virtanen", email="a.v@other.example")
    assert registration_elsewhere(
        email="anna.virtanen@newco.example", first_name="anna", last_name="VIRTANEN", account_id=None
    )
    assert _left(old) == (True, LeftReason.REGISTERED_ELSEWHERE)
    assert _left(namesake) == (False, "")


def test_people_who_left_are_not_asked_to_reconfirm_nor_invited():
    portal = stale_portal_user()
    inbound_message_receive(from_email=portal.contact.email, subject="Auto", body="no longer with the company")
    assert not reconfirmations_due(now=timezone.now()).filter(pk=portal.contact_id).exists()
    left = verified(10)
    contact_mark_left(actor=None, contact=left, reason=LeftReason.STAFF)
    left.refresh_from_db()
    with pytest.raises(Exception, match="has left"):
        invitation_create(actor=left.owner, contact=left)
    assert not mail.outbox


def test_integrators_get_a_contact_left_event(django_capture_on_commit_callbacks):
    from tests.webhooks.factories import EndpointFactory
    from webhooks.models import Event

    EndpointFactory(event_types=["contact.left"])
    contact = verified(10)
    with django_capture_on_commit_callbacks(execute=False):
        contact_mark_left(actor=None, contact=contact, reason=LeftReason.STAFF)
        contact_mark_left(actor=None, contact=contact, reason=LeftReason.STAFF)  # a repeat emits nothing
    [event] = Event.objects.filter(type="contact.left")
    assert event.account_id == contact.account_id
    assert f'"id": {contact.pk}' in event.body or f'"id":{contact.pk}' in event.body
