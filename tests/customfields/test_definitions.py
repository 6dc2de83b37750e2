"""Operations define and change custom fields in the product; who may; what a change does to the values."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from core.errors import BusinessRuleViolation
from crm.models import Contact
from customfields.models import CustomField
from customfields.services import custom_field_create, custom_field_update
from iam.models import AuditEvent, User
from tests.factories import ContactFactory, CustomFieldFactory, StaffFactory, choices

pytestmark = pytest.mark.django_db


def test_ops_add_a_field_in_the_product_and_it_appears_on_the_record_form(ops_client, rep_client):
    response = ops_client.post(
        "/custom-fields/new/",
        {
            "model": "crm.contact",
            "label": "Preferred language",
            "type": "choice",
            "choices_text": "en = English\nde = German",
            "position": "",
            "portal_visibility": "editable",
            "filterable": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    field = CustomField.objects.get()
    assert (field.key, field.type, field.filterable) == ("preferred_language", "choice", True)
    assert [c["value"] for c in field.choices] == ["en", "de"]
    assert AuditEvent.objects.filter(action="customfields.custom_field.created").exists()
    CustomFieldFactory(key="second")
    listing = ops_client.get("/custom-fields/?model=crm.contact").content.decode()
    assert 'Contacts <span class="badge rounded-pill text-bg-light">2</span>' in listing
    assert "Preferred language" in listing
    assert "preferred_language" in listing
    form = rep_client.get("/contacts/new/").content.decode()
    assert 'name="cf_preferred_language"' in form
    assert "German" in form


def test_a_bad_definition_is_refused_with_a_form_error(ops_client):
    response = ops_client.post(
        "/custom-fields/new/",
        {"model": "crm.account", "label": "Tier", "type": "choice", "choices_text": "", "portal_visibility": "hidden"},
    )
    assert response.status_code == 200
    assert "at least one choice" in response.content.decode()
    response = ops_client.post(
        "/custom-fields/new/",
        {"model": "crm.account", "label": "Language", "type": "text", "portal_visibility": "editable"},
    )
    assert "Only contact fields" in response.content.decode()
    assert not CustomField.objects.exists()


def test_sales_reps_may_not_define_fields_and_managers_only_if_ops_allow(client, settings):
    rep = StaffFactory()
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    client.force_login(rep)
    assert client.get("/custom-fields/").status_code == 403
    with pytest.raises(PermissionDenied):
        custom_field_create(actor=rep, field=CustomField(model="crm.contact", key="x", label="X"))
    client.force_login(manager)
    assert client.get("/custom-fields/").status_code == 403
    settings.CUSTOMFIELDS_MANAGERS_MAY_DEFINE = True
    assert client.get("/custom-fields/").status_code == 200


def test_a_portal_user_cannot_reach_the_definitions(external_client):
    assert external_client.get("/custom-fields/").status_code == 404


def test_a_label_rename_keeps_the_values(ops):
    field = CustomFieldFactory(key="erp", label="ERP")
    contact = ContactFactory(custom_fields={"erp": "C-1"})
    custom_field_update(actor=ops, field=field, changes={"label": "ERP customer number"})
    field.refresh_from_db()
    assert field.label == "ERP customer number"
    contact.refresh_from_db()
    assert contact.custom_fields == {"erp": "C-1"}


def test_a_lossy_type_change_is_refused_with_a_count_and_changes_nothing(ops, ops_client):
    field = CustomFieldFactory(key="seats", label="Seats", type="text")
    ContactFactory(custom_fields={"seats": "12"})
    ContactFactory(custom_fields={"seats": "a dozen"})
    ContactFactory(custom_fields={"seats": "many"})
    with pytest.raises(BusinessRuleViolation, match="would lose 2 values"):
        custom_field_update(actor=ops, field=field, changes={}, new_type="number")
    field.refresh_from_db()
    assert field.type == "text"
    # In the product the refusal shows on the form.
    response = ops_client.post(
        f"/custom-fields/{field.pk}/edit/",
        {"label": "Seats", "type": "number", "position": 1, "portal_visibility": "hidden"},
    )
    assert response.status_code == 200
    assert "would lose 2 values" in response.content.decode()
    # (SQLite's JSON extraction reads "12" back as a number: compare as text.)
    assert sorted(str(v) for v in Contact.objects.values_list("custom_fields__seats", flat=True)) == [
        "12",
        "a dozen",
        "many",
    ]


def test_a_type_change_converts_what_converts(ops):
    field = CustomFieldFactory(key="seats", type="text")
    contact = ContactFactory(custom_fields={"seats": "12"})
    conversion = custom_field_update(actor=ops, field=field, changes={}, new_type="number")
    assert conversion is not None
    assert conversion.converted == 1
    contact.refresh_from_db()
    assert contact.custom_fields == {"seats": 12}
    custom_field_update(actor=ops, field=field, changes={}, new_type="text")
    contact.refresh_from_db()
    assert contact.custom_fields == {"seats": "12"}


def test_choices_are_edited_in_place_and_a_value_in_use_is_retired_not_removed(ops, rep_client):
    field = CustomFieldFactory(key="tier", type="choice", choices=choices("gold", "silver"))
    contact = ContactFactory(custom_fields={"tier": "silver"})
    with pytest.raises(Exception, match="Retire"):
        custom_field_update(actor=ops, field=field, changes={"choices": choices("gold")})
    custom_field_update(
        actor=ops,
        field=field,
        changes={
            "choices": [
                {"value": "gold", "label": "Gold tier", "retired": False},
                *choices("silver", retired=("silver",)),
            ]
        },
    )
    form = rep_client.get("/contacts/new/").content.decode()
    assert "Gold tier" in form
    assert ">Silver<" not in form
    page = rep_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Silver" in page  # kept on the record
    contact.refresh_from_db()
    assert contact.custom_fields == {"tier": "silver"}


def test_archive_restore_and_a_confirmed_purge(ops, ops_client):
    field = CustomFieldFactory(key="legacy", label="Legacy id")
    contact = ContactFactory(custom_fields={"legacy": "L-1", "other": 1})
    ops_client.post(f"/custom-fields/{field.pk}/archive/")
    field.refresh_from_db()
    assert field.archived_at is not None
    contact.refresh_from_db()
    assert contact.custom_fields["legacy"] == "L-1"  # archived: values kept
    ops_client.post(f"/custom-fields/{field.pk}/restore/")
    field.refresh_from_db()
    assert field.archived_at is None
    assert ops_client.get(f"/custom-fields/{field.pk}/purge/").status_code == 404  # only archived ones
    ops_client.post(f"/custom-fields/{field.pk}/archive/")
    page = ops_client.get(f"/custom-fields/{field.pk}/purge/")
    assert "1 record" in page.content.decode()
    refused = ops_client.post(f"/custom-fields/{field.pk}/purge/", {"confirm_key": "nope"})
    assert refused.status_code == 400
    assert CustomField.objects.filter(pk=field.pk).exists()
    purged = ops_client.post(f"/custom-fields/{field.pk}/purge/", {"confirm_key": "legacy"})
    assert purged.status_code == 302
    assert not CustomField.objects.filter(pk=field.pk).exists()
    contact.refresh_from_db()
    assert contact.custom_fields == {"other": 1}
    assert AuditEvent.objects.filter(action="customfields.custom_field.purged", data__records=1).exists()
