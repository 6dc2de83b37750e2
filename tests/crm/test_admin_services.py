"""Ops change CRM records in the Django admin exactly as the CRM does: through crm.services."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.idp.oidc.models import Token
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from crm.models import Account, AccountDomain, Activity, Contract, Lead
from iam.models import AuditEvent, Membership
from iam.oidc.services import application_account_choose, application_create
from tests.admin_forms import admin_form_data, inline_prefix
from tests.factories import (
    AccountFactory,
    ContractFactory,
    LeadFactory,
    MembershipFactory,
    StaffFactory,
)
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(db):
    return StaffFactory(email="ops.admin@clientele.example", is_superuser=True, staff_role="operations")


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _change(client, model: str, pk: int, **changes):
    page = client.get(reverse(f"admin:crm_{model}_change", args=[pk]))
    assert page.status_code == 200
    return client.post(page.wsgi_request.path, {**admin_form_data(page), **changes})


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _signed_in_to_an_application(ops, membership) -> Token:
    """A member signed in to one of our applications: a choice of account and a live refresh token."""
    application = application_create(
        actor=ops, key="orders", name="Orders", redirect_uris=["https://orders.example/callback"]
    ).application
    application_account_choose(actor=membership.user, application=application, membership=membership)
    return Token.objects.create(
        type=Token.Type.REFRESH_TOKEN, hash="refresh-hash", client=application.oidc_client, user=membership.user
    )


def test_ops_terminating_a_contract_in_the_admin_does_what_the_crm_does(ops_client, ops):
    contract = ContractFactory(account__name="Acme Corp")
    member = MembershipFactory(account=contract.account)
    token = _signed_in_to_an_application(ops, member)
    EndpointFactory(event_types=["contract.ended"])

    response = _change(ops_client, "contract", contract.pk, status=Contract.Status.TERMINATED)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    contract.refresh_from_db()
    assert contract.status == Contract.Status.TERMINATED
    event = AuditEvent.objects.get(action="crm.contract.status_changed")
    assert (event.actor, event.account, event.target_id) == (ops, contract.account, str(contract.pk))
    assert event.data == {"from": "active", "to": "terminated"}
    member.refresh_from_db()
    assert (member.status, member.suspended_by) == (Membership.Status.SUSPENDED, Membership.SuspendedBy.CONTRACT)
    assert AuditEvent.objects.filter(action="iam.membership.suspended", target_id=str(member.pk)).exists()
    assert not Token.objects.filter(pk=token.pk).exists()
    ended = Event.objects.get(type="contract.ended")
    assert ended.account_id == contract.account_id
    assert contract.number in ended.body


def test_a_refused_contract_change_shows_the_reason_and_changes_nothing(ops_client):
    contract = ContractFactory()
    other = ContractFactory()

    response = _change(ops_client, "contract", contract.pk, number=other.number)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    contract.refresh_from_db()
    assert contract.number != other.number
    assert not AuditEvent.objects.exists()


def test_an_active_contract_is_terminated_not_deleted(ops_client):
    contract = ContractFactory()
    url = reverse("admin:crm_contract_delete", args=[contract.pk])

    response = ops_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:crm_contract_change", args=[contract.pk])
    assert "Terminate it first" in " ".join(_messages(response))
    assert Contract.objects.filter(pk=contract.pk).exists()
    assert not AuditEvent.objects.exists()


def test_a_draft_contract_deleted_in_the_admin_is_audited(ops_client, ops):
    contract = ContractFactory(status=Contract.Status.DRAFT)

    response = ops_client.post(reverse("admin:crm_contract_delete", args=[contract.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Contract.objects.filter(pk=contract.pk).exists()
    event = AuditEvent.objects.get(action="crm.contract.deleted")
    assert (event.actor, event.data) == (ops, {"number": contract.number, "status": "draft"})


def test_an_account_and_its_domains_are_saved_as_one_change(ops_client, ops):
    account = AccountFactory(name="Globex Corporation")
    AccountDomain.objects.create(account=account, domain="globex.example")
    EndpointFactory(event_types=["account.updated"])
    page = ops_client.get(reverse("admin:crm_account_change", args=[account.pk]))
    data = admin_form_data(page)
    prefix = inline_prefix(page, AccountDomain)
    data.update(
        {
            f"{prefix}-0-DELETE": "on",
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-1-domain": "globex.example.com",
            f"{prefix}-1-account": str(account.pk),
            "require_mfa": "on",
        }
    )

    response = ops_client.post(page.wsgi_request.path, data)

    assert response.status_code == 302
    assert list(account.email_domains.values_list("domain", flat=True)) == ["globex.example.com"]
    assert AuditEvent.objects.get(action="iam.account.mfa_requirement_changed").actor == ops
    assert Event.objects.filter(type="account.updated", account=account).count() == 1


def test_an_account_with_portal_users_is_not_deleted(ops_client):
    member = MembershipFactory()
    account = member.account

    response = ops_client.post(reverse("admin:crm_account_delete", args=[account.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert "portal users" in " ".join(_messages(response))
    assert Account.objects.filter(pk=account.pk).exists()
    assert Membership.objects.filter(pk=member.pk).exists()


def test_an_account_deleted_in_the_admin_is_audited(ops_client, ops):
    account = AccountFactory(name="Duplicate of Initech")

    response = ops_client.post(reverse("admin:crm_account_delete", args=[account.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()
    event = AuditEvent.objects.get(action="crm.account.deleted")
    assert (event.actor, event.target_label, event.data["name"]) == (ops, "Duplicate of Initech", account.name)


def test_bulk_delete_keeps_every_lead_when_one_is_refused(ops_client):
    open_lead = LeadFactory()
    converted = LeadFactory(status=Lead.Status.CONVERTED, converted_at=timezone.now())

    response = ops_client.post(
        reverse("admin:crm_lead_changelist"),
        {"action": "delete_selected", "_selected_action": [open_lead.pk, converted.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert "stays as the history of its account" in " ".join(_messages(response))
    assert Lead.objects.filter(pk__in=[open_lead.pk, converted.pk]).count() == 2


def test_a_lead_cannot_be_marked_converted_by_hand(ops_client):
    lead = LeadFactory()

    response = _change(ops_client, "lead", lead.pk, status=Lead.Status.CONVERTED)

    assert response.status_code == 200
    assert "Convert the lead with the Convert button." in str(response.context["adminform"].form.errors)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_an_activity_logged_in_the_admin_is_authored_by_the_operator(ops_client, ops):
    account = AccountFactory()
    page = ops_client.get(reverse("admin:crm_activity_add"))
    data = admin_form_data(page)
    now = timezone.localtime()
    data.update(
        {
            "kind": Activity.Kind.NOTE,
            "subject": "  Cleaned up duplicates  ",
            "owner": str(account.owner.pk),
            "account": str(account.pk),
            "occurred_at_0": now.date().isoformat(),
            "occurred_at_1": (now - dt.timedelta(minutes=5)).strftime("%H:%M:%S"),
        }
    )

    response = ops_client.post(page.wsgi_request.path, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    activity = Activity.objects.get(account=account)
    assert (activity.author, activity.subject) == (ops, "Cleaned up duplicates")
    assert response["Location"] == reverse("admin:crm_activity_changelist")
