"""Contacts' custom fields in the portal: editable ones flow back with history, hidden ones never show."""

from __future__ import annotations

import pytest
from django.test import Client

from history.models import RecordChange
from tests.factories import ContactFactory, CustomFieldFactory, MembershipFactory, choices

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    membership = MembershipFactory(roles=["org_admin", "buyer"])
    contact = membership.contact
    contact.custom_fields = {"language": "de", "credit_limit": "50000.00", "segment": "Named"}
    contact.save()
    return membership


@pytest.fixture
def portal(member) -> Client:
    client = Client()
    client.force_login(member.user)
    client.get("/healthz")
    return client


@pytest.fixture
def fields(db):
    CustomFieldFactory(
        key="language",
        label="Preferred language",
        type="choice",
        choices=choices("en", "de"),
        portal_visibility="editable",
    )
    CustomFieldFactory(key="segment", label="Segment", portal_visibility="visible")
    CustomFieldFactory(key="credit_limit", label="Credit limit", type="money")  # hidden from the portal


def _profile_post(member, **extra) -> dict:
    contact = member.contact
    return {"first_name": contact.first_name, "last_name": contact.last_name, "job_title": "", "phone": "", **extra}


def test_a_portal_editable_field_flows_back_into_the_crm_with_history(portal, member, fields):
    page = portal.get("/portal/profile/").content.decode()
    assert 'name="cf_language"' in page
    assert "Segment" in page
    assert "Named" in page
    assert 'name="cf_segment"' not in page
    response = portal.post("/portal/profile/", _profile_post(member, cf_language="en"))
    assert response.status_code == 302
    contact = member.contact
    contact.refresh_from_db()
    assert contact.custom_fields == {"language": "en", "credit_limit": "50000.00", "segment": "Named"}
    change = RecordChange.objects.filter(
        record_type="crm.contact", record_id=contact.pk, channel="portal", changes__has_key="custom_fields.language"
    ).first()
    assert change is not None
    assert change.changes["custom_fields.language"] == {"old": "de", "new": "en"}


def test_a_bad_value_is_a_form_error_and_changes_nothing(portal, member, fields):
    response = portal.post("/portal/profile/", _profile_post(member, cf_language="xx"))
    assert response.status_code == 200
    member.contact.refresh_from_db()
    assert member.contact.custom_fields["language"] == "de"


def test_a_hidden_field_never_appears_in_the_portal(portal, member, fields):
    for path in ("/portal/", "/portal/profile/", "/portal/organisation/"):
        response = portal.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "Credit limit" not in body, path
        assert "50000" not in body, path
    # A crafted post cannot write it either: it is not a field of the form, and the service refuses it.
    portal.post("/portal/profile/", _profile_post(member, cf_credit_limit="1.00"))
    member.contact.refresh_from_db()
    assert member.contact.custom_fields["credit_limit"] == "50000.00"
    from django.core.exceptions import ValidationError

    from iam.services import profile_update

    with pytest.raises(ValidationError, match="Unknown field"):
        profile_update(actor=member.user, membership=member, data={"custom_fields": {"credit_limit": "1"}})
    # The portal user gets nothing of the staff API either.
    assert portal.get(f"/api/v1/contacts/{member.contact_id}/").status_code in (401, 403, 404)


def test_nothing_of_a_custom_field_leaks_across_accounts(fields):
    mine = MembershipFactory(roles=["org_admin", "buyer"])
    theirs = ContactFactory(custom_fields={"language": "en", "segment": "Theirs-Segment"})
    client = Client()
    client.force_login(mine.user)
    for path in ("/portal/", "/portal/profile/", "/portal/organisation/"):
        assert "Theirs-Segment" not in client.get(path).content.decode()
    assert client.get(f"/contacts/{theirs.pk}/").status_code == 404
    from iam.services import profile_update

    profile_update(actor=mine.user, membership=mine, data={"custom_fields": {"language": "de"}})
    theirs.refresh_from_db()
    assert theirs.custom_fields["language"] == "en"
