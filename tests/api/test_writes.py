"""Writes through the services: create, change, delete and actions; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
from unittest.mock import ANY

import pytest
from django.utils import timezone

from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from iam.models import AuditEvent, Membership
from tests.api.factories import Api, issue_key
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    ExternalUserFactory,
    LeadFactory,
    MembershipFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:clientele:problem:")
    return body


def _pointers(body: dict) -> set[str]:
    return {e["pointer"] for e in body["errors"]}


def _record_events():
    """Audit events of the records written (issuing the test's API key is audited too)."""
    return AuditEvent.objects.exclude(action__startswith="api.api_key.")


def test_create_a_contact_through_the_service(full_key, key_api):
    account = AccountFactory()
    response = key_api.post(
        "/api/v1/contacts/",
        {"account": account.pk, "first_name": "Anna", "last_name": "Berg", "email": "anna@acme.example"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get(pk=body["id"])
    assert contact.account == account
    assert contact.owner == account.owner  # the service's default
    assert response["Location"].endswith(f"/api/v1/contacts/{contact.pk}/")
    assert response["ETag"]
    assert not _record_events().exists()  # contacts are not audited; the API adds no event of its own


def test_the_services_audit_event_names_the_key_and_is_written_once(full_key, key_api):
    api_key, _raw = full_key
    account = AccountFactory()
    response = key_api.post(
        "/api/v1/contracts/",
        {
            "account": account.pk,
            "number": "C-2026-77",
            "start_date": "2026-01-01",
            "end_date": "2027-12-31",
            "status": "active",
        },
    )
    assert response.status_code == 201, response.content
    events = list(_record_events())
    assert [e.action for e in events] == ["crm.contract.status_changed"]
    event = events[0]
    assert event.actor_label == f"api-key:{api_key.name}"
    assert event.data["api_key"] == api_key.prefix
    assert event.actor == api_key.created_by
    assert event.target_id == str(response.json()["id"])
    assert event.account == account


def test_a_staff_session_writes_with_its_csrf_token(sales_rep):
    api = Api(user=sales_rep, csrf_checks=True)
    account = AccountFactory()
    refused = api.post("/api/v1/contacts/", {"account": account.pk, "last_name": "Berg"})
    _problem(refused, 403)
    assert "CSRF" in refused.json()["detail"]
    api.client.get("/api/docs/")
    token = api.client.cookies["csrftoken"].value
    ok = api.post("/api/v1/contacts/", {"account": account.pk, "last_name": "Berg"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201, ok.content
    assert Contact.objects.get().last_name == "Berg"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"last_name": "Berg", "nickname": "Bee"}, "#/nickname"),  # unknown field
        ({"last_name": "Berg", "id": 5}, "#/id"),  # read-only field
        ({"last_name": "Berg", "consent_to_contact": "perhaps"}, "#/consent_to_contact"),  # bad type
        ({"last_name": "Berg", "email": "not-an-email"}, "#/email"),
        ({"first_name": "Anna"}, "#/last_name"),  # required
        ({"last_name": "Berg", "phone": "12"}, "#/phone"),
    ],
)
def test_bad_input_is_a_problem_with_field_errors_and_creates_nothing(key_api, body, pointer):
    account = AccountFactory()
    response = key_api.post("/api/v1/contacts/", {"account": account.pk, **body})
    problem = _problem(response, 400)
    assert pointer in _pointers(problem)
    assert not Contact.objects.exists()
    assert not _record_events().exists()


def test_a_body_that_is_not_json_is_a_problem(key_api):
    response = key_api.client.post(
        "/api/v1/contacts/", data="{nope", content_type="application/json", **key_api.headers
    )
    _problem(response, 400)
    assert not Contact.objects.exists()


def test_an_account_out_of_the_keys_scope_cannot_be_referenced(ops):
    mine, theirs = AccountFactory(), AccountFactory()
    _key, raw = issue_key("contacts:write", accounts=[mine], created_by=ops)
    response = Api(key=raw).post("/api/v1/contacts/", {"account": theirs.pk, "last_name": "Berg"})
    assert "#/account" in _pointers(_problem(response, 400))
    assert not Contact.objects.exists()


def test_model_rules_from_the_service_are_field_errors(key_api):
    contract = ContractFactory()
    response = key_api.patch(
        f"/api/v1/contracts/{contract.pk}/", {"end_date": str(contract.start_date - dt.timedelta(days=1))}
    )
    _problem(response, 400)
    contract.refresh_from_db()
    assert contract.end_date > contract.start_date


def test_patch_changes_only_the_fields_sent(key_api):
    contact = ContactFactory(job_title="Buyer")
    response = key_api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "Head of purchasing"})
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert contact.job_title == "Head of purchasing"
    assert response.json()["first_name"] == contact.first_name


def test_stale_if_match_is_412_and_changes_nothing(key_api):
    contact = ContactFactory(job_title="Buyer")
    etag = key_api.get(f"/api/v1/contacts/{contact.pk}/")["ETag"]
    first = key_api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CFO"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert first["ETag"] != etag
    lost = key_api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CEO"}, headers={"If-Match": etag})
    _problem(lost, 412)
    contact.refresh_from_db()
    assert contact.job_title == "CFO"
    gone = key_api.delete(f"/api/v1/contacts/{contact.pk}/", headers={"If-Match": etag})
    _problem(gone, 412)
    assert Contact.objects.filter(pk=contact.pk).exists()
    fresh = key_api.get(f"/api/v1/contacts/{contact.pk}/")["ETag"]
    assert key_api.delete(f"/api/v1/contacts/{contact.pk}/", headers={"If-Match": fresh}).status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("if_match", ["", "3f2a", 'W/"a", b', "**"])
def test_an_if_match_that_is_no_etag_is_400_and_changes_nothing(key_api, if_match):
    contact = ContactFactory(job_title="Buyer")

    response = key_api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CFO"}, headers={"If-Match": if_match})

    problem = _problem(response, 400)
    assert problem["errors"][0]["pointer"] == "#/If-Match"
    contact.refresh_from_db()
    assert contact.job_title == "Buyer"
    assert key_api.delete(f"/api/v1/contacts/{contact.pk}/", headers={"If-Match": if_match}).status_code == 400
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_if_match_takes_a_list_of_etags_and_a_star(key_api):
    contact = ContactFactory(job_title="Buyer")
    etag = key_api.get(f"/api/v1/contacts/{contact.pk}/")["ETag"]

    listed = key_api.patch(
        f"/api/v1/contacts/{contact.pk}/", {"job_title": "CFO"}, headers={"If-Match": f'W/"old", {etag}'}
    )
    star = key_api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CEO"}, headers={"If-Match": "*"})

    assert (listed.status_code, star.status_code) == (200, 200)


def test_idempotency_key_replays_the_first_answer_and_creates_one_record(key_api):
    account = AccountFactory()
    body = {"account": account.pk, "last_name": "Berg"}
    first = key_api.post("/api/v1/contacts/", body, headers={"Idempotency-Key": "a1b2"})
    again = key_api.post("/api/v1/contacts/", body, headers={"Idempotency-Key": "a1b2"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1
    other = key_api.post("/api/v1/contacts/", {**body, "last_name": "Other"}, headers={"Idempotency-Key": "a1b2"})
    _problem(other, 422)
    assert Contact.objects.count() == 1
    # A new key is a new request: the same person again is a likely duplicate (409) unless forced.
    assert key_api.post("/api/v1/contacts/", body, headers={"Idempotency-Key": "c3d4"}).status_code == 409
    fresh = key_api.post("/api/v1/contacts/?force=true", body, headers={"Idempotency-Key": "e5f6"})
    assert fresh.status_code == 201
    assert Contact.objects.count() == 2


def test_idempotency_keys_belong_to_their_sender(ops, full_key, key_api):
    account = AccountFactory()
    body = {"account": account.pk, "last_name": "Berg"}
    assert key_api.post("/api/v1/contacts/", body, headers={"Idempotency-Key": "same"}).status_code == 201
    _other, raw = issue_key("contacts:write", created_by=ops)
    # Not a replay of the first key's answer: a new request (the same person again, so it must force).
    assert (
        Api(key=raw).post("/api/v1/contacts/?force=true", body, headers={"Idempotency-Key": "same"}).status_code == 201
    )
    assert Contact.objects.count() == 2


def test_a_failed_request_does_not_burn_its_idempotency_key(key_api):
    account = AccountFactory()
    bad = key_api.post("/api/v1/contacts/", {"account": account.pk}, headers={"Idempotency-Key": "k"})
    _problem(bad, 400)
    good = key_api.post("/api/v1/contacts/", {"account": account.pk}, headers={"Idempotency-Key": "k"})
    _problem(good, 400)  # same (still bad) request: evaluated again, not a 422
    fixed = key_api.post(
        "/api/v1/contacts/", {"account": account.pk, "last_name": "Berg"}, headers={"Idempotency-Key": "k"}
    )
    assert fixed.status_code == 201


def test_idempotent_actions_run_once(key_api):
    lead = LeadFactory()
    first = key_api.post(f"/api/v1/leads/{lead.pk}/convert/", {}, headers={"Idempotency-Key": "conv-1"})
    again = key_api.post(f"/api/v1/leads/{lead.pk}/convert/", {}, headers={"Idempotency-Key": "conv-1"})
    assert first.status_code == again.status_code == 200, first.content
    assert again.json() == first.json()
    assert Account.objects.count() == 1
    # Without the key, a second conversion is a business-rule conflict.
    _problem(key_api.post(f"/api/v1/leads/{lead.pk}/convert/", {}), 409)


def test_an_accounts_email_domains_are_an_audited_access_rule(key_api):
    """Registrants at these domains join the account automatically: who changed them is on record."""
    created = key_api.post("/api/v1/accounts/", {"name": "Initech", "domains": ["initech.example"]})
    account_id = created.json()["id"]
    changed = key_api.patch(f"/api/v1/accounts/{account_id}/", {"domains": ["initech.example", "INITROBOTS.example"]})
    assert changed.json()["domains"] == ["initech.example", "initrobots.example"]
    key_api.patch(f"/api/v1/accounts/{account_id}/", {"domains": ["initrobots.example", "initech.example"]})  # same
    key_api.patch(f"/api/v1/accounts/{account_id}/", {"name": "Initech Inc."})  # domains untouched

    events = AuditEvent.objects.filter(action="iam.account.domains_changed", account_id=account_id).order_by("id")
    assert [(e.data["added"], e.data["removed"]) for e in events] == [
        (["initech.example"], []),
        (["initrobots.example"], []),
    ]
    assert all(e.actor_label.startswith("api-key:") for e in events)
    removed = key_api.patch(f"/api/v1/accounts/{account_id}/", {"domains": []})
    assert removed.json()["domains"] == []
    assert events.last().data == {"added": [], "removed": ["initech.example", "initrobots.example"], "api_key": ANY}


def test_create_and_change_every_writable_resource(key_api):
    owner_account = AccountFactory()
    created = key_api.post("/api/v1/accounts/", {"name": "Initech", "domains": ["initech.example"]})
    assert created.status_code == 201, created.content
    assert created.json()["domains"] == ["initech.example"]
    assert created.json()["is_customer"] is False
    lead = key_api.post("/api/v1/leads/", {"last_name": "Lumbergh", "company_name": "Initech", "score": 40})
    assert lead.status_code == 201, lead.content
    opp = key_api.post(
        "/api/v1/opportunities/",
        {"account": owner_account.pk, "name": "Renewal", "expected_close_date": "2027-03-01", "amount": "1000.00"},
    )
    assert opp.status_code == 201, opp.content
    contract = key_api.post(
        "/api/v1/contracts/",
        {
            "account": owner_account.pk,
            "number": "C-API-1",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "status": "active",
        },
    )
    assert contract.status_code == 201, contract.content
    assert key_api.get(f"/api/v1/accounts/{owner_account.pk}/").json()["is_customer"] is True
    activity = key_api.post(
        "/api/v1/activities/",
        {"kind": "call", "subject": "Kick-off", "account": owner_account.pk, "occurred_at": "2026-11-30T10:00:00Z"},
    )
    assert activity.status_code == 201, activity.content
    assert activity.json()["occurred_at"].startswith("2026-11-30T10:00:00")
    done = key_api.patch(f"/api/v1/activities/{activity.json()['id']}/", {"done": False, "subject": "Kick-off call"})
    assert done.status_code == 200, done.content
    assert done.json()["done"] is False
    _problem(key_api.patch(f"/api/v1/activities/{activity.json()['id']}/", {"kind": "email"}), 400)
    assert key_api.patch(f"/api/v1/leads/{lead.json()['id']}/", {"status": "working"}).json()["status"] == "working"
    assert key_api.patch(f"/api/v1/opportunities/{opp.json()['id']}/", {"name": "Renewal 2027"}).status_code == 200
    assert Opportunity.objects.get().name == "Renewal 2027"
    assert key_api.delete(f"/api/v1/opportunities/{opp.json()['id']}/").status_code == 204
    assert key_api.delete(f"/api/v1/activities/{activity.json()['id']}/").status_code == 204
    assert key_api.delete(f"/api/v1/leads/{lead.json()['id']}/").status_code == 204
    assert not Opportunity.objects.exists()
    assert not Activity.objects.exists()
    assert not Lead.objects.exists()
    # The services audit what they audit (the contract's status); the API adds no event of its own.
    actions = set(_record_events().values_list("action", flat=True))
    assert "crm.contract.status_changed" in actions
    assert not {a for a in actions if a.startswith("api.")}


def test_accounts_and_contracts_are_not_deleted_through_the_api(key_api):
    contract = ContractFactory()
    for path in (f"/api/v1/accounts/{contract.account_id}/", f"/api/v1/contracts/{contract.pk}/"):
        _problem(key_api.delete(path), 405)
    assert Contract.objects.filter(pk=contract.pk).exists()


def test_a_converted_lead_is_not_deleted(key_api):
    lead = LeadFactory()
    key_api.post(f"/api/v1/leads/{lead.pk}/convert/", {"opportunity_name": "First order"})
    _problem(key_api.delete(f"/api/v1/leads/{lead.pk}/"), 409)
    assert Lead.objects.filter(pk=lead.pk, status="converted").exists()


def test_a_contract_ending_through_the_api_suspends_portal_access(key_api):
    membership = MembershipFactory()
    contract = membership.account.contracts.get()
    response = key_api.patch(f"/api/v1/contracts/{contract.pk}/", {"status": "terminated"})
    assert response.status_code == 200, response.content
    membership.refresh_from_db()
    assert membership.status == Membership.Status.SUSPENDED
    assert membership.suspended_by == "contract"
    event = AuditEvent.objects.get(action="iam.membership.suspended")
    assert event.actor_label.startswith("api-key:")  # the service's own event names the key too


def test_membership_lifecycle_through_services(key_api):
    admin = MembershipFactory(roles=["org_admin"])
    account = admin.account
    contact = ContactFactory(account=account, email="new.user@customer.example")
    created = key_api.post("/api/v1/memberships/", {"account": account.pk, "contact": contact.pk, "roles": ["buyer"]})
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["email"] == "new.user@customer.example"
    suspended = key_api.post(f"/api/v1/memberships/{pk}/suspend/")
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert key_api.post(f"/api/v1/memberships/{pk}/reactivate/").json()["status"] == "active"
    roles = key_api.patch(f"/api/v1/memberships/{pk}/", {"roles": ["buyer", "technical_contact"]})
    assert roles.status_code == 200, roles.content
    assert set(roles.json()["roles"]) == {"buyer", "technical_contact"}
    _problem(key_api.patch(f"/api/v1/memberships/{pk}/", {"account": AccountFactory().pk}), 400)
    assert key_api.delete(f"/api/v1/memberships/{pk}/").status_code == 204
    assert Membership.objects.get(pk=pk).status == Membership.Status.DEACTIVATED
    # The last org admin is protected by the service: a conflict, nothing changed.
    _problem(key_api.post(f"/api/v1/memberships/{admin.pk}/suspend/"), 409)
    admin.refresh_from_db()
    assert admin.status == Membership.Status.ACTIVE
    actions = list(AuditEvent.objects.filter(target_id=str(pk)).values_list("action", flat=True))
    assert actions.count("iam.membership.suspended") == 1  # the service's event, not an API duplicate
    assert not [a for a in actions if a.startswith("api.")]


def test_a_sales_rep_may_not_suspend_portal_users_of_accounts_they_do_not_own(rep_api):
    membership = MembershipFactory(user=ExternalUserFactory())
    response = rep_api.post(f"/api/v1/memberships/{membership.pk}/suspend/")
    _problem(response, 403)
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE


def test_a_key_acts_with_no_more_rights_than_its_creator(sales_rep):
    # A sales rep cannot create keys at all; a key made for them by ops still cannot suspend
    # portal users of accounts the rep does not own.
    from api.services import api_key_create

    with pytest.raises(Exception, match="operations"):
        api_key_create(actor=sales_rep, name="mine", scopes="memberships:write")
    membership = MembershipFactory()
    from api.models import ApiKey
    from api.scopes import parse_scopes

    key, raw = issue_key("memberships:write")
    ApiKey.objects.filter(pk=key.pk).update(created_by=sales_rep, scopes=parse_scopes("memberships:write"))
    _problem(Api(key=raw).post(f"/api/v1/memberships/{membership.pk}/suspend/"), 403)


def test_contact_verify_action(key_api):
    contact = ContactFactory()
    response = key_api.post(f"/api/v1/contacts/{contact.pk}/verify/")
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.last_verified_at is not None
    assert response.json()["freshness"] == "fresh"


def test_activity_on_a_contact_lands_on_its_account(key_api):
    contact = ContactFactory()
    response = key_api.post("/api/v1/activities/", {"kind": "note", "subject": "Met", "contact": contact.pk})
    assert response.status_code == 201, response.content
    assert response.json()["account"] == contact.account_id
    assert response.json()["done"] is True
    assert Activity.objects.get().occurred_at <= timezone.now()


def test_audit_events_are_read_only(key_api):
    event = AuditEvent.objects.create(action="iam.x.y")
    _problem(key_api.patch(f"/api/v1/audit-events/{event.pk}/", {"action": "z"}), 405)
    _problem(key_api.delete(f"/api/v1/audit-events/{event.pk}/"), 405)
    _problem(key_api.post("/api/v1/audit-events/", {}), 405)


def test_opportunity_won_rule_is_enforced(key_api):
    opp = OpportunityFactory()
    _problem(key_api.patch(f"/api/v1/opportunities/{opp.pk}/", {"stage": "won", "probability": 50}), 400)
    opp.refresh_from_db()
    assert opp.stage != "won"


def test_activity_needs_a_record(key_api):
    _problem(key_api.post("/api/v1/activities/", {"kind": "note", "subject": "Orphan"}), 400)
    assert not Activity.objects.exists()
    ActivityFactory()  # the factory's own account


def test_a_key_restricted_to_accounts_cannot_create_accounts(ops):
    from tests.factories import AccountFactory

    mine = AccountFactory(owner=ops)
    _key, raw = issue_key("accounts:write", accounts=[mine], created_by=ops)

    response = Api(key=raw).post("/api/v1/accounts/", {"name": "Somewhere Else GmbH", "country": "DE"})

    assert response.status_code == 403
    assert list(Account.objects.all()) == [mine]
    assert Api(key=raw).get(f"/api/v1/accounts/{mine.pk}/").status_code == 200


def test_a_text_longer_than_its_limit_is_refused_even_when_it_is_whitespace_at_the_edges(key_api):
    response = key_api.post("/api/v1/leads/", {"last_name": "Lang", "company_business_id": "\x1c" + "9" * 64})

    problem = _problem(response, 400)
    assert problem["errors"][0]["pointer"] == "#/company_business_id"
    assert not Lead.objects.filter(last_name="Lang").exists()
