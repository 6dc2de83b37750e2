"""Invitations in a real browser: the rep clicks Invite on a contact; the invitee opens the
emailed link (read from the SMTP sink), sets a password and lands in the portal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from iam.models import Membership, User
from invitations.models import Invitation
from tests.factories import ContactFactory, ContractFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^\s\"<>]+/invitations/accept/[A-Za-z0-9_-]+/")


def test_rep_invites_a_contact_and_the_invitee_lands_in_the_portal(
    signed_in_page, browser, live_server, smtp_mail, settings
):
    settings.SITE_URL = live_server.url
    rep = StaffFactory(first_name="Rita", last_name="Rep")
    account = ContractFactory(account__name="Acme Industries", account__owner=rep).account
    contact = ContactFactory(account=account, first_name="Dana", last_name="Invitee", email="dana@acme-industries.com")
    page = signed_in_page(rep)

    page.goto(f"/contacts/{contact.pk}/")
    page.get_by_role("link", name="Invite").click()
    page.get_by_label("Personal note").fill("Great to meet you at the fair!")
    page.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))
    expect(page.get_by_text("Invitation sent to dana@acme-industries.com")).to_be_visible()
    assert smtp_mail.wait_for(1)
    [email] = smtp_mail.to("dana@acme-industries.com")
    assert "Rita Rep" in email.subject
    link = LINK.search(email.body("plain")).group(0)
    assert link in email.body("html")

    invitee = browser.new_context(base_url=live_server.url)
    try:
        tab = invitee.new_page()
        tab.goto(link)
        expect(tab.get_by_role("heading", name="You're invited")).to_be_visible()
        expect(tab.get_by_text("Great to meet you at the fair!")).to_be_visible()
        tab.get_by_label("First name").fill("Dana")
        tab.get_by_label("Last name").fill("Invitee")
        tab.get_by_label("Choose a password").fill("a long enough passphrase")
        tab.get_by_label("Repeat the password").fill("a long enough passphrase")
        tab.get_by_role("button", name="Accept and create my account").click()

        expect(tab).to_have_url(re.compile(r"/portal/$"))
        expect(tab.get_by_text("Welcome to Acme Industries")).to_be_visible()
    finally:
        invitee.close()

    user = User.objects.get(email="dana@acme-industries.com")
    membership = Membership.objects.get(user=user)
    assert (membership.account, membership.contact, membership.status) == (account, contact, "active")
    assert Invitation.objects.get().status == "accepted"
