"""Contact search paged as a search (``listing.as_search``), and the admin's estimated count.

The search finds its page through a different query on PostgreSQL (trigram conditions on the
contact table, the page taken from the matches' sort keys) than on SQLite; on both it must
show exactly the rows of a plain ``icontains`` over first name, last name, email and company,
in the order of every sort, forwards and backwards, with the same count.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.admin import EstimatedCountPaginator
from crm.models import Contact
from crm.views import CONTACT_LIST
from tests.factories import AccountFactory, StaffFactory

pytestmark = pytest.mark.django_db

FIRST = ["Anna", "Bob", "Carla", "Dragan", "Eve", "Zoran"]
LAST = ["Jovanovic", "Jovanovich", "Smith", "Smithers", "Lee", "O_Brien", "Globexson", "Ivanov"]
TERMS = ["jovanovic", "JOVANOVIC", "smith", "globex", "lee", "o_b", "van", "@acme", "nobody", "100%"]


@pytest.fixture
def contacts(db):
    """300 contacts over 4 accounts: repeated surnames (ties broken by id), shared timestamps."""
    owner = StaffFactory()
    accounts = [
        AccountFactory(name=name, owner=owner) for name in ("Globex Corp", "Acme Ltd", "Initech AG", "Smith & Sons")
    ]
    rows = []
    for n, (first, last) in enumerate(itertools.islice(itertools.cycle(itertools.product(FIRST, LAST)), 300)):
        domain = ["acme.example", "globex.example", "mail.example"][n % 3]
        rows.append(
            Contact(
                account=accounts[n % len(accounts)],
                owner=owner,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}{n}@{domain}".lower() if n % 7 else "",
            )
        )
    Contact.objects.bulk_create(rows)
    # Few distinct timestamps, so the "Recently updated" and "Newest" pages split inside ties.
    base = timezone.now() - dt.timedelta(days=30)
    for n, pk in enumerate(Contact.objects.order_by("pk").values_list("pk", flat=True)):
        Contact.objects.filter(pk=pk).update(
            created_at=base + dt.timedelta(hours=n % 5), updated_at=base + dt.timedelta(hours=n % 11)
        )
    return owner


def _plain(term: str) -> Q:
    return (
        Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
        | Q(email__icontains=term)
        | Q(account__name__icontains=term)
    )


def _walk(client, params: dict) -> tuple[list[int], list[int], str]:
    """Every page forwards (ids in order), then back from the last page; and the count shown."""
    url = reverse("crm:contact_list")
    forward, pages, cursor = [], [], None
    while True:
        response = client.get(url, {**params, **({"cursor": cursor} if cursor else {})})
        page = response.context["page"]
        pages.append(page)
        forward += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backward, cursor = [c.pk for c in pages[-1].items], pages[-1].prev_cursor
    while cursor:
        page = client.get(url, {**params, "cursor": cursor}).context["page"]
        backward = [c.pk for c in page.items] + backward
        cursor = page.prev_cursor
    return forward, backward, pages[0].count_display


@pytest.mark.parametrize("sort", CONTACT_LIST.sorts, ids=lambda s: s.key)
def test_search_pages_show_exactly_the_plain_icontains_rows_in_sort_order(rep_client, contacts, settings, sort):
    settings.CRM_PAGE_SIZE = 15
    prefix = "-" if sort.descending else ""
    for term in TERMS:
        expected = list(
            Contact.objects.filter(_plain(term))
            .order_by(f"{prefix}{sort.field}", f"{prefix}pk")
            .values_list("pk", flat=True)
        )
        forward, backward, count = _walk(rep_client, {"q": term, "sort": sort.key})
        assert forward == expected, term
        assert backward == expected, term
        assert count == f"{len(expected):,}", term


def test_a_full_name_finds_the_person_too(rep_client, contacts):
    expected = set(
        Contact.objects.filter(
            _plain("anna smith") | Q(first_name__icontains="anna", last_name__icontains="smith")
        ).values_list("pk", flat=True)
    )
    forward, _backward, _count = _walk(rep_client, {"q": "Anna Smith"})
    assert set(forward) == expected
    assert expected
    assert all(Contact.objects.get(pk=pk).first_name == "Anna" for pk in forward)


def test_a_search_with_more_matches_than_the_count_limit_pages_within_the_first_matches(rep_client, contacts, settings):
    """A wide search is sorted and paged within a bounded set of its matches, and says so."""
    settings.CRM_PAGE_SIZE = 9
    settings.CRM_COUNT_LIMIT = 20
    matching = set(Contact.objects.filter(_plain("smith")).values_list("pk", flat=True))
    assert len(matching) > 20
    forward, backward, count = _walk(rep_client, {"q": "smith"})
    assert count == "20+"
    assert len(forward) == 21  # the count limit + 1 matches, each once
    assert set(forward) <= matching
    keys = {c.pk: (c.last_name, c.pk) for c in Contact.objects.filter(pk__in=forward)}
    assert forward == sorted(forward, key=keys.__getitem__)
    assert backward == forward
    response = rep_client.get(reverse("crm:contact_list"), {"q": "smith"})
    assert "Add a word to the search to narrow it" in response.content.decode()


def test_search_with_another_filter_keeps_both(rep_client, contacts, settings):
    other = StaffFactory()
    Contact.objects.filter(pk__in=Contact.objects.filter(last_name="Smith").order_by("pk").values("pk")[:5]).update(
        owner=other
    )
    forward, _backward, count = _walk(rep_client, {"q": "smith", "owner": other.pk})
    assert set(forward) == set(Contact.objects.filter(_plain("smith"), owner=other).values_list("pk", flat=True))
    assert count == "5"


def test_search_costs_the_same_queries_narrow_or_wide(rep_client, contacts, settings):
    def queries(term):
        with CaptureQueriesContext(connection) as ctx:
            assert rep_client.get(reverse("crm:contact_list"), {"q": term}).status_code == 200
        return len(ctx.captured_queries)

    rep_client.get(reverse("crm:contact_list"))  # the session's first request records it
    with CaptureQueriesContext(connection) as ctx:
        rep_client.get(reverse("crm:contact_list"), {"q": "jovanovic"})
    assert any("MATERIALIZED" in q["sql"] for q in ctx.captured_queries)  # paged as a search
    narrow = queries("jovanovic")
    settings.CRM_COUNT_LIMIT = 5
    assert queries("jovanovic") == narrow  # now "wide": more matches than the limit


def test_list_rows_link_to_each_contact_and_account(rep_client, contacts):
    response = rep_client.get(reverse("crm:contact_list"), {"q": "jovanovic"})
    html = response.content.decode()
    items = response.context["page"].items
    assert items
    for contact in items:
        assert f'href="{contact.get_absolute_url()}"' in html
        assert f'href="{contact.account.get_absolute_url()}"' in html


# --- The admin's paginator --------------------------------------------------------------------


def _contact_queryset():
    return site._registry[Contact].get_queryset(None).order_by("-pk")


def test_admin_paginator_counts_a_filtered_list_up_to_the_limit(contacts, settings):
    settings.CRM_COUNT_LIMIT = 10
    filtered = _contact_queryset().filter(last_name__icontains="smith")
    count = EstimatedCountPaginator(filtered, 100).count
    if connection.vendor == "postgresql":
        assert count == 11  # at least: counting stopped one past the limit
    else:
        assert count == filtered.count()  # SQLite counts exactly


def test_admin_paginator_estimates_the_whole_table_without_counting_it(contacts, settings, monkeypatch):
    settings.CRM_COUNT_LIMIT = 10
    # pg_class.reltuples as autovacuum would leave it for a big table. (A real ANALYZE here would
    # outlive the test's rollback: it updates pg_class in place.)
    monkeypatch.setattr("core.admin.estimated_table_rows", lambda model: 1_000_000)
    with CaptureQueriesContext(connection) as ctx:
        count = EstimatedCountPaginator(_contact_queryset(), 100).count
    counted = any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    if connection.vendor == "postgresql":
        assert count == 1_000_000
        assert not counted
    else:
        assert count == 300  # SQLite counts exactly
        assert counted


def test_admin_paginator_counts_a_small_table_exactly(contacts, settings):
    settings.CRM_COUNT_LIMIT = 10_000
    assert EstimatedCountPaginator(_contact_queryset(), 100).count == 300


def test_admin_contact_changelist_uses_the_paginator(client, contacts):
    ops = StaffFactory(is_superuser=True, staff_role="operations")
    client.force_login(ops)
    response = client.get("/admin/crm/contact/")
    assert response.status_code == 200
    assert isinstance(response.context["cl"].paginator, EstimatedCountPaginator)
    assert response.context["cl"].result_count == 300
