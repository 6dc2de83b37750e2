"""No developer vocabulary reaches people: audit codes, internal ids, booleans, scopes, user agents (#15)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.plain_words import audit_details, audit_sentence, scope_label, user_agent_label
from iam.audit import audit_record
from tests.factories import MembershipFactory

CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.0.0"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (CHROME_LINUX, "Chrome on Linux"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (FIREFOX_MAC, "Firefox on macOS"),
        (CHROME_ANDROID, "Chrome on Android"),
        ("curl/8.5.0", "A program"),
        ("", "Unknown browser"),
    ],
)
def test_user_agents_read_as_browser_on_system(agent, label):
    assert user_agent_label(agent) == label


def test_audit_codes_ids_and_booleans_read_as_words():
    assert audit_sentence("invitations.invitation.sent") == "Invitation sent"
    assert audit_sentence("registrations.registration.info_requested") == "More information asked of a registrant"
    assert audit_sentence("webhooks.endpoint.secret_rotated") == "Endpoint secret rotated"
    details = audit_details({"contact": 3, "invitation": 12, "user_created": True, "roles": ["org_admin", "buyer"]})
    assert details == [("Roles", "Org admin, Buyer"), ("New sign-in", "Yes")]
    assert scope_label("contacts:read") == "Contacts (read)"
    assert scope_label("audit-events:read") == "Audit trail (read)"
    assert scope_label("contacts:write") == "Contacts (read and change)"


@pytest.mark.django_db
def test_the_portal_audit_trail_shows_sentences_not_codes(rep_client):
    admin = MembershipFactory(roles=["org_admin"])
    audit_record(
        actor=admin.user,
        action="invitations.invitation.accepted",
        account=admin.account,
        target=admin.user,
        data={"email": "dana@acme.example", "user_created": True, "contact": 3},
    )
    client = Client()
    client.force_login(admin.user)

    for html in (
        client.get(reverse("portal:org_audit")).content.decode(),
        rep_client.get(reverse("staff_iam:audit_list")).content.decode(),
    ):
        assert "Invitation accepted" in html
        assert "New sign-in" in html
        assert "user_created" not in html
        assert "True" not in html
        assert "contact: 3" not in html
        assert ">invitations.invitation.accepted<" not in html


@pytest.mark.django_db
def test_the_sessions_page_names_the_browser():
    member = MembershipFactory()
    client = Client(HTTP_USER_AGENT=CHROME_LINUX)
    client.force_login(member.user)
    client.get(reverse("portal:home"))

    html = client.get(reverse("usersessions_list")).content.decode()
    assert "Chrome on Linux" in html
    assert ">Mozilla/5.0" not in html
