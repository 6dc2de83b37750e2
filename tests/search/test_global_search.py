"""The top bar's search for everything: grouped, bounded, scoped to staff, constant in queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("search:search")


def _groups(response) -> dict[str, list[str]]:
    return {group.key: [hit.title for hit in group.hits] for group in response.context["result"].groups}


def test_one_term_finds_every_record_type_grouped(rep_client):
    acme = AccountFactory(name="Nordwind Trading")
    ContactFactory(account=acme, first_name="Carla", last_name="Nordwind")
    LeadFactory(first_name="Lea", last_name="Berg", company_name="Nordwind Logistics")
    OpportunityFactory(account=acme, name="Nordwind renewal 2027")
    ContractFactory(account=acme, number="NORDWIND-7")
    AccountFactory(name="Unrelated Oy")

    response = rep_client.get(URL, {"q": "nordwind"})

    assert response.status_code == 200
    assert _groups(response) == {
        "accounts": ["Nordwind Trading"],
        "contacts": ["Carla Nordwind"],
        "leads": ["Lea Berg"],
        "opportunities": ["Nordwind renewal 2027"],
        "contracts": ["NORDWIND-7"],
    }
    html = response.content.decode()
    assert "Unrelated" not in html
    assert f'href="{acme.get_absolute_url()}"' in html


def test_the_htmx_request_gets_the_fragment_and_a_visit_gets_a_page(rep_client):
    AccountFactory(name="Fragmented GmbH")
    fragment = rep_client.get(URL, {"q": "fragment"}, headers={"HX-Request": "true"}).content.decode()
    page = rep_client.get(URL, {"q": "fragment"}).content.decode()
    assert "Fragmented GmbH" in fragment
    assert "<html" not in fragment
    assert "Fragmented GmbH" in page
    assert "<html" in page


def test_a_full_name_finds_the_person(rep_client):
    ContactFactory(first_name="Anna", last_name="Smith")
    ContactFactory(first_name="Bert", last_name="Smith")
    assert _groups(rep_client.get(URL, {"q": "anna smith"}))["contacts"] == ["Anna Smith"]


def test_a_group_shows_five_and_links_to_its_list_for_the_rest(rep_client):
    for n in range(7):
        ContactFactory(first_name=f"P{n}", last_name="Jovanovic")
    response = rep_client.get(URL, {"q": "jovanovic"})
    contacts = next(g for g in response.context["result"].groups if g.key == "contacts")
    assert len(contacts.hits) == 5
    assert contacts.has_more
    assert f'href="{reverse("crm:contact_list")}?q=jovanovic"' in response.content.decode()


def test_a_short_term_asks_for_more_and_searches_nothing(rep_client):
    with CaptureQueriesContext(connection) as ctx:
        response = rep_client.get(URL, {"q": "ab"}, headers={"HX-Request": "true"})
    assert "at least 3 characters" in response.content.decode()
    assert not any("crm_" in q["sql"] for q in ctx.captured_queries)


def test_queries_are_the_same_for_one_match_or_many(rep_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert rep_client.get(URL, {"q": "kowalski"}).status_code == 200
        return len(ctx.captured_queries)

    rep_client.get(URL)  # the session's first request records it
    account = AccountFactory(name="Kowalski Holding")
    ContactFactory(account=account, last_name="Kowalski")
    one = queries()
    for _ in range(12):
        ContactFactory(account=AccountFactory(name="Kowalski Sp."), last_name="Kowalski")
        LeadFactory(last_name="Kowalski")
        OpportunityFactory(account=account, name="Kowalski deal")
        ContractFactory(account=account, number=f"KOWALSKI-{_}")
    assert queries() == one


def test_a_portal_user_gets_404(external_client):
    AccountFactory(name="Secret Industries")
    response = external_client.get(URL, {"q": "secret"})
    assert response.status_code == 404


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(URL, {"q": "secret"})
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_top_bar_searches_everything(rep_client):
    html = rep_client.get(reverse("crm:account_list")).content.decode()
    assert f'action="{URL}"' in html
    assert 'aria-keyshortcuts="Control+K /"' in html
