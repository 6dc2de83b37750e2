"""One webmail rule for registration and org admins' invitations, and staff may allow it (#15)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from crm import services as crm_services
from invitations import services
from invitations.models import Invitation
from registrations.services import registration_clean
from tests.invitations.factories import roles
from tests.registrations.factories import form_data

pytestmark = pytest.mark.django_db


def test_an_org_admin_cannot_invite_a_webmail_address(org_admin):
    with pytest.raises(ValidationError) as refused:
        services.invitation_create(
            actor=org_admin.user, email="someone@gmail.com", account=org_admin.account, roles=roles("buyer")
        )

    [message] = refused.value.message_dict["email"]
    assert "gmail.com is a public webmail provider" in message
    assert "ask your account manager to allow webmail addresses for Acme Industries" in message
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_registration_refuses_the_same_address(settings):
    with pytest.raises(ValidationError) as refused:
        registration_clean(form_data(email="someone@gmail.com"))
    assert "public webmail provider" in refused.value.message_dict["email"][0]


def test_the_portal_form_shows_the_refusal_on_the_email_field(org_admin):
    client = Client()
    client.force_login(org_admin.user)
    response = client.post(
        reverse("invitations:portal_invitations"),
        {"email": "someone@gmail.com", "roles": [roles("buyer")[0].pk], "expires_in_days": 7},
    )
    assert "public webmail provider" in response.content.decode()
    assert not Invitation.objects.exists()


def test_staff_may_allow_webmail_for_one_account(org_admin, owner):
    account = org_admin.account
    account.allow_public_email = True
    crm_services.account_save(actor=owner, account=account)
    outcome = services.invitation_create(
        actor=org_admin.user, email="someone@gmail.com", account=org_admin.account, roles=roles("buyer")
    )
    assert outcome.created


def test_staff_inviting_themselves_decide_and_operations_may_allow_a_domain(org_admin, owner, settings):
    assert services.invitation_create(
        actor=owner, email="person@gmail.com", account=org_admin.account, roles=roles("buyer")
    ).created

    settings.INVITATIONS_ALLOWED_EMAIL_DOMAINS = ["gmail.com"]
    assert services.invitation_create(
        actor=org_admin.user, email="other@gmail.com", account=org_admin.account, roles=roles("buyer")
    ).created
    assert registration_clean(form_data(email="someone@gmail.com"))["email"] == "someone@gmail.com"


def test_work_addresses_are_unaffected(org_admin):
    assert services.invitation_create(
        actor=org_admin.user, email="colleague@acme-industries.com", account=org_admin.account, roles=roles("buyer")
    ).created


def test_invitations_appear_on_the_contacts_timeline(owner, acme, django_capture_on_commit_callbacks):
    from crm.models import Activity
    from tests.factories import ContactFactory
    from tests.invitations.factories import last_token

    contact = ContactFactory(account=acme, first_name="Dana", email="dana@acme-industries.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=owner, contact=contact, roles=roles("buyer"), note="See you at the fair")
    services.invitation_accept(actor=None, token=last_token(), password="a long enough passphrase")

    subjects = list(Activity.objects.filter(contact=contact).order_by("id").values_list("subject", "kind", "done"))
    assert subjects == [
        ("Invited to the portal: dana@acme-industries.com", "email", True),
        ("Accepted the portal invitation: dana@acme-industries.com", "email", True),
    ]
    client = Client()
    client.force_login(owner)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert "Invited to the portal" in html
    assert "Accepted the portal invitation" in html
