"""Bulk actions: previewed with what is skipped and why, then run exactly as previewed, through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Activity, Contact, Contract, Lead, Opportunity
from history.models import RecordChange
from iam.models import AuditEvent
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


def _bulk(client, resource: str, **data):
    return client.post(reverse("crm:bulk_action", args=[resource]), data)


def _confirm(client, resource: str, preview, **data):
    return _bulk(client, resource, **data, confirm="1", expected=preview.context["plan"].digest)


def test_change_owner_preview_counts_what_changes_and_what_is_skipped_then_runs_exactly_that(
    rep_client, sales_rep, other_rep
):
    already = ContactFactory(owner=other_rep)
    moving = [ContactFactory(owner=sales_rep) for _ in range(3)]
    ids = [c.pk for c in [already, *moving]]
    data = {"action": "owner", "scope": "selected", "ids": ids, "owner": other_rep.pk}

    preview = _bulk(rep_client, "contacts", **data)

    plan = preview.context["plan"]
    assert preview.status_code == 200
    assert sorted(o.pk for o in plan.changed) == sorted(c.pk for c in moving)
    assert [(o.pk, o.reason) for o in plan.skipped] == [(already.pk, f"already owned by {other_rep}")]
    assert "3</strong> contacts will get the new owner" in preview.content.decode()
    assert Contact.objects.filter(owner=other_rep).count() == 1  # the preview changed nothing
    assert not RecordChange.objects.filter(record_type="crm.contact").exists()

    response = _confirm(rep_client, "contacts", preview, **data)

    assert response.status_code == 302
    assert Contact.objects.filter(owner=other_rep).count() == 4
    changed = set(RecordChange.objects.filter(record_type="crm.contact").values_list("record_id", flat=True))
    assert changed == {o.pk for o in plan.changed}  # history of exactly the previewed records


def test_a_run_whose_records_changed_since_the_preview_does_nothing_and_shows_the_new_preview(
    rep_client, sales_rep, other_rep
):
    deals = [OpportunityFactory(stage="proposal", probability=50) for _ in range(2)]
    data = {"action": "stage", "scope": "selected", "ids": [d.pk for d in deals], "status": "won"}
    preview = _bulk(rep_client, "opportunities", **data)
    assert len(preview.context["plan"].changed) == 2
    Opportunity.objects.filter(pk=deals[0].pk).update(stage="won", probability=100)  # someone else, meanwhile

    response = _confirm(rep_client, "opportunities", preview, **data)

    assert response.status_code == 409
    assert "changed since you looked" in response.content.decode()
    assert Opportunity.objects.get(pk=deals[1].pk).stage == "proposal"
    assert [o.reason for o in response.context["plan"].skipped] == ["already in Closed won"]


def test_delete_previews_what_the_service_refuses_and_why(rep_client):
    portal = ContactFactory()
    MembershipFactory(contact=portal, account=portal.account)
    plain = ContactFactory()
    data = {"action": "delete", "scope": "selected", "ids": [portal.pk, plain.pk]}

    preview = _bulk(rep_client, "contacts", **data)

    plan = preview.context["plan"]
    assert [o.pk for o in plan.changed] == [plain.pk]
    assert plan.skipped[0].reason == "This contact is a portal user; remove their portal access first."
    _confirm(rep_client, "contacts", preview, **data)
    assert list(Contact.objects.filter(pk__in=[portal.pk, plain.pk]).values_list("pk", flat=True)) == [portal.pk]


def test_the_whole_filter_is_the_selection(rep_client, sales_rep):
    for _ in range(3):
        LeadFactory(status="new", last_name="Filtered")
    LeadFactory(status="working", last_name="Filtered")
    other = LeadFactory(status="new", last_name="Elsewhere")
    data = {"action": "status", "scope": "filter", "filters": "q=Filtered", "status": "working"}

    preview = _bulk(rep_client, "leads", **data)
    assert (len(preview.context["plan"].changed), len(preview.context["plan"].skipped)) == (3, 1)
    _confirm(rep_client, "leads", preview, **data)

    assert Lead.objects.filter(last_name="Filtered", status="working").count() == 4
    other.refresh_from_db()
    assert other.status == "new"


def test_add_a_task_to_each_ticked_account(rep_client, sales_rep):
    accounts = [AccountFactory() for _ in range(2)]
    data = {
        "action": "task",
        "scope": "selected",
        "ids": [a.pk for a in accounts],
        "subject": "Call about renewal",
        "due_date": "2027-01-15",
    }
    preview = _bulk(rep_client, "accounts", **data)
    _confirm(rep_client, "accounts", preview, **data)
    tasks = Activity.objects.filter(subject="Call about renewal")
    assert sorted(t.account_id for t in tasks) == sorted(a.pk for a in accounts)
    assert all(t.kind == "task" and not t.done and t.owner == sales_rep for t in tasks)


def test_contract_status_goes_through_the_contract_service(rep_client):
    contract = ContractFactory(status="active")
    data = {"action": "status", "scope": "selected", "ids": [contract.pk], "status": "terminated"}
    preview = _bulk(rep_client, "contracts", **data)
    _confirm(rep_client, "contracts", preview, **data)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.TERMINATED
    assert AuditEvent.objects.filter(action="crm.contract.status_changed", target_id=str(contract.pk)).exists()


def test_mark_done_skips_what_is_not_an_open_task(rep_client):
    task = ActivityFactory(kind="task", done=False)
    note = ActivityFactory(kind="note", done=True)
    data = {"action": "done", "scope": "selected", "ids": [task.pk, note.pk]}
    preview = _bulk(rep_client, "activities", **data)
    assert [o.reason for o in preview.context["plan"].skipped] == ["a note is not a task"]
    _confirm(rep_client, "activities", preview, **data)
    task.refresh_from_db()
    assert task.done


def test_a_missing_parameter_is_a_message_and_changes_nothing(rep_client, sales_rep):
    contact = ContactFactory(owner=sales_rep)
    response = _bulk(rep_client, "contacts", action="owner", scope="selected", ids=[contact.pk], follow=False)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.owner == sales_rep


def test_too_many_records_are_refused_with_advice(rep_client, monkeypatch):
    monkeypatch.setattr("crm.bulk.BULK_LIMIT", 2)
    for _ in range(3):
        ContactFactory()
    preview = _bulk(rep_client, "contacts", action="delete", scope="filter", filters="")
    assert preview.context["plan"].too_many == 3
    assert "Narrow the list" in preview.content.decode()
    assert Contact.objects.count() == 3


def test_portal_users_cannot_run_bulk_actions(external_client):
    contact = ContactFactory()
    response = _bulk(external_client, "contacts", action="delete", scope="selected", ids=[contact.pk])
    assert response.status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_every_list_shows_the_bulk_toolbar(rep_client):
    for name in ("account", "contact", "lead", "opportunity", "contract", "activity"):
        html = rep_client.get(reverse(f"crm:{name}_list")).content.decode()
        assert 'id="bulk-form"' in html, name


def test_another_users_ids_outside_scope_are_not_touched(rep_client):
    StaffFactory()
    response = _bulk(rep_client, "contacts", action="delete", scope="selected", ids=[999999])
    assert response.context["plan"].outcomes == []
