"""List pages: keyset paging, filters, search, and a query count that does not grow with the data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.listing import Sort, keyset_page
from crm.models import Contact
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    ("crm:contact_list", ContactFactory),
    ("crm:account_list", AccountFactory),
    ("crm:lead_list", LeadFactory),
    ("crm:opportunity_list", OpportunityFactory),
    ("crm:contract_list", ContractFactory),
    ("crm:activity_list", ActivityFactory),
]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("url_name", "factory"), LIST_PAGES)
def test_list_page_costs_the_same_queries_for_5_and_120_rows(rep_client, sales_rep, url_name, factory):
    owner = AccountFactory(owner=sales_rep).owner
    factory.create_batch(5)
    url = reverse(url_name)
    few = _queries(rep_client, url)
    few_filtered = _queries(rep_client, f"{url}?owner={owner.pk}&q=a")

    factory.create_batch(115)
    assert _queries(rep_client, url) == few
    assert _queries(rep_client, f"{url}?owner={owner.pk}&q=a") == few_filtered


@pytest.mark.parametrize(("url_name", "factory"), LIST_PAGES)
def test_external_user_gets_404_on_every_list(external_client, url_name, factory):
    factory()
    response = external_client.get(reverse(url_name))
    assert response.status_code == 404


@pytest.mark.parametrize(("url_name", "factory"), LIST_PAGES)
def test_anonymous_visitor_is_sent_to_sign_in(client, url_name, factory):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_home_sends_each_kind_of_user_to_their_place(client, rep_client, external_client):
    assert client.get("/")["Location"] == reverse("account_login")
    assert external_client.get("/")["Location"] == reverse("portal:home")
    assert rep_client.get("/").status_code == 200


def test_keyset_pages_walk_every_row_once_in_order_both_ways(settings):
    account = AccountFactory()
    for name in ["Zeta", "Alpha", "Mid", "Mid", "Beta", "Mid", "Omega"]:
        ContactFactory(account=account, last_name=name)
    expected = list(Contact.objects.order_by("last_name", "pk").values_list("pk", flat=True))
    sort = Sort("name", "Name", "last_name")

    seen, pages, cursor = [], [], None
    while True:
        page = keyset_page(Contact.objects.all(), sort=sort, cursor=cursor, page_size=2)
        pages.append(page)
        seen += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages[0].prev_cursor is None

    back = keyset_page(Contact.objects.all(), sort=sort, cursor=pages[-1].prev_cursor, page_size=2)
    assert [c.pk for c in back.items] == [c.pk for c in pages[-2].items]


def test_keyset_descending_sort_on_timestamps():
    contacts = ContactFactory.create_batch(5)
    sort = Sort("-created", "Newest", "created_at", descending=True)
    first = keyset_page(Contact.objects.all(), sort=sort, cursor=None, page_size=3)
    second = keyset_page(Contact.objects.all(), sort=sort, cursor=first.next_cursor, page_size=3)
    walked = [c.pk for c in first.items + second.items]
    assert walked == [c.pk for c in sorted(contacts, key=lambda c: (c.created_at, c.pk), reverse=True)]


def test_a_tampered_cursor_shows_the_first_page(rep_client):
    ContactFactory.create_batch(3)
    response = rep_client.get(reverse("crm:contact_list") + "?cursor=not-a-cursor!!")
    assert response.status_code == 200
    assert len(response.context["page"].items) == 3


def test_count_above_the_limit_is_shown_as_a_lower_bound(rep_client, settings):
    settings.CRM_COUNT_LIMIT = 3
    ContactFactory.create_batch(5)
    response = rep_client.get(reverse("crm:contact_list"))
    assert response.context["page"].count_display == "3+"
    response = rep_client.get(reverse("crm:contact_list") + "?sort=name&verification=never")
    assert response.context["page"].count_display == "3+"


def test_contact_search_finds_by_name_email_and_company(rep_client):
    acme = AccountFactory(name="Acme Corporation")
    carl = ContactFactory(account=acme, first_name="Carl", last_name="Fischer", email="cf@acme.example")
    other = ContactFactory(first_name="Dora", last_name="Explorer", email="dora@elsewhere.example")

    def found(q):
        return {c.pk for c in rep_client.get(reverse("crm:contact_list"), {"q": q}).context["page"].items}

    assert found("fisch") == {carl.pk}
    assert found("CF@ACME") == {carl.pk}
    assert found("acme corp") == {carl.pk}
    assert found("explorer") == {other.pk}


def test_owner_filter_shows_only_that_reps_contacts(rep_client, sales_rep, other_rep):
    mine = ContactFactory(owner=sales_rep)
    ContactFactory(owner=other_rep)
    response = rep_client.get(reverse("crm:contact_list"), {"owner": sales_rep.pk})
    assert [c.pk for c in response.context["page"].items] == [mine.pk]


def test_invalid_filter_value_shows_an_empty_list_not_an_error(rep_client):
    ContactFactory()
    response = rep_client.get(reverse("crm:contact_list"), {"owner": "not-a-number"})
    assert response.status_code == 200
    assert response.context["page"].items == []
