"""Which changes emit which events, with what data, and only once the change commits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from crm import services as crm_services
from crm.contracts import contracts_expire_due
from crm.models import Contract, Lead
from iam import services as iam_services
from iam.audit import WEBHOOK_EVENT_TYPES, audit_record
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    MembershipFactory,
    StaffFactory,
)
from tests.webhooks.factories import EndpointFactory
from webhooks import services
from webhooks.events import EVENT_TYPES
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(db):
    """Subscribed to everything; nothing is sent in these tests (callbacks are not run)."""
    return EndpointFactory()


def _payloads(event_type: str) -> list[dict]:
    return [e.payload for e in Event.objects.filter(type=event_type).order_by("pk")]


def test_a_rolled_back_change_emits_nothing(endpoint, receiver, django_capture_on_commit_callbacks):
    endpoint.url = receiver.url
    endpoint.save()
    rep = StaffFactory()
    contact = ContactFactory()

    recorded_inside = []

    def change_then_fail():
        with transaction.atomic():
            contact.job_title = "CTO"
            crm_services.contact_save(actor=rep, contact=contact)
            recorded_inside.append(Event.objects.filter(type="contact.updated").count())
            raise RuntimeError("the request failed after the save")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        change_then_fail()

    assert recorded_inside == [1]  # recorded inside the transaction...
    assert callbacks == []
    assert not Event.objects.exists()  # ...and gone with the rollback
    assert not Delivery.objects.exists()
    assert receiver.requests == []


def test_events_are_enqueued_only_at_commit(endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.webhook_emit("lead.created", data={"id": 1})
        assert Delivery.objects.get().state == Delivery.State.PENDING
        assert Delivery.objects.get().attempt_count == 0
    assert len(callbacks) == 1


def test_no_subscribed_endpoint_records_nothing(db):
    EndpointFactory(event_types=["lead.created"])
    EndpointFactory(is_active=False, disabled_at=timezone.now())

    assert services.webhook_emit("contact.created", data={"id": 1}) is None
    assert not Event.objects.exists()


def test_an_event_fans_out_to_every_subscribed_endpoint_in_two_inserts(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    wanted = [EndpointFactory(), EndpointFactory(event_types=["lead.created", "contact.created"]), EndpointFactory()]
    EndpointFactory(event_types=["contact.updated"])

    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(3):
        event = services.webhook_emit("lead.created", data={"id": 1})

    assert set(Delivery.objects.filter(event=event).values_list("endpoint_id", flat=True)) == {e.pk for e in wanted}


def test_unknown_event_types_are_a_programming_error(db):
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        services.webhook_emit("contact.exploded", data={})


def test_the_catalogue_covers_every_mapped_audit_action():
    assert set(WEBHOOK_EVENT_TYPES.values()) <= set(EVENT_TYPES)
    for required in [
        "contact.created", "contact.updated", "lead.created", "lead.registered", "lead.converted",
        "account.updated", "contract.activated", "contract.ended", "membership.created",
        "membership.suspended", "membership.reactivated", "invitation.sent", "invitation.accepted",
        "invitation.expired", "registration.submitted", "registration.approved", "registration.rejected",
    ]:  # fmt: skip
        assert required in EVENT_TYPES


# --- Audited identity and access changes -------------------------------------------------------


def test_an_admin_suspension_emits_membership_suspended_with_the_membership(endpoint):
    membership = MembershipFactory(roles=["buyer"])
    admin = StaffFactory(staff_role="operations")

    iam_services.membership_suspend(actor=admin, membership=membership)

    (payload,) = _payloads("membership.suspended")
    assert payload["type"] == "membership.suspended"
    assert payload["data"] == {
        "id": membership.pk,
        "account_id": membership.account_id,
        "user_id": membership.user_id,
        "email": membership.user.email,
        "contact_id": membership.contact_id,
        "status": "suspended",
        "suspended_by": "admin",
        "roles": ["buyer"],
        "reason": "admin",
        "updated_at": payload["data"]["updated_at"],
    }
    assert Event.objects.get(type="membership.suspended").account_id == membership.account_id


def test_a_contract_end_suspends_members_in_bulk_with_current_data(endpoint):
    contract = ContractFactory()
    members = [MembershipFactory(account=contract.account) for _ in range(3)]
    Contract.objects.filter(pk=contract.pk).update(end_date=timezone.localdate() - dt.timedelta(days=1))

    contracts_expire_due()

    suspended = _payloads("membership.suspended")
    assert sorted(p["data"]["id"] for p in suspended) == sorted(m.pk for m in members)
    assert {(p["data"]["status"], p["data"]["suspended_by"], p["data"]["reason"]) for p in suspended} == {
        ("suspended", "contract", "contract")
    }
    (ended,) = _payloads("contract.ended")
    assert ended["data"]["id"] == contract.pk
    assert ended["data"]["status"] == "expired"
    assert Delivery.objects.count() == 4


def test_reactivation_emits_membership_reactivated(endpoint):
    membership = MembershipFactory()
    admin = StaffFactory(staff_role="operations")
    iam_services.membership_suspend(actor=admin, membership=membership)

    iam_services.membership_reactivate(actor=admin, membership=membership)

    (payload,) = _payloads("membership.reactivated")
    assert payload["data"]["status"] == "active"


def test_membership_created_by_adding_a_portal_user(endpoint):
    contract = ContractFactory()
    contact = ContactFactory(account=contract.account, email="neu@customer.example")
    from iam.models import BusinessRole

    membership = iam_services.portal_user_add(
        actor=contract.account.owner,
        account=contract.account,
        contact=contact,
        roles=BusinessRole.objects.filter(key="buyer"),
    )

    (payload,) = _payloads("membership.created")
    assert payload["data"]["id"] == membership.pk
    assert payload["data"]["email"] == "neu@customer.example"


def test_audited_actions_of_other_apps_map_by_name_without_their_code_knowing(endpoint):
    """Invitations and registrations only audit; the mapping turns that into webhook events."""
    account = AccountFactory()
    invitation = ActivityFactory(account=account)  # any record without a payload builder

    audit_record(
        actor=None,
        action="invitations.invitation.expired",
        account=account,
        target=invitation,
        data={"email": "late@customer.example"},
    )
    audit_record(actor=None, action="invitations.invitation.revoked", account=account, target=invitation)

    (payload,) = _payloads("invitation.expired")
    assert payload["data"] == {"id": invitation.pk, "account_id": account.pk, "email": "late@customer.example"}
    assert Event.objects.count() == 1


def test_a_registered_lead_emits_lead_registered_with_the_lead(endpoint):
    lead = LeadFactory(status=Lead.Status.REGISTERED)

    audit_record(actor=None, action="crm.lead.registered", target=lead, data={"email": lead.email})

    (payload,) = _payloads("lead.registered")
    assert payload["data"]["id"] == lead.pk
    assert payload["data"]["status"] == "registered"


# --- CRM record changes ------------------------------------------------------------------------


def test_contact_save_emits_created_then_updated(endpoint):
    rep = StaffFactory()
    account = AccountFactory(owner=rep)
    contact = crm_services.contact_save(
        actor=rep, contact=ContactFactory.build(account=account, owner=rep, email="ada@acme.example")
    )
    contact.job_title = "Head of Purchasing"
    crm_services.contact_save(actor=rep, contact=contact)

    (created,) = _payloads("contact.created")
    (updated,) = _payloads("contact.updated")
    assert created["data"]["id"] == updated["data"]["id"] == contact.pk
    assert created["data"]["email"] == "ada@acme.example"
    assert updated["data"]["job_title"] == "Head of Purchasing"
    assert updated["data"]["account_id"] == account.pk


def test_lead_save_emits_lead_created_once(endpoint):
    rep = StaffFactory()
    lead = crm_services.lead_save(actor=rep, lead=LeadFactory.build(owner=rep))
    lead.score = 40
    crm_services.lead_save(actor=rep, lead=lead)

    (created,) = _payloads("lead.created")
    assert created["data"]["id"] == lead.pk
    assert Event.objects.count() == 1


def test_lead_conversion_emits_lead_converted_and_contact_created(endpoint):
    rep = StaffFactory()
    lead = LeadFactory(owner=rep)

    conversion = crm_services.lead_convert(actor=rep, lead=lead)

    (converted,) = _payloads("lead.converted")
    assert converted["data"]["status"] == "converted"
    assert converted["data"]["converted_account_id"] == conversion.account.pk
    assert converted["data"]["converted_contact_id"] == conversion.contact.pk
    (contact,) = _payloads("contact.created")
    assert contact["data"]["id"] == conversion.contact.pk


def test_account_save_emits_account_updated(endpoint):
    rep = StaffFactory()
    account = AccountFactory(owner=rep)
    account.name = "Acme Holding AG"

    crm_services.account_save(actor=rep, account=account)

    (payload,) = _payloads("account.updated")
    assert payload["data"]["name"] == "Acme Holding AG"
    assert Event.objects.get(type="account.updated").account_id == account.pk


def test_contract_activation_and_termination(endpoint):
    rep = StaffFactory()
    contract = ContractFactory(status=Contract.Status.DRAFT, account__owner=rep)

    contract.status = Contract.Status.ACTIVE
    crm_services.contract_save(actor=rep, contract=contract)
    contract.value = 1
    crm_services.contract_save(actor=rep, contract=contract)  # no status change: no event
    contract.status = Contract.Status.TERMINATED
    crm_services.contract_save(actor=rep, contract=contract)

    assert [p["data"]["status"] for p in _payloads("contract.activated")] == ["active"]
    assert [p["data"]["status"] for p in _payloads("contract.ended")] == ["terminated"]


def test_a_crm_write_with_no_endpoint_costs_one_small_query(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rep = StaffFactory()
    contact = ContactFactory(owner=rep)
    contact.job_title = "CFO"
    with CaptureQueriesContext(connection) as queries:
        crm_services.contact_save(actor=rep, contact=contact)

    webhook_queries = [q["sql"] for q in queries.captured_queries if "webhooks_" in q["sql"]]
    assert len(webhook_queries) == 1
    assert webhook_queries[0].startswith("SELECT")


def test_invitations_emit_sent_and_expired_through_the_audit_trail(endpoint, django_capture_on_commit_callbacks):
    from invitations import services as invitation_services
    from invitations.models import Invitation
    from tests.invitations.factories import roles

    account = ContractFactory(account__name="Acme Industries").account
    contact = ContactFactory(account=account, email="dana@acme-industries.com")
    with django_capture_on_commit_callbacks(execute=True):  # the email goes out after commit
        outcome = invitation_services.invitation_create(actor=account.owner, contact=contact, roles=roles("buyer"))
    invitation = outcome.invitation

    (sent,) = _payloads("invitation.sent")
    assert sent["data"]["id"] == invitation.pk
    assert sent["data"]["account_id"] == account.pk
    assert sent["data"]["status"] == "sent"

    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    invitation_services.invitations_expire_due()

    (expired,) = _payloads("invitation.expired")
    assert expired["data"]["id"] == invitation.pk
    assert expired["data"]["status"] == "expired"
    assert expired["data"]["email"] == "dana@acme-industries.com"
    assert "token" not in str(expired["data"])


def test_registrations_emit_submitted_and_rejected_through_the_audit_trail(endpoint):
    from registrations import services as registration_services
    from tests.registrations.factories import verified

    registration = verified()
    manager = StaffFactory(staff_role="sales_manager")

    registration_services.registration_reject(actor=manager, registration=registration, reason="Not a company.")

    (submitted,) = _payloads("registration.submitted")
    assert submitted["data"]["id"] == registration.pk
    assert submitted["data"]["email"] == registration.email
    (rejected,) = _payloads("registration.rejected")
    assert rejected["data"]["status"] == "rejected"
    assert rejected["data"]["reason"] == "Not a company."
