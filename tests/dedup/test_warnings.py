"""Warnings before a save (UI and API), the duplicate finder, and deleting from the UI."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Contact, Lead
from dedup.finder import duplicates_scan
from dedup.models import DuplicatePair
from tests.factories import AccountFactory, ContactFactory, LeadFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def existing(db):
    return ContactFactory(first_name="Maija", last_name="Virtanen", email="maija@acme.example")


def _form(existing, **overrides):
    data = {
        "account": existing.account_id,
        "first_name": "M.",
        "last_name": "Someone",
        "email": "MAIJA@acme.example",
        "owner": existing.owner_id,
    }
    data.update(overrides)
    return data


def test_creating_a_contact_with_an_existing_email_warns_before_saving(rep_client, existing):
    response = rep_client.post(reverse("crm:contact_create"), _form(existing))
    assert response.status_code == 409
    page = response.content.decode()
    assert "This looks like a record you already have" in page
    assert existing.get_absolute_url() in page
    assert "same email maija@acme.example" in page
    assert Contact.objects.count() == 1
    response = rep_client.post(reverse("crm:contact_create"), {**_form(existing), "save_anyway": "1"})
    assert response.status_code == 302
    assert Contact.objects.count() == 2


def test_a_similar_name_at_the_same_account_warns(rep_client, existing):
    response = rep_client.post(
        reverse("crm:contact_create"), _form(existing, first_name="Maija", last_name="Virtanen", email="")
    )
    assert response.status_code == 409
    assert "similar name" in response.content.decode()


def test_editing_without_changing_who_it_is_does_not_warn(rep_client, existing):
    ContactFactory(account=existing.account, email=existing.email)  # an old duplicate nobody merged yet
    data = _form(existing, first_name="Maija", last_name="Virtanen", email=existing.email, job_title="CTO")
    response = rep_client.post(reverse("crm:contact_edit", args=[existing.pk]), data)
    assert response.status_code == 302


def test_api_answers_409_problem_unless_forced(rep_api, existing):
    body = {"account": existing.account_id, "last_name": "Someone", "email": "maija@acme.example"}
    response = rep_api.post("/api/v1/contacts/", body)
    assert response.status_code == 409
    problem = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert problem["errors"][0]["id"] == existing.pk
    assert problem["errors"][0]["code"] == "possible_duplicate"
    assert "?force=true" in problem["detail"]
    assert rep_api.post("/api/v1/contacts/?force=true", body).status_code == 201


def test_api_lead_duplicate_is_409(rep_api):
    lead = LeadFactory(email="pia@prospect.example")
    response = rep_api.post("/api/v1/leads/", {"last_name": "Puu", "email": "PIA@prospect.example"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["id"] == lead.pk


def test_finder_finds_pairs_and_remembers_not_a_duplicate(rep_client, sales_rep):
    account = AccountFactory()
    a = ContactFactory(account=account, first_name="Ann", last_name="Able", email="ann@x.example")
    b = ContactFactory(account=account, first_name="Ann", last_name="Able", email="ANN@x.example")
    ContactFactory(account=account, first_name="Zed", last_name="Other")
    assert duplicates_scan("crm.contact") == 1
    pair = DuplicatePair.objects.get()
    assert (pair.first_id, pair.second_id) == (a.pk, b.pk)
    assert pair.score == 1.0
    assert any("same email" in r for r in pair.reasons)
    assert any("name" in r for r in pair.reasons)
    page = rep_client.get(reverse("dedup:finder_type", args=["contacts"])).content.decode()
    assert "Compare &amp; merge" in page
    assert "same email ann@x.example" in page
    rep_client.post(reverse("dedup:dismiss", args=[pair.pk]))
    assert duplicates_scan("crm.contact") == 0
    pair.refresh_from_db()
    assert pair.status == "dismissed"
    assert "No possible duplicates" in rep_client.get(reverse("dedup:finder_type", args=["contacts"])).content.decode()


def test_finder_page_query_count_does_not_grow(rep_client, django_assert_max_num_queries):
    account = AccountFactory()
    for i in range(6):
        ContactFactory(account=account, email=f"same{i // 2}@x.example")
    duplicates_scan("crm.contact")
    with django_assert_max_num_queries(12):
        response = rep_client.get(reverse("dedup:finder_type", args=["contacts"]))
    assert response.status_code == 200


def test_leads_and_accounts_finder():
    LeadFactory(email="same@p.example"), LeadFactory(email="same@p.example")
    AccountFactory(name="Globex Oy"), AccountFactory(name="GLOBEX OY")
    assert duplicates_scan("crm.lead") == 1
    assert duplicates_scan("crm.account") == 1


def test_delete_from_the_ui_and_its_refusals(rep_client):
    contact = ContactFactory()
    response = rep_client.post(reverse("crm:contact_delete", args=[contact.pk]))
    assert response.url == reverse("crm:contact_list")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    portal = MembershipFactory().contact
    response = rep_client.post(reverse("crm:contact_delete", args=[portal.pk]), follow=True)
    assert "remove their portal access first" in response.content.decode()
    assert Contact.objects.filter(pk=portal.pk).exists()
    lead = LeadFactory()
    rep_client.post(reverse("crm:lead_delete", args=[lead.pk]))
    assert not Lead.objects.filter(pk=lead.pk).exists()
    account = AccountFactory()
    response = rep_client.post(reverse("crm:account_delete", args=[account.pk]), follow=True)
    assert "Only operations may delete accounts" in response.content.decode()


def test_outsider_cannot_delete(external_client):
    contact = ContactFactory()
    assert external_client.post(reverse("crm:contact_delete", args=[contact.pk])).status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()
