"""Invitation pages through the test client: accept flows, Invite buttons, the portal, batches, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Lead
from iam.models import Membership, User
from invitations import services
from invitations.models import BatchRecipient, Invitation, InvitationBatch
from tests.factories import ContactFactory, LeadFactory, MembershipFactory, StaffFactory
from tests.invitations.factories import last_token, roles

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def contact(acme):
    return ContactFactory(account=acme, first_name="Dana", last_name="Invitee", email="dana@acme-industries.com")


@pytest.fixture
def invited(owner, contact, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=owner, contact=contact, roles=roles("buyer"), note="Welcome aboard")
    return last_token()


def _accept_url(token):
    return reverse("invitations:accept", args=[token])


# --- accepting ---------------------------------------------------------------------------------


def test_link_shows_who_invited_whom_to_what_and_get_consumes_nothing(client, invited, owner):
    for _ in range(2):
        response = client.get(_accept_url(invited))
        assert response.status_code == 200
    page = response.content.decode()
    assert owner.get_full_name() in page
    assert "Acme Industries" in page
    assert "Welcome aboard" in page
    assert "Buyer" in page
    assert response["Cache-Control"].startswith("max-age=0")
    assert Invitation.objects.get().status == "sent"
    assert not User.objects.filter(email="dana@acme-industries.com").exists()


def test_new_user_sets_a_password_and_lands_in_the_portal(client, invited, acme):
    response = client.post(
        _accept_url(invited),
        {
            "first_name": "Dana",
            "last_name": "Invitee",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    user = User.objects.get(email="dana@acme-industries.com")
    assert Membership.objects.get(user=user).account == acme
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200
    assert home.wsgi_request.user == user


def test_mismatched_passwords_create_nothing(client, invited):
    response = client.post(
        _accept_url(invited),
        {"first_name": "D", "last_name": "I", "password1": "a long enough passphrase", "password2": "different one!!"},
    )

    assert response.status_code == 200
    assert "differ" in response.content.decode()
    assert not User.objects.filter(email="dana@acme-industries.com").exists()


@pytest.mark.parametrize(
    ("spoil", "status", "words"),
    [
        ("expire", 410, "has expired"),
        ("revoke", 410, "no longer valid"),
        ("use", 410, "already accepted"),
        ("tamper", 404, "does not work"),
    ],
)
def test_unusable_links_show_a_clear_page_and_create_nothing(client, invited, owner, spoil, status, words):
    token = invited
    invitation = Invitation.objects.get()
    if spoil == "expire":
        Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    elif spoil == "revoke":
        services.invitation_revoke(actor=owner, invitation=invitation)
    elif spoil == "use":
        services.invitation_accept(actor=None, token=token, password="a long enough passphrase")
    else:
        token = token[:-2] + "zz"
    users = User.objects.count()

    get = client.get(_accept_url(token))
    post = client.post(
        _accept_url(token),
        {
            "first_name": "X",
            "last_name": "Y",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )

    for response in (get, post):
        assert response.status_code == status
        assert words in response.content.decode()
        assert "What next" in response.content.decode()
    assert User.objects.count() == users


def test_existing_user_is_asked_to_sign_in_and_then_accepts(owner, acme, django_capture_on_commit_callbacks):
    existing = MembershipFactory(roles=["buyer"]).user
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=owner, email=existing.email, account=acme, roles=roles("buyer"))
    token = last_token()

    anonymous = Client().get(_accept_url(token))
    assert "Sign in to accept" in anonymous.content.decode()

    client = _client(existing)
    assert "Accept invitation" in client.get(_accept_url(token)).content.decode()
    response = client.post(_accept_url(token))
    assert response.status_code == 302
    assert Membership.objects.filter(user=existing, account=acme, status="active").exists()


def test_someone_else_signed_in_is_told_to_sign_out(invited):
    client = _client(MembershipFactory().user)

    response = client.get(_accept_url(invited))

    assert response.status_code == 403
    assert "dana@acme-industries.com" in response.content.decode()
    assert client.post(_accept_url(invited)).status_code == 403
    assert Invitation.objects.get().status == "sent"


# --- the Invite buttons ---------------------------------------------------------------------------


def test_contact_page_has_the_invite_button_for_the_accounts_owner(owner, contact):
    page = _client(owner).get(contact.get_absolute_url()).content.decode()
    assert reverse("invitations:invite_contact", args=[contact.pk]) in page

    other = _client(StaffFactory()).get(contact.get_absolute_url()).content.decode()
    assert reverse("invitations:invite_contact", args=[contact.pk]) not in other


def test_invite_form_sends_the_invitation(owner, contact, django_capture_on_commit_callbacks):
    client = _client(owner)
    url = reverse("invitations:invite_contact", args=[contact.pk])
    buyer = roles("buyer")[0]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"email": contact.email, "roles": [buyer.pk], "note": "Hi Dana", "expires_in_days": 7}, follow=True
        )

    assert response.redirect_chain[-1][0] == contact.get_absolute_url()
    assert "Invitation sent to dana@acme-industries.com" in response.content.decode()
    assert mail.outbox[0].to == [contact.email]
    assert "Invitation sent" in response.content.decode()


def test_three_personas_on_the_invite_page(owner, contact, external_user):
    url = reverse("invitations:invite_contact", args=[contact.pk])
    assert _client(owner).get(url).status_code == 200
    assert _client(StaffFactory()).get(url).status_code == 403
    assert _client(external_user).get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_lead_invite_page_says_why_a_lead_is_not_qualified():
    lead = LeadFactory(email="someone@gmail.com")
    client = _client(lead.owner)

    page = client.get(reverse("invitations:invite_lead", args=[lead.pk])).content.decode()
    assert "Not a qualified business address" in page
    assert "public webmail" in page

    response = client.post(
        reverse("invitations:invite_lead", args=[lead.pk]), {"email": "someone@gmail.com", "expires_in_days": 7}
    )
    assert response.status_code == 200
    assert Invitation.objects.count() == 0


def test_lead_list_filters_leads_who_registered(rep_client):
    LeadFactory(last_name="Signedupson", status=Lead.Status.REGISTERED)
    LeadFactory(last_name="Stillworking", status=Lead.Status.WORKING)

    page = rep_client.get(reverse("crm:lead_list"), {"status": "registered"}).content.decode()

    assert "Signedupson" in page
    assert "Stillworking" not in page
    assert 'id="registered-filter"' in page


# --- the Portal users tab and the portal ----------------------------------------------------------------


def test_account_tab_lists_invitations_with_resend_and_revoke(owner, contact, invited, acme):
    client = _client(owner)
    page = client.get(acme.get_absolute_url() + "?tab=portal-users").content.decode()
    invitation = Invitation.objects.get()

    assert "dana@acme-industries.com" in page
    assert reverse("invitations:resend", args=[invitation.pk]) in page
    assert reverse("invitations:revoke", args=[invitation.pk]) in page

    response = client.post(reverse("invitations:revoke", args=[invitation.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Revoked" in response.content.decode()
    assert Invitation.objects.get().status == "revoked"


def test_staff_who_do_not_manage_the_account_get_404_on_resend_and_revoke(invited):
    invitation = Invitation.objects.get()
    client = _client(StaffFactory())

    assert client.post(reverse("invitations:revoke", args=[invitation.pk])).status_code == 404
    assert client.post(reverse("invitations:resend", args=[invitation.pk])).status_code == 404
    assert Invitation.objects.get().status == "sent"


def test_account_page_costs_the_same_with_many_invitations(owner, acme, django_assert_num_queries):
    client = _client(owner)
    url = acme.get_absolute_url() + "?tab=portal-users"

    def invite(n):
        for i in range(n):
            Invitation.objects.create(
                email=f"p{i}-{n}@acme-industries.com",
                account=acme,
                invited_by=owner,
                expires_at=timezone.now() + dt.timedelta(days=7),
            ).roles.set(roles("buyer"))

    invite(1)
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    invite(20)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_org_admin_invites_a_colleague_in_the_portal(org_admin, django_capture_on_commit_callbacks):
    client = _client(org_admin.user)
    url = reverse("invitations:portal_invitations")
    page = client.get(url).content.decode()
    assert "Buyer" in page
    assert "Organisation admin" not in page  # not theirs to grant

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"email": "colleague@acme-industries.com", "roles": [roles("buyer")[0].pk], "expires_in_days": 7}
        )

    assert response.status_code == 302
    assert mail.outbox[0].to == ["colleague@acme-industries.com"]
    assert "colleague@acme-industries.com" in client.get(url).content.decode()


def test_org_admin_cannot_post_a_role_they_may_not_grant(org_admin):
    response = _client(org_admin.user).post(
        reverse("invitations:portal_invitations"),
        {"email": "c@acme-industries.com", "roles": [roles("org_admin")[0].pk], "expires_in_days": 7},
    )
    assert response.status_code == 200
    assert Invitation.objects.count() == 0


def test_portal_invitations_of_another_account_are_404(org_admin, outsider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            actor=outsider.user, email="x@outsider-corp.com", account=outsider.account, roles=roles("buyer")
        )
    theirs = Invitation.objects.get()
    client = _client(org_admin.user)

    assert client.post(reverse("invitations:portal_invitation_revoke", args=[theirs.pk])).status_code == 404
    assert Invitation.objects.get().status == "sent"
    assert client.get(reverse("invitations:portal_invitations")).content.decode().count("x@outsider-corp.com") == 0


def test_members_who_are_not_admins_cannot_open_the_portal_invitations(member):
    assert _client(member.user).get(reverse("invitations:portal_invitations")).status_code == 403


def test_portal_invitations_page_costs_the_same_with_more_rows(org_admin, django_assert_num_queries):
    client = _client(org_admin.user)
    url = reverse("invitations:portal_invitations")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def invite(n):
        for i in range(n):
            Invitation.objects.create(
                email=f"q{i}-{n}@acme-industries.com",
                account=org_admin.account,
                invited_by=org_admin.user,
                expires_at=timezone.now() + dt.timedelta(days=7),
            ).roles.set(roles("buyer"))

    invite(1)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    invite(15)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


# --- batches ------------------------------------------------------------------------------------


@pytest.fixture
def manager():
    return StaffFactory(staff_role="sales_manager", first_name="Mia", last_name="Manager")


def test_batch_from_the_contact_lists_filter_previews_and_starts(manager, acme, django_capture_on_commit_callbacks):
    for i in range(3):
        ContactFactory(account=acme, email=f"b{i}@acme-industries.com")
    ContactFactory(email="other@elsewhere-corp.com")
    client = _client(manager)
    params = {"source": "contacts", "scope": "filter", "filters": f"account={acme.pk}"}

    preview = client.get(reverse("invitations:batch_new"), params)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Invite 3 contacts" in page
    assert "Mia Manager invited you" in page
    sample = client.get(reverse("invitations:batch_sample"), params)
    assert sample.status_code == 200
    assert "unsafe-inline" in sample["Content-Security-Policy"]
    assert Invitation.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("invitations:batch_new"),
            {**params, "action": "start", "name": "Acme", "roles": [roles("buyer")[0].pk], "expires_in_days": 7},
        )
    batch = InvitationBatch.objects.get()
    assert response["Location"] == reverse("invitations:batch_detail", args=[batch.pk])
    assert batch.total == 3
    assert len(mail.outbox) == 3
    assert batch.selection == {"scope": "filter", "filters": f"account={acme.pk}"}


def test_batch_from_ticked_rows(manager):
    leads = [LeadFactory(email=f"l{i}@prospect-ag-{i}.com") for i in range(3)]
    response = _client(manager).get(
        reverse("invitations:batch_new"), {"source": "leads", "scope": "selected", "ids": [leads[0].pk, leads[2].pk]}
    )
    assert "Invite 2 leads" in response.content.decode()


def test_list_pages_offer_batch_invitations(rep_client):
    LeadFactory()
    page = rep_client.get(reverse("crm:lead_list")).content.decode()
    assert 'id="batch-form"' in page
    assert 'form="batch-form"' in page


def test_batch_page_polls_while_running_and_shows_each_outcome(manager, acme):
    batch = InvitationBatch.objects.create(name="B", source="contacts", expires_in_days=7, created_by=manager, total=2)
    BatchRecipient.objects.create(batch=batch, email="a@acme-industries.com", account=acme, state="sent")
    BatchRecipient.objects.create(
        batch=batch, email="b@acme-industries.com", account=acme, state="skipped", reason="Already a portal user."
    )
    client = _client(manager)

    page = client.get(reverse("invitations:batch_detail", args=[batch.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Already a portal user." in page
    fragment = client.get(reverse("invitations:batch_detail", args=[batch.pk]), HTTP_HX_REQUEST="true")
    assert fragment.content.decode().startswith('\n<div id="batch-progress"')

    client.post(reverse("invitations:batch_cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    assert (
        'hx-trigger="every 2s"' not in client.get(reverse("invitations:batch_detail", args=[batch.pk])).content.decode()
    )


def test_batch_pages_are_staff_only(manager, external_user):
    batch = InvitationBatch.objects.create(name="B", source="contacts", expires_in_days=7, created_by=manager)
    client = _client(external_user)
    assert client.get(reverse("invitations:batch_detail", args=[batch.pk])).status_code == 404
    assert client.get(reverse("invitations:batch_new")).status_code == 404
    assert client.post(reverse("invitations:batch_cancel", args=[batch.pk])).status_code == 404


def test_batch_recipient_page_costs_the_same_with_more_rows(manager, acme, django_assert_num_queries):
    batch = InvitationBatch.objects.create(name="B", source="contacts", expires_in_days=7, created_by=manager)
    client = _client(manager)
    url = reverse("invitations:batch_detail", args=[batch.pk])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    BatchRecipient.objects.create(batch=batch, email="first@acme-industries.com", account=acme)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    BatchRecipient.objects.bulk_create(
        [BatchRecipient(batch=batch, email=f"r{i}@acme-industries.com", account=acme) for i in range(40)]
    )
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_batch_list_costs_the_same_with_more_batches(manager, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(manager)
    url = reverse("invitations:batch_list")
    InvitationBatch.objects.create(name="B0", source="contacts", expires_in_days=7, created_by=manager)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(5):
        InvitationBatch.objects.create(name=f"B{i + 1}", source="contacts", expires_in_days=7, created_by=manager)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)
