"""Record history: who changed which field of a CRM record from what to what, when and through what.

Every write path goes through a service; each test drives one channel the way a user would
(a form post, an API call, the portal, a job) and reads the history back as a user would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.context import Channel, acting_through
from crm.contracts import contracts_expire_due
from crm.decay import contacts_refresh_freshness
from crm.models import Activity, Contact, Contract, Lead, Opportunity
from crm.services import contact_save, contact_verify, lead_convert, opportunity_save
from history.models import RecordChange
from tests.api.factories import Api, issue_key
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    MembershipFactory,
    OpportunityFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def _history(record) -> list[RecordChange]:
    return list(RecordChange.objects.filter(record_type=record._meta.label_lower, record_id=record.pk))


def _opportunity_form(opportunity: Opportunity, **changes) -> dict:
    data = {
        "account": opportunity.account_id,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "amount": str(opportunity.amount),
        "currency": opportunity.currency,
        "expected_close_date": opportunity.expected_close_date.isoformat(),
        "probability": opportunity.probability,
        "owner": opportunity.owner_id,
    }
    return {**data, **changes}


# --- Through the browser ------------------------------------------------------------------------


def test_editing_in_the_browser_records_each_changed_field_old_and_new(rep_client, sales_rep):
    opportunity = OpportunityFactory(owner=sales_rep, amount=Decimal("12000.00"), stage=Opportunity.Stage.PROPOSAL)
    new_owner = StaffFactory(first_name="Nina", last_name="Newowner")
    close = opportunity.expected_close_date + dt.timedelta(days=10)
    response = rep_client.post(
        reverse("crm:opportunity_edit", args=[opportunity.pk]),
        _opportunity_form(
            opportunity,
            stage=Opportunity.Stage.NEGOTIATION,
            probability=75,
            amount="15000",
            expected_close_date=close.isoformat(),
            owner=new_owner.pk,
        ),
    )
    assert response.status_code == 302
    [change] = _history(opportunity)
    assert change.kind == RecordChange.Kind.UPDATED
    assert change.channel == Channel.UI
    assert change.actor == sales_rep
    assert change.actor_label == sales_rep.email
    assert change.credential == ""
    # Only what changed; decimals as strings, dates in ISO 8601, references as id + label.
    assert change.changes == {
        "stage": {"old": "proposal", "new": "negotiation"},
        "probability": {"old": 50, "new": 75},
        "amount": {"old": "12000.00", "new": "15000.00"},
        "expected_close_date": {"old": opportunity.expected_close_date.isoformat(), "new": close.isoformat()},
        "owner": {
            "old": {"id": sales_rep.pk, "label": "Alice Rep"},
            "new": {"id": new_owner.pk, "label": "Nina Newowner"},
        },
    }


def test_creating_in_the_browser_records_the_initial_values(rep_client, sales_rep):
    account = AccountFactory(owner=sales_rep, name="Acme Corporation")
    response = rep_client.post(
        reverse("crm:contact_create"),
        {"account": account.pk, "first_name": "Ada", "last_name": "Lovelace", "owner": sales_rep.pk},
    )
    assert response.status_code == 302
    contact = Contact.objects.get(last_name="Lovelace")
    [change] = _history(contact)
    assert change.kind == RecordChange.Kind.CREATED
    assert change.record_label == "Ada Lovelace"
    assert change.changes["account"] == {"old": None, "new": {"id": account.pk, "label": "Acme Corporation"}}
    assert change.changes["last_name"] == {"old": None, "new": "Lovelace"}
    assert "email" not in change.changes  # left empty: nothing to tell
    assert "freshness" not in change.changes  # derived by the system, not a change anyone made


def test_saving_a_record_unchanged_writes_no_history(rep_client, sales_rep):
    opportunity = OpportunityFactory(owner=sales_rep)
    response = rep_client.post(reverse("crm:opportunity_edit", args=[opportunity.pk]), _opportunity_form(opportunity))
    assert response.status_code == 302
    assert _history(opportunity) == []


def test_invalid_input_changes_nothing_and_records_nothing(rep_client, sales_rep):
    opportunity = OpportunityFactory(owner=sales_rep)
    response = rep_client.post(
        reverse("crm:opportunity_edit", args=[opportunity.pk]), _opportunity_form(opportunity, amount="-5")
    )
    assert response.status_code == 200
    assert _history(opportunity) == []


def test_logging_an_activity_and_ticking_it_off_are_recorded(rep_client, sales_rep):
    account = AccountFactory(owner=sales_rep)
    response = rep_client.post(
        reverse("crm:activity_create"),
        {
            "target_type": "account",
            "target_id": account.pk,
            "kind": "task",
            "subject": "Send the proposal",
            "due_at": (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    task = Activity.objects.get(subject="Send the proposal")
    rep_client.post(reverse("crm:activity_toggle_done", args=[task.pk]), {"done": "1"})
    done, created = _history(task)
    assert created.kind == RecordChange.Kind.CREATED
    assert created.changes["subject"] == {"old": None, "new": "Send the proposal"}
    assert created.changes["account"]["new"]["id"] == account.pk
    assert done.kind == RecordChange.Kind.UPDATED
    assert done.changes["done"] == {"old": False, "new": True}
    assert set(done.changes) == {"done", "done_at"}


def test_account_email_domains_are_part_of_its_history(rep_client, sales_rep):
    account = AccountFactory(owner=sales_rep)
    data = {
        "name": account.name,
        "business_id": account.business_id,
        "country": "DE",
        "website": account.website,
        "industry": account.industry,
        "tier": account.tier,
        "owner": sales_rep.pk,
        "email_domains": "acme.example, acme-group.example",
    }
    assert rep_client.post(reverse("crm:account_edit", args=[account.pk]), data).status_code == 302
    [change] = _history(account)
    assert change.changes == {"email_domains": {"old": [], "new": ["acme-group.example", "acme.example"]}}


# --- The History tab -------------------------------------------------------------------------------


def _changes(contact: Contact, actor, count: int) -> None:
    for i in range(count):
        contact.job_title = f"Title {i}"
        contact_save(actor=actor, contact=contact)


def test_history_tab_shows_newest_first_who_through_what_and_old_to_new(rep_client, sales_rep):
    contact = ContactFactory(owner=sales_rep, job_title="Buyer")
    contact.job_title = "Head of purchasing"
    with acting_through(Channel.UI):
        contact_save(actor=sales_rep, contact=contact)
    url = reverse("crm:contact_history", args=[contact.pk])

    detail = rep_client.get(contact.get_absolute_url()).content.decode()
    assert f'hx-get="{url}"' in detail  # the tab loads the history when first shown

    panel = rep_client.get(url, headers={"HX-Request": "true"})
    assert panel.status_code == 200
    html = panel.content.decode()
    assert 'id="history-panel"' in html
    assert "Job title" in html
    assert "Buyer" in html
    assert "Head of purchasing" in html
    assert sales_rep.email in html
    assert "CRM" in html

    page = rep_client.get(url)  # without JavaScript: a page of its own
    assert page.status_code == 200
    assert "<html" in page.content.decode()


def test_history_tab_pages_by_keyset(rep_client, sales_rep):
    contact = ContactFactory(owner=sales_rep)
    _changes(contact, sales_rep, 30)
    url = reverse("crm:contact_history", args=[contact.pk])
    first = rep_client.get(url, headers={"HX-Request": "true"})
    page = first.context["history"]
    assert [c.changes["job_title"]["new"] for c in page.items[:2]] == ["Title 29", "Title 28"]
    more = rep_client.get(f"{url}?cursor={page.next_cursor}", headers={"HX-Request": "true"})
    rest = more.context["history"].items
    assert [c.changes["job_title"]["new"] for c in rest][-1] == "Title 0"
    assert len(page.items) + len(rest) == 30  # the factory wrote the contact directly: no creation row
    assert "history-panel" not in more.content.decode()  # only the next items


def test_history_tab_costs_the_same_queries_with_3_and_30_changes(rep_client, sales_rep):
    few, many = ContactFactory(owner=sales_rep), ContactFactory(owner=sales_rep)
    _changes(few, sales_rep, 3)
    _changes(many, sales_rep, 30)
    counts = []
    for contact in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert rep_client.get(reverse("crm:contact_history", args=[contact.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_detail_pages_cost_no_more_queries_for_the_history_tab(rep_client, sales_rep):
    contact = ContactFactory(owner=sales_rep)
    with CaptureQueriesContext(connection) as before:
        rep_client.get(contact.get_absolute_url())
    _changes(contact, sales_rep, 10)
    with CaptureQueriesContext(connection) as after:
        rep_client.get(contact.get_absolute_url())
    assert len(after) == len(before)


@pytest.mark.parametrize("record_type", ["account", "contact", "lead", "opportunity", "contract"])
def test_every_record_page_has_a_history(rep_client, sales_rep, record_type):
    factory = {
        "account": AccountFactory,
        "contact": ContactFactory,
        "lead": LeadFactory,
        "opportunity": OpportunityFactory,
        "contract": ContractFactory,
    }[record_type]
    record = factory(owner=sales_rep)
    assert rep_client.get(reverse(f"crm:{record_type}_history", args=[record.pk])).status_code == 200
    assert rep_client.get(reverse(f"crm:{record_type}_history", args=[record.pk + 10_000])).status_code == 404


def test_outsiders_get_404_for_a_history(external_client, client, sales_rep):
    contact = ContactFactory(owner=sales_rep)
    url = reverse("crm:contact_history", args=[contact.pk])
    assert external_client.get(url).status_code == 404
    assert external_client.get(url, headers={"HX-Request": "true"}).status_code == 404
    assert client.get(url).status_code == 302  # anonymous: to sign-in


# --- Through the API ------------------------------------------------------------------------------


@pytest.fixture
def ops_key(db):
    return issue_key(["contacts:*", "opportunities:*", "activities:*", "accounts:*"], name="ERP sync")


def test_api_patch_records_the_key_and_the_api_channel(ops_key):
    api_key, secret = ops_key
    contact = ContactFactory(job_title="Buyer")
    response = Api(key=secret).patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "CFO"})
    assert response.status_code == 200
    [change] = _history(contact)
    assert change.channel == Channel.API
    assert change.credential == "api-key:ERP sync"
    assert change.credential_reference == {"api_key": api_key.prefix}
    assert change.actor_id == api_key.created_by_id
    assert change.changes == {"job_title": {"old": "Buyer", "new": "CFO"}}


def test_api_history_lists_changes_newest_first_in_pages(ops_key, sales_rep):
    _key, secret = ops_key
    api = Api(key=secret)
    created = api.post(
        "/api/v1/contacts/", {"account": AccountFactory().pk, "last_name": "Lovelace", "job_title": "Buyer"}
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    for title in ("Head of purchasing", "CFO"):
        assert api.patch(f"/api/v1/contacts/{pk}/", {"job_title": title}).status_code == 200

    first = api.get(f"/api/v1/contacts/{pk}/history/", {"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert [c["changes"]["job_title"]["new"] for c in body["results"]] == ["CFO", "Head of purchasing"]
    newest = body["results"][0]
    assert newest["kind"] == "updated"
    assert newest["channel"] == "api"
    assert newest["credential"] == "api-key:ERP sync"
    assert newest["changes"] == {"job_title": {"old": "Head of purchasing", "new": "CFO"}}
    assert body["previous"] is None
    assert body["next"]

    second = api.get(body["next"].split("testserver", 1)[1]).json()
    assert [c["kind"] for c in second["results"]] == ["created"]
    assert second["results"][0]["changes"]["last_name"] == {"old": None, "new": "Lovelace"}
    assert second["next"] is None


def test_api_history_rejects_an_unknown_ordering_and_ignores_list_filters(ops_key):
    _key, secret = ops_key
    contact = ContactFactory()
    api = Api(key=secret)
    assert api.get(f"/api/v1/contacts/{contact.pk}/history/", {"ordering": "name"}).status_code == 400
    assert api.get(f"/api/v1/contacts/{contact.pk}/history/", {"ordering": "-changed"}).status_code == 200
    # A list filter is about lists: it does not hide the record whose history is asked for.
    assert api.get(f"/api/v1/contacts/{contact.pk}/history/", {"owner": contact.owner_id + 1}).status_code == 200


def test_api_history_of_a_record_out_of_scope_is_the_same_404_as_a_missing_one(ops_key):
    mine, theirs = AccountFactory(), AccountFactory()
    contact = ContactFactory(account=theirs)
    _key, secret = issue_key(["contacts:read"], accounts=[mine])
    api = Api(key=secret)
    out_of_scope = api.get(f"/api/v1/contacts/{contact.pk}/history/")
    missing = api.get(f"/api/v1/contacts/{contact.pk + 10_000}/history/")
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.json()["detail"] == missing.json()["detail"]
    # Reading history needs the resource's read scope.
    _key, opportunities_only = issue_key(["opportunities:read"])
    assert Api(key=opportunities_only).get(f"/api/v1/contacts/{contact.pk}/history/").status_code == 403


def test_api_history_costs_the_same_queries_with_3_and_30_changes(ops_key, sales_rep):
    _key, secret = ops_key
    api = Api(key=secret)
    few, many = ContactFactory(owner=sales_rep), ContactFactory(owner=sales_rep)
    _changes(few, sales_rep, 3)
    _changes(many, sales_rep, 30)
    api.get(f"/api/v1/contacts/{few.pk}/")  # the key's first use is recorded once
    counts = []
    for contact in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/v1/contacts/{contact.pk}/history/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_api_delete_records_the_last_values_of_the_record_and_what_goes_with_it(ops_key):
    _key, secret = ops_key
    opportunity = OpportunityFactory(name="Big deal")
    call = ActivityFactory(account=opportunity.account, opportunity=opportunity, subject="Kick-off")
    response = Api(key=secret).delete(f"/api/v1/opportunities/{opportunity.pk}/")
    assert response.status_code == 204
    [gone] = _history(opportunity)
    assert gone.kind == RecordChange.Kind.DELETED
    assert gone.changes["name"] == {"old": "Big deal", "new": None}
    [call_gone] = _history(call)
    assert call_gone.kind == RecordChange.Kind.DELETED
    assert call_gone.changes["subject"] == {"old": "Kick-off", "new": None}
    # The history of a deleted record stays, but the API answers for records that exist.
    assert Api(key=secret).get(f"/api/v1/opportunities/{opportunity.pk}/history/").status_code == 404


def test_api_activity_create_records_history(ops_key):
    _key, secret = ops_key
    account = AccountFactory()
    response = Api(key=secret).post("/api/v1/activities/", {"kind": "call", "subject": "Intro", "account": account.pk})
    assert response.status_code == 201
    [change] = _history(Activity.objects.get(pk=response.json()["id"]))
    assert (change.kind, change.channel) == (RecordChange.Kind.CREATED, Channel.API)


def test_the_schema_documents_history_on_every_record_resource(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for resource in ("accounts", "contacts", "leads", "opportunities", "contracts", "activities"):
        operation = paths[f"/api/v1/{resource}/{{id}}/history/"]["get"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "PaginatedRecordChangeList"
        )
        assert "404" in operation["responses"]
        ordering = next(p for p in operation["parameters"] if p["name"] == "ordering")
        assert ordering["schema"]["enum"] == ["-changed"]


# --- The portal, jobs and other services -------------------------------------------------------------


def test_portal_profile_edit_records_old_and_new_through_the_portal():
    member = MembershipFactory(roles=["buyer"])
    contact = member.contact
    contact.job_title = "Buyer"
    contact.save()
    client = Client()
    client.force_login(member.user)
    response = client.post(
        reverse("portal:profile"),
        {"first_name": contact.first_name, "last_name": contact.last_name, "job_title": "Procurement lead"},
    )
    assert response.status_code == 302
    changes = _history(contact)
    assert {c.channel for c in changes} == {Channel.PORTAL}
    assert {c.actor_id for c in changes} == {member.user_id}
    edit = next(c for c in changes if "job_title" in c.changes)
    assert edit.changes["job_title"] == {"old": "Buyer", "new": "Procurement lead"}
    verified = next(c for c in changes if "verification_method" in c.changes)
    assert verified.changes["verification_method"]["new"] == Contact.VerificationMethod.SELF_SERVICE


def test_decay_recompute_writes_no_history():
    rep = StaffFactory()
    contact = ContactFactory(owner=rep)
    contact_verify(actor=rep, contact=contact)
    rows = RecordChange.objects.count()
    with time_machine.travel(timezone.now() + dt.timedelta(days=3 * 365), tick=False):
        assert contacts_refresh_freshness() == 0  # derived at read time: nothing to rewrite
        assert Contact.objects.get(pk=contact.pk).freshness == "stale"
    assert RecordChange.objects.count() == rows


def test_contract_expiry_job_records_one_row_per_contract_ended_as_the_job():
    ended = ContractFactory(end_date=timezone.localdate() - dt.timedelta(days=1))
    running = ContractFactory()
    with acting_through(Channel.JOB, job="crm.contracts_expire_due"):
        assert contracts_expire_due() == 1
    [change] = _history(ended)
    assert change.changes == {"status": {"old": Contract.Status.ACTIVE, "new": Contract.Status.EXPIRED}}
    assert (change.channel, change.job, change.actor_label) == (Channel.JOB, "crm.contracts_expire_due", "system")
    assert _history(running) == []
    with acting_through(Channel.JOB, job="crm.contracts_expire_due"):
        assert contracts_expire_due() == 0
    assert len(_history(ended)) == 1


def test_lead_conversion_records_every_record_it_creates_and_changes():
    rep = StaffFactory()
    lead = LeadFactory(owner=rep, status=Lead.Status.QUALIFIED)
    met = ActivityFactory(lead=lead, account=None, author=rep, subject="Met at the fair")
    result = lead_convert(actor=rep, lead=lead, opportunity_name="First order")
    assert [c.kind for c in _history(result.account)] == [RecordChange.Kind.CREATED]
    assert [c.kind for c in _history(result.contact)] == [RecordChange.Kind.CREATED]
    assert [c.kind for c in _history(result.opportunity)] == [RecordChange.Kind.CREATED]
    [converted] = _history(lead)
    assert converted.changes["status"] == {"old": "qualified", "new": "converted"}
    assert converted.changes["converted_account"]["new"] == {"id": result.account.pk, "label": result.account.name}
    [moved] = _history(met)  # moved onto the account's and contact's timelines
    assert moved.changes["account"] == {"old": None, "new": {"id": result.account.pk, "label": result.account.name}}


def test_a_save_adds_at_most_two_queries_for_history():
    rep = StaffFactory()
    opportunity = OpportunityFactory(owner=rep)
    opportunity.name = "Renamed"
    with CaptureQueriesContext(connection) as queries:
        opportunity_save(actor=rep, opportunity=opportunity)
    writes = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # The stored row (locked), the validation's lookups, the UPDATE, and the history INSERT.
    assert sum("history_recordchange" in sql for sql in writes) == 1
    assert sum(sql.startswith("SELECT") and '"crm_opportunity"' in sql for sql in writes) <= 1


def test_history_is_append_only():
    rep = StaffFactory()
    contact = ContactFactory(owner=rep)
    contact.job_title = "CFO"
    contact_save(actor=rep, contact=contact)
    [change] = _history(contact)
    with pytest.raises(ValueError, match="append-only"):
        change.save()
    with pytest.raises(ValueError, match="append-only"):
        change.delete()


def test_admin_change_records_history_through_the_admin(client):
    ops = StaffFactory(is_superuser=True)
    client.force_login(ops)
    opportunity = OpportunityFactory()
    data = _opportunity_form(opportunity, name="Renamed in the admin")
    client.post(reverse("admin:crm_opportunity_change", args=[opportunity.pk]), data)
    [change] = _history(opportunity)
    assert change.channel == Channel.ADMIN
    assert change.changes["name"]["new"] == "Renamed in the admin"


def test_history_is_read_only_in_the_admin(client):
    ops = StaffFactory(is_superuser=True)
    contact = ContactFactory(owner=ops)
    contact.job_title = "CFO"
    contact_save(actor=ops, contact=contact)
    [change] = _history(contact)
    client.force_login(ops)
    changelist = client.get(reverse("admin:history_recordchange_changelist"))
    assert changelist.status_code == 200
    assert contact.full_name in changelist.content.decode()
    assert client.get(reverse("admin:history_recordchange_add")).status_code == 403
    assert (
        client.post(reverse("admin:history_recordchange_delete", args=[change.pk]), {"post": "yes"}).status_code == 403
    )
    assert _history(contact) == [change]
