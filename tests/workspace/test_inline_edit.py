"""Inline editing: the record's own form validates, its service saves, and history records it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from history.models import RecordChange
from iam.models import AuditEvent
from tests.factories import ContactFactory, ContractFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def _url(record_type: str, pk: int, field: str) -> str:
    return reverse("crm:inline_edit", args=[record_type, pk, field])


def test_the_editor_shows_the_field_with_its_current_value(rep_client):
    contact = ContactFactory(job_title="Buyer")
    html = rep_client.get(_url("contact", contact.pk, "job_title"), {"edit": "1"}, headers=HX).content.decode()
    assert 'name="job_title"' in html
    assert 'value="Buyer"' in html
    assert "hx-post" in html


def test_saving_a_phone_goes_through_the_form_and_the_service_with_history(rep_client, sales_rep):
    contact = ContactFactory(phone="")
    response = rep_client.post(_url("contact", contact.pk, "phone"), {"phone": "+49 30 1234567"}, headers=HX)
    assert response.status_code == 200
    assert "+49 30 1234567" in response.content.decode()
    contact.refresh_from_db()
    assert str(contact.phone) == "+49301234567"
    change = RecordChange.objects.filter(record_type="crm.contact", record_id=contact.pk).latest("pk")
    assert set(change.changes) == {"phone"}
    assert change.actor == sales_rep


def test_a_bad_value_gets_the_forms_error_and_changes_nothing(rep_client):
    contact = ContactFactory(phone="")
    response = rep_client.post(_url("contact", contact.pk, "phone"), {"phone": "not a number"}, headers=HX)
    assert response.status_code == 422
    assert "invalid-feedback" in response.content.decode()
    contact.refresh_from_db()
    assert not contact.phone
    assert not RecordChange.objects.filter(record_type="crm.contact", record_id=contact.pk, kind="updated").exists()


def test_a_negative_amount_is_refused_as_on_the_edit_page(rep_client):
    deal = OpportunityFactory(amount=Decimal("1000"))
    response = rep_client.post(_url("opportunity", deal.pk, "amount"), {"amount": "-5"}, headers=HX)
    assert response.status_code == 422
    deal.refresh_from_db()
    assert deal.amount == Decimal("1000")


def test_the_stage_takes_its_probability_and_is_audited(rep_client):
    deal = OpportunityFactory(stage="proposal", probability=50)
    response = rep_client.post(_url("opportunity", deal.pk, "stage"), {"stage": "won"}, headers=HX)
    assert response.status_code == 200
    assert "Closed won" in response.content.decode()
    deal.refresh_from_db()
    assert (deal.stage, deal.probability) == ("won", 100)
    assert AuditEvent.objects.filter(action="crm.opportunity.stage_changed", target_id=str(deal.pk)).exists()


def test_close_date_and_owner_of_a_deal(rep_client, other_rep):
    deal = OpportunityFactory()
    rep_client.post(_url("opportunity", deal.pk, "expected_close_date"), {"expected_close_date": "2027-05-31"})
    rep_client.post(_url("opportunity", deal.pk, "owner"), {"owner": other_rep.pk})
    deal.refresh_from_db()
    assert deal.expected_close_date == dt.date(2027, 5, 31)
    assert deal.owner == other_rep


def test_a_converted_leads_status_stays(rep_client):
    from django.utils import timezone

    lead = LeadFactory(status="converted", converted_at=timezone.now())
    rep_client.post(_url("lead", lead.pk, "status"), {"status": "new"}, headers=HX)
    lead.refresh_from_db()
    assert lead.status == "converted"


def test_contract_status_goes_through_the_contract_service(rep_client):
    contract = ContractFactory(status="active")
    response = rep_client.post(_url("contract", contract.pk, "status"), {"status": "terminated"}, headers=HX)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="crm.contract.status_changed", target_id=str(contract.pk)).exists()


def test_only_the_common_fields_are_editable_in_place(rep_client):
    contact = ContactFactory()
    assert rep_client.post(_url("contact", contact.pk, "email"), {"email": "x@y.example"}).status_code == 404


def test_portal_users_get_404(external_client):
    contact = ContactFactory(job_title="Buyer")
    response = external_client.post(_url("contact", contact.pk, "job_title"), {"job_title": "Hacker"})
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.job_title == "Buyer"


def test_list_rows_and_record_pages_offer_the_pencil(rep_client):
    deal = OpportunityFactory()
    contact = ContactFactory()
    rows = rep_client.get(reverse("crm:opportunity_list")).content.decode()
    assert f'hx-get="{_url("opportunity", deal.pk, "stage")}?edit=1"' in rows
    page = rep_client.get(contact.get_absolute_url()).content.decode()
    assert f'hx-get="{_url("contact", contact.pk, "job_title")}?edit=1"' in page
