"""Tenant isolation in the portal: every URL that takes an id, walked with another account's ids."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from iam import urls as portal_urls
from iam.audit import audit_record
from iam.models import AuditEvent, BusinessRole, Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _id_routes() -> list[str]:
    """Names of every portal route with an id in its path: a new one is covered without editing this test."""
    names = [
        p.name
        for p in portal_urls.urlpatterns
        if isinstance(p, URLPattern) and "membership_pk" in p.pattern.regex.groupindex
    ]
    assert len(names) >= 5
    return names


def _snapshot(membership: Membership) -> tuple:
    m = Membership.objects.get(pk=membership.pk)
    return m.status, m.suspended_by, m.is_org_admin, sorted(m.roles.values_list("key", flat=True))


@pytest.fixture
def home_admin():
    return MembershipFactory(roles=["org_admin", "buyer", "technical_contact"])


@pytest.fixture
def foreign():
    """Another account with an admin and a member."""
    admin = MembershipFactory(roles=["org_admin", "buyer"])
    member = MembershipFactory(account=admin.account, roles=["buyer"])
    return admin, member


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_id_route_is_404_for_another_accounts_member(home_admin, foreign, method):
    client = Client()
    client.force_login(home_admin.user)
    buyer, tech = BusinessRole.objects.get(key="buyer"), BusinessRole.objects.get(key="technical_contact")
    events_before = AuditEvent.objects.count()
    for target in foreign:
        before = _snapshot(target)
        for name in _id_routes():
            url = reverse(f"portal:{name}", args=[target.pk])
            response = getattr(client, method)(url, {"roles": [buyer.pk, tech.pk]} if method == "post" else None)
            # GET on a POST-only route is refused before the lookup (405); anything else is a 404.
            assert response.status_code in ((404, 405) if method == "get" else (404,)), (name, response.status_code)
            if method == "post":
                assert response.status_code == 404, name
        assert _snapshot(target) == before
    assert AuditEvent.objects.count() == events_before


def test_missing_ids_are_the_same_404(home_admin):
    client = Client()
    client.force_login(home_admin.user)
    for name in _id_routes():
        assert client.post(reverse(f"portal:{name}", args=[987654321])).status_code == 404, name


def test_consultant_cannot_reach_members_of_the_other_account_in_use(home_admin, foreign):
    """Admin of A and buyer in B: with A in use, B's members are out of reach; with B in use, too."""
    _, foreign_member = foreign
    MembershipFactory(user=home_admin.user, account=foreign_member.account, roles=["buyer"])
    client = Client()
    client.force_login(home_admin.user)
    assert client.get(reverse("portal:org_member", args=[foreign_member.pk])).status_code == 404
    client.post(reverse("portal:switch_account"), {"account": foreign_member.account_id})
    assert client.get(reverse("portal:org_member", args=[foreign_member.pk])).status_code == 403
    assert client.post(reverse("portal:org_member_suspend", args=[foreign_member.pk])).status_code == 403
    assert Membership.objects.get(pk=foreign_member.pk).status == Membership.Status.ACTIVE


def test_lists_show_only_the_own_account(home_admin, foreign):
    _foreign_admin, foreign_member = foreign
    audit_record(actor=None, action="iam.membership.suspended", account=foreign_member.account, target=foreign_member)
    client = Client()
    client.force_login(home_admin.user)
    for url in (reverse("portal:org_members"), reverse("portal:org_audit"), reverse("portal:home")):
        content = client.get(url).content.decode()
        for other in foreign:
            assert other.user.email not in content, url
        assert foreign_member.account.name not in content, url
    searched = client.get(reverse("portal:org_members"), {"q": foreign_member.user.email})
    assert searched.context["members"] == []


def test_switching_into_a_foreign_account_is_ignored(home_admin, foreign):
    foreign_admin, _ = foreign
    client = Client()
    client.force_login(home_admin.user)
    client.post(reverse("portal:switch_account"), {"account": foreign_admin.account_id})
    content = client.get(reverse("portal:org_members")).content.decode()
    assert foreign_admin.user.email not in content
    assert home_admin.user.email in content
