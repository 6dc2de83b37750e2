"""Custom fields wherever built-in fields are: staff forms, record pages, history, the API and its schema."""

from __future__ import annotations

import pytest

from crm.models import Contact
from history.models import RecordChange
from tests.api.factories import Api, issue_key
from tests.factories import AccountFactory, ContactFactory, CustomFieldFactory, choices

pytestmark = pytest.mark.django_db


def _contact_form(contact: Contact, **custom) -> dict:
    data = {
        "account": contact.account_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "owner": contact.owner_id,
    }
    data.update({f"cf_{k}": v for k, v in custom.items()})
    return data


@pytest.mark.parametrize(
    ("kind", "extra", "bad", "message"),
    [
        ("text", {"regex": r"C-\d+"}, "X1", "Does not match"),
        ("number", {"max_value": 5}, "9", "5"),
        ("date", {}, "tomorrow", "date"),
        ("choice", {"choices": choices("gold", "silver")}, "bronze", "bronze"),
        ("url", {}, "no url", "URL"),
        ("email", {}, "nobody@", "email"),
    ],
)
def test_the_staff_form_shows_each_types_error_inline_and_saves_nothing(rep_client, kind, extra, bad, message):
    CustomFieldFactory(key="extra", label="Extra", type=kind, **extra)
    contact = ContactFactory()
    response = rep_client.post(f"/contacts/{contact.pk}/edit/", _contact_form(contact, extra=bad))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'name="cf_extra"' in response.content.decode()
    contact.refresh_from_db()
    assert contact.custom_fields == {}


def test_a_value_saved_in_the_form_shows_on_the_record_page_and_in_its_history(rep_client):
    CustomFieldFactory(key="tier_code", label="Tier code", type="choice", choices=choices("gold", "silver"))
    CustomFieldFactory(key="erp_number", label="ERP number", required=True)
    contact = ContactFactory()
    response = rep_client.post(
        f"/contacts/{contact.pk}/edit/", _contact_form(contact, tier_code="gold", erp_number="C-1001")
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.custom_fields == {"tier_code": "gold", "erp_number": "C-1001"}
    page = rep_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Tier code" in page
    assert "Gold" in page
    assert "C-1001" in page
    change = RecordChange.objects.filter(record_type="crm.contact", record_id=contact.pk).latest("id")
    assert change.changes["custom_fields.tier_code"] == {"old": None, "new": "gold"}
    history = rep_client.get(f"/contacts/{contact.pk}/history/").content.decode()
    assert "Tier code" in history
    assert "Gold" in history


def test_a_required_field_is_required_in_the_form(rep_client):
    CustomFieldFactory(key="erp_number", label="ERP number", required=True)
    contact = ContactFactory()
    response = rep_client.post(f"/contacts/{contact.pk}/edit/", _contact_form(contact))
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()


def test_the_api_reads_and_writes_custom_fields_with_validation(ops):
    CustomFieldFactory(key="segment", type="choice", choices=choices("smb", "enterprise"))
    CustomFieldFactory(key="seats", type="number", min_value=1)
    CustomFieldFactory(key="renewal", type="date")
    _key, raw = issue_key(["contacts:read", "contacts:write"], created_by=ops)
    api = Api(key=raw)
    account = AccountFactory()
    created = api.post(
        "/api/v1/contacts/",
        {"account": account.pk, "last_name": "Meyer", "custom_fields": {"segment": "smb", "seats": 3}},
    )
    assert created.status_code == 201, created.content
    assert created.json()["custom_fields"] == {"segment": "smb", "seats": 3, "renewal": None}
    pk = created.json()["id"]
    # A PATCH changes only the keys it sends.
    changed = api.patch(f"/api/v1/contacts/{pk}/", {"custom_fields": {"renewal": "2027-01-31"}})
    assert changed.status_code == 200, changed.content
    assert Contact.objects.get(pk=pk).custom_fields == {"segment": "smb", "seats": 3, "renewal": "2027-01-31"}
    refused = api.patch(f"/api/v1/contacts/{pk}/", {"custom_fields": {"seats": 0, "segment": "huge", "nope": 1}})
    assert refused.status_code == 400
    pointers = {e["pointer"] for e in refused.json()["errors"]}
    assert pointers == {"#/custom_fields/seats", "#/custom_fields/segment", "#/custom_fields/nope"}
    assert Contact.objects.get(pk=pk).custom_fields["seats"] == 3


def test_the_schema_lists_a_field_once_it_is_added(client):
    def contact_schema() -> dict:
        schema = client.get("/api/schema/?format=json").json()
        return schema["components"]["schemas"]["Contact"]["properties"]["custom_fields"]

    assert contact_schema()["properties"] == {}
    CustomFieldFactory(
        key="segment", label="Segment", type="choice", choices=choices("smb", "enterprise", retired=("enterprise",))
    )
    CustomFieldFactory(key="seats", type="number", min_value=1)
    described = contact_schema()["properties"]
    assert described["segment"]["enum"] == ["smb"]
    assert described["seats"] == {"type": "number", "minimum": 1.0, "nullable": True, "description": "Seats"}


def test_an_archived_field_leaves_the_api_but_keeps_its_values(ops):
    from customfields.services import custom_field_archive, custom_field_restore

    field = CustomFieldFactory(key="legacy_id")
    contact = ContactFactory(custom_fields={"legacy_id": "L-1"})
    api = Api(key=issue_key(["contacts:read"], created_by=ops)[1])
    assert api.get(f"/api/v1/contacts/{contact.pk}/").json()["custom_fields"] == {"legacy_id": "L-1"}
    custom_field_archive(actor=ops, field=field)
    assert api.get(f"/api/v1/contacts/{contact.pk}/").json()["custom_fields"] == {}
    custom_field_restore(actor=ops, field=field)
    assert api.get(f"/api/v1/contacts/{contact.pk}/").json()["custom_fields"] == {"legacy_id": "L-1"}


def test_webhook_payloads_carry_custom_fields():
    from webhooks.payloads import record_data

    contact = ContactFactory(custom_fields={"segment": "smb"})
    assert record_data(contact)["custom_fields"] == {"segment": "smb"}


def test_the_csv_export_hook_gives_a_column_per_active_field():
    from customfields.export import csv_columns

    CustomFieldFactory(key="tier", label="Tier", type="choice", choices=choices("gold"))
    CustomFieldFactory(key="langs", type="multi_choice", choices=choices("en", "de"))
    CustomFieldFactory(key="gone", archived_at="2026-01-01T00:00:00Z")
    contact = ContactFactory(custom_fields={"tier": "gold", "langs": ["en", "de"], "gone": "x"})
    columns = csv_columns("crm.contact")
    assert [c.header for c in columns] == ["tier", "langs"]
    assert [c.value(contact) for c in columns] == ["Gold", "En; De"]
