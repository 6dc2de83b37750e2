"""The owner of a lead or account hears when their customer acts: from the real flows."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from crm.models import AccountDomain
from crm.reconfirmation import reconfirmations_send_due
from invitations import services as invitation_services
from notifications.models import Notification
from tests.decay.factories import stale_portal_user
from tests.factories import ContactFactory, ContractFactory, StaffFactory
from tests.invitations.factories import last_token, roles
from tests.registrations.factories import verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()


def _told(user, kind):
    return list(Notification.objects.filter(recipient=user, kind=kind))


def test_the_account_owner_hears_when_their_customer_registers(django_capture_on_commit_callbacks):
    account = ContractFactory(account__name="Nordlys Robotics", account__business_id="FI21123456").account
    AccountDomain.objects.create(account=account, domain="nordlys-robotics.fi")
    bystander = StaffFactory()

    with django_capture_on_commit_callbacks(execute=True):
        registration = verified()

    [told] = _told(account.owner, "customer.registered")
    assert "Aino Virtanen" in told.title
    assert "registered in the portal" in told.title
    assert told.url == account.get_absolute_url()
    assert told.dedupe_key == f"customer.registered:{registration.pk}"
    assert not Notification.objects.filter(recipient=bystander).exists()


def test_the_lead_owner_hears_when_a_lead_registers(settings, sales_rep):
    from crm.models import Lead

    settings.REGISTRATIONS_AUTO_ADMIT_LEADS = True
    settings.REGISTRATIONS_OWNER_EMAIL = sales_rep.email
    registration = verified()

    lead = Lead.objects.get(email=registration.email)
    [told] = _told(sales_rep, "customer.registered")
    assert told.url == lead.get_absolute_url()
    assert "lead access" in told.body


def test_the_owner_and_the_inviter_hear_when_an_invitation_is_accepted(django_capture_on_commit_callbacks):
    acme = ContractFactory(account__name="Acme Industries").account
    manager = StaffFactory(staff_role="sales_manager")
    contact = ContactFactory(account=acme, first_name="Dana", last_name="Invitee", email="dana@acme-industries.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_services.invitation_create(actor=manager, contact=contact, roles=roles("buyer"))

    invitation_services.invitation_accept(
        actor=None, token=last_token(), password="a long enough passphrase", first_name="Dana", last_name="Invitee"
    )

    for person in (acme.owner, manager):
        [told] = _told(person, "invitation.accepted")
        assert told.title == "Dana Invitee accepted the invitation to Acme Industries"
        assert told.url == contact.get_absolute_url()


def test_a_failed_acceptance_tells_nobody(django_capture_on_commit_callbacks):
    acme = ContractFactory(account__name="Acme Industries").account
    contact = ContactFactory(account=acme, email="dana@acme-industries.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_services.invitation_create(actor=acme.owner, contact=contact, roles=roles("buyer"))

    with pytest.raises(ValidationError):
        invitation_services.invitation_accept(actor=None, token=last_token(), password="short")

    assert not Notification.objects.exists()


def test_the_owner_hears_when_a_contact_answers_a_reconfirmation(settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "http://testserver"
    membership = stale_portal_user()
    with django_capture_on_commit_callbacks(execute=True):
        reconfirmations_send_due()
    link = re.search(r"http://testserver(/reconfirm/[^/\s\"]+/)", mail.outbox[-1].body).group(1)

    assert Client().post(link).status_code == 200
    assert Client().post(link).status_code in (200, 404, 410)

    contact = membership.contact
    [told] = _told(contact.account.owner, "reconfirmation.answered")
    assert "confirmed their details" in told.title
    assert told.url == contact.get_absolute_url()
