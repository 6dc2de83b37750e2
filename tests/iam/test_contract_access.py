"""Access follows the contract: its end locks members out on their very next request."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.contracts import contracts_expire_due
from crm.models import Contract
from crm.services import contract_save
from iam import services
from iam.models import AuditEvent, Membership
from tests.factories import ContractFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    """A member with a real session that allauth's usersessions knows about."""
    client = Client()
    client.force_login(user)
    assert client.get(reverse("portal:home")).status_code == 200
    assert UserSession.objects.filter(user=user).exists()
    return client


def _is_refused(response) -> bool:
    """Sent to the no-access page, or to sign-in because the session was ended."""
    return response.status_code == 302 and (
        response.url.startswith(reverse("portal:no_access")) or response.url.startswith(reverse("account_login"))
    )


@pytest.fixture
def contract():
    return ContractFactory()


@pytest.fixture
def acme(contract):
    return contract.account


@pytest.fixture
def admin(acme):
    return MembershipFactory(account=acme, roles=["org_admin", "buyer"])


@pytest.fixture
def member(acme):
    return MembershipFactory(account=acme, roles=["buyer"])


def test_terminating_the_contract_refuses_the_next_request_and_ends_sessions(
    acme, contract, admin, member, django_capture_on_commit_callbacks
):
    client = _signed_in(member.user)
    contract.status = Contract.Status.TERMINATED
    with django_capture_on_commit_callbacks(execute=True):
        contract_save(actor=acme.owner, contract=contract)
    assert _is_refused(client.get(reverse("portal:home")))
    assert not UserSession.objects.filter(user=member.user).exists()
    member.refresh_from_db()
    assert member.status == Membership.Status.SUSPENDED
    assert member.suspended_by == Membership.SuspendedBy.CONTRACT
    event = AuditEvent.objects.get(action="iam.membership.suspended", target_id=str(member.pk))
    assert event.data == {"reason": "contract"}
    assert event.actor == acme.owner


def test_expiry_by_the_calendar_refuses_the_next_request_and_ends_sessions(
    acme, contract, member, django_capture_on_commit_callbacks
):
    client = _signed_in(member.user)
    Contract.objects.filter(pk=contract.pk).update(end_date=timezone.localdate() - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert contracts_expire_due() == 1
    assert _is_refused(client.get(reverse("portal:home")))
    assert not UserSession.objects.filter(user=member.user).exists()


def test_even_a_live_session_that_survived_is_refused_by_the_middleware(acme, contract, member):
    """Without the on-commit session purge (the test transaction never commits), access is still checked."""
    client = _signed_in(member.user)
    contract.status = Contract.Status.TERMINATED
    contract_save(actor=acme.owner, contract=contract)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("portal:no_access"))


def test_renewal_brings_back_contract_suspended_members_but_not_admin_suspended_ones(
    acme, contract, admin, member, django_capture_on_commit_callbacks
):
    suspended_by_admin = MembershipFactory(account=acme, roles=["buyer"])
    services.membership_suspend(actor=admin.user, membership=suspended_by_admin)
    contract.status = Contract.Status.TERMINATED
    with django_capture_on_commit_callbacks(execute=True):
        contract_save(actor=acme.owner, contract=contract)
    assert set(Membership.objects.filter(account=acme).values_list("status", "suspended_by")) == {
        ("suspended", "contract"),
        ("suspended", "admin"),
    }
    renewal = Contract(
        account=acme,
        number="C-RENEW-1",
        start_date=timezone.localdate(),
        end_date=timezone.localdate() + dt.timedelta(days=365),
        status=Contract.Status.ACTIVE,
        value=contract.value,
        owner=acme.owner,
    )
    with django_capture_on_commit_callbacks(execute=True):
        contract_save(actor=acme.owner, contract=renewal)
    for membership in (admin, member):
        membership.refresh_from_db()
        assert membership.status == Membership.Status.ACTIVE
        assert membership.suspended_by == ""
    suspended_by_admin.refresh_from_db()
    assert suspended_by_admin.status == Membership.Status.SUSPENDED
    assert suspended_by_admin.suspended_by == Membership.SuspendedBy.ADMIN
    assert _signed_in(member.user).get(reverse("portal:home")).status_code == 200
    client = Client()
    client.force_login(suspended_by_admin.user)
    assert _is_refused(client.get(reverse("portal:home")))


def test_lead_only_membership_keeps_access_without_a_contract(
    acme, contract, member, django_capture_on_commit_callbacks
):
    lead = MembershipFactory(account=acme, roles=["lead"])
    client = _signed_in(lead.user)
    contract.status = Contract.Status.TERMINATED
    with django_capture_on_commit_callbacks(execute=True):
        contract_save(actor=acme.owner, contract=contract)
    lead.refresh_from_db()
    assert lead.status == Membership.Status.ACTIVE
    assert client.get(reverse("portal:home")).status_code == 200
    assert UserSession.objects.filter(user=lead.user).exists()


def test_expiring_contracts_twice_changes_nothing_the_second_time(
    acme, contract, admin, member, django_capture_on_commit_callbacks
):
    Contract.objects.filter(pk=contract.pk).update(end_date=timezone.localdate() - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert contracts_expire_due() == 1
    events = AuditEvent.objects.count()
    statuses = list(Membership.objects.order_by("pk").values_list("status", "suspended_by", "status_changed_at"))
    assert events == 3  # the contract's status change, one suspension per member
    with django_capture_on_commit_callbacks(execute=True):
        assert contracts_expire_due() == 0
    assert AuditEvent.objects.count() == events
    assert (
        list(Membership.objects.order_by("pk").values_list("status", "suspended_by", "status_changed_at")) == statuses
    )
