"""The self-service portal through the test client: personas, org admin actions, profile, audit, rate limits."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from crm.models import Contact
from iam.audit import audit_record
from iam.middleware import SESSION_ACCOUNT_KEY
from iam.models import AuditEvent, BusinessRole, Membership
from tests.factories import ContractFactory, ExternalUserFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _roles(membership: Membership) -> set[str]:
    return set(Membership.objects.get(pk=membership.pk).roles.values_list("key", flat=True))


@pytest.fixture
def admin():
    return MembershipFactory(roles=["org_admin", "buyer", "technical_contact"])


@pytest.fixture
def member(admin):
    return MembershipFactory(account=admin.account, roles=["buyer"])


@pytest.fixture
def outsider():
    return MembershipFactory(roles=["org_admin", "buyer"])


def _urls(member: Membership) -> dict[str, str]:
    return {
        "home": reverse("portal:home"),
        "profile": reverse("portal:profile"),
        "security": reverse("portal:security"),
        "org_members": reverse("portal:org_members"),
        "org_member": reverse("portal:org_member", args=[member.pk]),
        "org_audit": reverse("portal:org_audit"),
    }


ADMIN_ONLY = {"org_members", "org_member", "org_audit"}


# --- Personas ------------------------------------------------------------------------------------


def test_org_admin_opens_every_portal_page(admin, member):
    client = _client(admin.user)
    for name, url in _urls(member).items():
        assert client.get(url).status_code == 200, name


def test_member_opens_own_pages_but_not_the_organisation(member):
    client = _client(member.user)
    for name, url in _urls(member).items():
        response = client.get(url)
        if name in ADMIN_ONLY:
            assert response.status_code == 403, name
            assert "Only your organisation's administrators" in response.content.decode()
        else:
            assert response.status_code == 200, name


def test_outsider_never_sees_another_accounts_member(outsider, member):
    client = _client(outsider.user)
    response = client.get(reverse("portal:org_member", args=[member.pk]))
    assert response.status_code == 404
    listing = client.get(reverse("portal:org_members"))
    assert member.user.email.encode() not in listing.content


def test_staff_are_sent_to_the_crm_and_get_404_on_portal_pages(member):
    client = _client(StaffFactory())
    for name, url in _urls(member).items():
        response = client.get(url)
        if name == "home":
            assert response.status_code == 302
            assert response.url == reverse("home")
        else:
            assert response.status_code == 404, name


def test_anonymous_visitors_go_to_sign_in(member):
    client = Client()
    for name, url in _urls(member).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("account_login")), name


# --- Home and the organisation switcher ---------------------------------------------------------


def test_home_shows_organisation_roles_and_applications(admin):
    response = _client(admin.user).get(reverse("portal:home"))
    content = response.content.decode()
    assert admin.account.name in content
    assert "Organisation admin" in content
    assert "My organisation" in content


def test_member_home_has_no_admin_links(member):
    content = _client(member.user).get(reverse("portal:home")).content.decode()
    assert reverse("portal:org_members") not in content


def test_consultant_switches_between_accounts(admin):
    other = MembershipFactory(user=admin.user, roles=["buyer"])
    client = _client(admin.user)
    home = client.get(reverse("portal:home")).content.decode()
    assert other.account.name in home  # in the switcher
    response = client.post(reverse("portal:switch_account"), {"account": other.account_id})
    assert response.status_code == 302
    assert client.session[SESSION_ACCOUNT_KEY] == other.account_id
    # The other account's membership is a buyer only: no organisation pages there.
    assert client.get(reverse("portal:org_members")).status_code == 403


def test_switching_to_an_account_without_membership_is_ignored(admin, outsider):
    client = _client(admin.user)
    client.post(reverse("portal:switch_account"), {"account": outsider.account_id})
    assert SESSION_ACCOUNT_KEY not in client.session
    assert outsider.account.name not in client.get(reverse("portal:home")).content.decode()


# --- My organisation ----------------------------------------------------------------------------


def test_member_list_shows_status_roles_and_mfa_and_searches(admin, member):
    MembershipFactory(account=admin.account, roles=["buyer"], user=ExternalUserFactory(email="zed@far.example"))
    client = _client(admin.user)
    content = client.get(reverse("portal:org_members")).content.decode()
    assert member.user.email in content
    assert "zed@far.example" in content
    searched = client.get(reverse("portal:org_members"), {"q": "zed@"}).content.decode()
    assert "zed@far.example" in searched
    assert member.user.email not in searched


def test_member_list_query_count_does_not_grow_with_members(admin, django_assert_max_num_queries):
    client = _client(admin.user)
    client.get(reverse("portal:org_members"))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("portal:org_members"))
    for _ in range(8):
        MembershipFactory(account=admin.account, roles=["buyer", "billing_contact"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("portal:org_members"))


def test_org_admin_grants_a_delegable_role_they_hold(admin, member):
    role = BusinessRole.objects.get(key="technical_contact")
    response = _client(admin.user).post(
        reverse("portal:org_member_roles", args=[member.pk]),
        {"roles": [BusinessRole.objects.get(key="buyer").pk, role.pk]},
    )
    assert response.status_code == 302
    assert _roles(member) == {"buyer", "technical_contact"}
    assert AuditEvent.objects.filter(action="iam.membership.roles_changed", target_id=str(member.pk)).exists()


def test_org_admin_cannot_grant_org_admin(admin, member):
    before = AuditEvent.objects.count()
    response = _client(admin.user).post(
        reverse("portal:org_member_roles", args=[member.pk]),
        {"roles": [BusinessRole.objects.get(key=k).pk for k in ("buyer", "org_admin")]},
    )
    assert response.status_code == 400
    assert "You may not grant or take away: Organisation admin" in response.content.decode()
    assert _roles(member) == {"buyer"}
    assert not Membership.objects.get(pk=member.pk).is_org_admin
    assert AuditEvent.objects.count() == before


def test_org_admin_cannot_grant_a_role_they_do_not_hold(admin, member):
    response = _client(admin.user).post(
        reverse("portal:org_member_roles", args=[member.pk]),
        {"roles": [BusinessRole.objects.get(key=k).pk for k in ("buyer", "billing_contact")]},
    )
    assert response.status_code == 400
    assert _roles(member) == {"buyer"}


def test_roles_the_admin_may_not_change_are_kept_when_not_posted(admin):
    colleague = MembershipFactory(account=admin.account, roles=["org_admin", "buyer"])
    response = _client(admin.user).post(
        reverse("portal:org_member_roles", args=[colleague.pk]),
        {"roles": [BusinessRole.objects.get(key=k).pk for k in ("buyer", "technical_contact")]},
    )
    assert response.status_code == 302
    assert _roles(colleague) == {"org_admin", "buyer", "technical_contact"}


def test_plain_member_cannot_change_roles_or_status(admin, member):
    target = MembershipFactory(account=admin.account, roles=["buyer"])
    client = _client(member.user)
    buyer, org_admin = BusinessRole.objects.get(key="buyer"), BusinessRole.objects.get(key="org_admin")
    response = client.post(reverse("portal:org_member_roles", args=[member.pk]), {"roles": [buyer.pk, org_admin.pk]})
    assert response.status_code == 403
    for name in ("org_member_suspend", "org_member_remove"):
        assert client.post(reverse(f"portal:{name}", args=[target.pk])).status_code == 403
    assert _roles(member) == {"buyer"}
    assert Membership.objects.get(pk=target.pk).status == Membership.Status.ACTIVE


def test_last_admin_cannot_remove_or_suspend_themselves(admin):
    client = _client(admin.user)
    for name in ("org_member_remove", "org_member_suspend"):
        response = client.post(reverse(f"portal:{name}", args=[admin.pk]), follow=True)
        assert response.status_code == 200
        assert "You cannot" in response.content.decode()
    assert Membership.objects.get(pk=admin.pk).status == Membership.Status.ACTIVE


def test_last_admin_cannot_be_demoted_even_where_org_admin_is_delegable(admin):
    BusinessRole.objects.filter(key="org_admin").update(delegable=True)
    response = _client(admin.user).post(
        reverse("portal:org_member_roles", args=[admin.pk]), {"roles": [BusinessRole.objects.get(key="buyer").pk]}
    )
    assert response.status_code == 400
    assert "last active admin" in response.content.decode()
    assert Membership.objects.get(pk=admin.pk).is_org_admin


def test_org_admin_suspends_reactivates_and_removes_a_member(admin, member):
    client = _client(admin.user)
    client.post(reverse("portal:org_member_suspend", args=[member.pk]))
    member.refresh_from_db()
    assert (member.status, member.suspended_by) == (Membership.Status.SUSPENDED, "admin")
    client.post(reverse("portal:org_member_reactivate", args=[member.pk]))
    member.refresh_from_db()
    assert member.status == Membership.Status.ACTIVE
    response = client.post(reverse("portal:org_member_remove", args=[member.pk]), follow=True)
    member.refresh_from_db()
    assert member.status == Membership.Status.DEACTIVATED
    assert "was removed" in response.content.decode()
    actions = set(AuditEvent.objects.filter(target_id=str(member.pk)).values_list("action", flat=True))
    assert {"iam.membership.suspended", "iam.membership.reactivated", "iam.membership.removed"} <= actions


def test_org_admin_cannot_restore_a_removed_member(admin, member):
    client = _client(admin.user)
    client.post(reverse("portal:org_member_remove", args=[member.pk]))
    response = client.post(reverse("portal:org_member_reactivate", args=[member.pk]), follow=True)
    assert "Only staff can restore" in response.content.decode()
    assert Membership.objects.get(pk=member.pk).status == Membership.Status.DEACTIVATED


def test_status_changes_only_by_post(admin, member):
    assert _client(admin.user).get(reverse("portal:org_member_remove", args=[member.pk])).status_code == 405
    assert Membership.objects.get(pk=member.pk).status == Membership.Status.ACTIVE


# --- Audit trail --------------------------------------------------------------------------------


def test_audit_trail_shows_only_own_account_and_filters_by_action(admin, member, outsider):
    audit_record(actor=None, action="iam.membership.suspended", account=outsider.account, target=outsider)
    audit_record(actor=None, action="iam.membership.suspended", account=admin.account, target=member)
    client = _client(admin.user)
    content = client.get(reverse("portal:org_audit")).content.decode()
    assert member.user.email in content
    assert outsider.user.email not in content
    filtered = client.get(reverse("portal:org_audit"), {"action": "iam.membership.suspended"}).content.decode()
    rows = filtered.split("<tbody>", 1)[1]
    assert "User suspended" in rows  # the sentence, not the code (#15)
    assert "User added" not in rows


def test_audit_trail_pages_by_keyset(admin):
    for i in range(55):
        audit_record(actor=None, action="iam.membership.roles_changed", account=admin.account, data={"n": i})
    client = _client(admin.user)
    first = client.get(reverse("portal:org_audit"))
    page = first.context["page"]
    assert len(page.items) == 50
    assert page.next_cursor
    second = client.get(reverse("portal:org_audit"), {"cursor": page.next_cursor})
    seen = {e.pk for e in page.items}
    assert seen.isdisjoint({e.pk for e in second.context["page"].items})


# --- My profile ---------------------------------------------------------------------------------


def _profile_data(**overrides):
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "job_title": "Procurement lead",
        "phone": "+49 30 1234567",
        "consent_to_contact": "on",
    }
    data.update(overrides)
    return data


def test_profile_save_updates_contact_user_and_verification(member):
    response = _client(member.user).post(reverse("portal:profile"), _profile_data())
    assert response.status_code == 302
    contact = Contact.objects.get(pk=member.contact_id)
    assert (contact.first_name, contact.last_name, contact.job_title) == ("Grace", "Hopper", "Procurement lead")
    assert str(contact.phone) == "+49301234567"
    assert contact.consent_to_contact
    assert contact.consent_updated_at
    assert contact.verification_method == Contact.VerificationMethod.SELF_SERVICE
    assert contact.last_verified_at
    assert contact.verified_by_id == member.user_id
    member.user.refresh_from_db()
    assert member.user.get_full_name() == "Grace Hopper"
    event = AuditEvent.objects.get(action="iam.profile.updated")
    assert event.account_id == member.account_id
    assert "job_title" in event.data["changed"]


def test_profile_without_contact_creates_one_on_the_account(member):
    Membership.objects.filter(pk=member.pk).update(contact=None)
    Contact.objects.filter(pk=member.contact_id).delete()
    _client(member.user).post(reverse("portal:profile"), _profile_data())
    member.refresh_from_db()
    assert member.contact is not None
    assert member.contact.account_id == member.account_id
    assert member.contact.verification_method == Contact.VerificationMethod.SELF_SERVICE


def test_profile_with_bad_phone_changes_nothing(member):
    before = Contact.objects.get(pk=member.contact_id)
    response = _client(member.user).post(reverse("portal:profile"), _profile_data(phone="not a phone"))
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    after = Contact.objects.get(pk=member.contact_id)
    assert (after.first_name, after.verification_method) == (before.first_name, before.verification_method)
    assert not AuditEvent.objects.filter(action="iam.profile.updated").exists()


def test_profile_edits_the_contact_of_the_account_in_use(admin):
    second = MembershipFactory(user=admin.user, roles=["buyer"])
    client = _client(admin.user)
    client.post(reverse("portal:switch_account"), {"account": second.account_id})
    client.post(reverse("portal:profile"), _profile_data(job_title="Consultant"))
    assert Contact.objects.get(pk=second.contact_id).job_title == "Consultant"
    assert Contact.objects.get(pk=admin.contact_id).job_title != "Consultant"


def test_profile_update_service_refuses_someone_elses_membership(admin, member):
    from django.core.exceptions import PermissionDenied

    from iam.services import profile_update

    with pytest.raises(PermissionDenied):
        profile_update(actor=admin.user, membership=member, data={"job_title": "x"})


# --- Security, sign-in and rate limits ----------------------------------------------------------


def test_security_pages_render_in_the_portal_shell(member):
    client = _client(member.user)
    for name in ("account_change_password", "mfa_index", "usersessions_list", "account_email"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert 'Clientele <span class="portal-brand-sub">portal' in response.content.decode(), name


def test_staff_account_pages_keep_the_crm_shell():
    client = _client(StaffFactory())
    response = client.get(reverse("account_change_password"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "app-sidebar" in content
    assert "portal-brand-sub" not in content


def test_login_page_offers_a_sign_in_code_and_passkeys():
    content = Client().get(reverse("account_login")).content.decode()
    assert reverse("account_request_login_code") in content
    assert 'id="passkey_login"' in content


def test_failed_logins_for_one_email_are_rate_limited():
    cache.clear()
    user = ExternalUserFactory()
    MembershipFactory(user=user, account=ContractFactory().account)
    client = Client()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("account_login"), {"login": user.email, "password": "correct horse battery staple"})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()


def test_rate_limited_request_gets_the_styled_429_page(settings):
    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "1/m/ip"}
    client = Client()
    client.post(reverse("account_login"), {"login": "a@b.example", "password": "x"})
    response = client.post(reverse("account_login"), {"login": "a@b.example", "password": "x"})
    assert response.status_code == 429
    assert "Too many attempts, wait a few minutes" in response.content.decode()
    cache.clear()
