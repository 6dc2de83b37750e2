"""Cursor paging, filters, ordering and search on list endpoints; query counts constant in rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.models import Contact
from tests.api.factories import Api, issue_key
from tests.api.records import RESOURCES, make
from tests.factories import AccountFactory, ContactFactory, LeadFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _walk(api: Api, path: str, params: dict | None = None) -> list[dict]:
    rows, url = [], path
    response = api.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        response = api.client.get(body["next"], **api.headers)


def test_cursor_pages_walk_every_row_once_in_order(key_api):
    account = AccountFactory()
    ContactFactory.create_batch(7, account=account)
    rows = _walk(key_api, "/api/v1/contacts/", {"page_size": 3})
    assert len(rows) == 7
    assert len({r["id"] for r in rows}) == 7
    assert [(r["last_name"], r["id"]) for r in rows] == sorted((r["last_name"], r["id"]) for r in rows)


def test_paging_is_stable_when_rows_are_inserted_between_pages(key_api):
    account = AccountFactory()
    for name in ("Baker", "Clark", "Evans", "Green", "Hill", "King"):
        ContactFactory(account=account, last_name=name)
    first = key_api.get("/api/v1/contacts/", {"page_size": 3}).json()
    assert [r["last_name"] for r in first["results"]] == ["Baker", "Clark", "Evans"]
    # Inserted before and after the cursor position while the client is between pages.
    ContactFactory(account=account, last_name="Adams")
    ContactFactory(account=account, last_name="Irving")
    second = key_api.client.get(first["next"], **key_api.headers).json()
    assert [r["last_name"] for r in second["results"]] == ["Green", "Hill", "Irving"]
    back = key_api.client.get(second["previous"], **key_api.headers).json()
    assert [r["last_name"] for r in back["results"]] == ["Baker", "Clark", "Evans"]


def test_incremental_sync_by_updated_since(key_api):
    old = ContactFactory()
    Contact.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=3))
    recent = ContactFactory()
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    rows = _walk(key_api, "/api/v1/contacts/", {"updated_since": since, "ordering": "updated_at"})
    assert [r["id"] for r in rows] == [recent.pk]


def test_filters_by_owner_account_and_status(key_api):
    rep = StaffFactory()
    mine = ContactFactory(owner=rep)
    ContactFactory()
    assert [r["id"] for r in key_api.get("/api/v1/contacts/", {"owner": rep.pk}).json()["results"]] == [mine.pk]
    assert [r["id"] for r in key_api.get("/api/v1/contacts/", {"account": mine.account_id}).json()["results"]] == [
        mine.pk
    ]
    working = LeadFactory(status="working")
    LeadFactory(status="new")
    assert [r["id"] for r in key_api.get("/api/v1/leads/", {"status": "working"}).json()["results"]] == [working.pk]


def test_search_finds_contacts_by_name_email_or_company(key_api):
    acme = AccountFactory(name="Acme Rockets")
    anna = ContactFactory(account=acme, first_name="Anna", last_name="Lindqvist", email="anna@rockets.example")
    ContactFactory(first_name="Bob", last_name="Other")
    for term in ("Lindq", "anna@rockets", "Rockets", "Anna Lindqvist"):
        ids = [r["id"] for r in key_api.get("/api/v1/contacts/", {"search": term}).json()["results"]]
        assert ids == [anna.pk], term


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"ordering": "email"}, "#/ordering"),  # not an indexed ordering
        ({"page_size": "1000"}, "#/page_size"),
        ({"page_size": "³"}, "#/page_size"),  # a digit to str.isdigit(), not to int(): was a 500
        ({"cursor": "not-a-cursor"}, "#/cursor"),
        ({"updated_since": "yesterday"}, "#/updated_since"),
        ({"owner": "bob"}, "#/owner"),
    ],
)
def test_bad_list_parameters_are_problems(key_api, params, pointer):
    response = key_api.get("/api/v1/contacts/", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert pointer in {e["pointer"] for e in response.json()["errors"]}


def test_a_bad_lead_status_filter_is_a_problem(key_api):
    response = key_api.get("/api/v1/leads/", {"status": "sold"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/status"


def test_every_declared_ordering_works(key_api):
    from api.urls import router

    for prefix, viewset, _basename in router.registry:
        make(prefix)
        for ordering in viewset.orderings:
            response = key_api.get(f"/api/v1/{prefix}/", {"ordering": ordering, "page_size": 1})
            assert response.status_code == 200, (prefix, ordering, response.content)
            if response.json()["next"]:
                nxt = key_api.client.get(response.json()["next"], **key_api.headers)
                assert nxt.status_code == 200


@pytest.mark.parametrize("resource", RESOURCES)
def test_list_query_count_does_not_grow_with_rows(resource, ops, django_assert_max_num_queries):
    _key, raw = issue_key(f"{resource}:read", created_by=ops)
    api = Api(key=raw)
    api.get(f"/api/v1/{resource}/")  # the key's first use records last_used_at
    make(resource)
    with django_assert_max_num_queries(100) as few:
        assert api.get(f"/api/v1/{resource}/").status_code == 200
    for _ in range(6):
        make(resource)
    with django_assert_max_num_queries(100) as many:
        response = api.get(f"/api/v1/{resource}/")
    assert len(response.json()["results"]) >= 7
    assert len(many.captured_queries) == len(few.captured_queries), resource


def test_contact_list_with_a_key_runs_two_queries(ops, django_assert_num_queries):
    _key, raw = issue_key("contacts:read", created_by=ops)
    api = Api(key=raw)
    api.get("/api/v1/contacts/")  # the key's last_used_at is written on first use
    ContactFactory.create_batch(5)
    # The key with its user, the throttle (cache, no query), the page (with its joins).
    with django_assert_num_queries(2):
        assert api.get("/api/v1/contacts/").status_code == 200


@pytest.mark.parametrize("resource", RESOURCES)
def test_the_fast_representation_is_exactly_drfs(resource, ops):
    from rest_framework import serializers as drf

    from api.serializers import FastRepresentationMixin
    from api.urls import router

    viewset = next(v for prefix, v, _b in router.registry if prefix == resource)
    record, _account = make(resource)
    instance = viewset.selector(user=ops).get(pk=record.pk)
    serializer = viewset.serializer_class(instance)
    if not isinstance(serializer, FastRepresentationMixin):
        pytest.skip("plain DRF serializer")
    assert FastRepresentationMixin.to_representation(serializer, instance) == drf.ModelSerializer.to_representation(
        serializer, instance
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/activities/", {"created_after": "1914-04-04T21:03:31.059-19:26"}),
        ("/api/v1/accounts/", {"created_before": "0237-12-31T09:07:33-23:41"}),
        ("/api/v1/audit-events/", {"occurred_before": "1098-09-24T18:37:03-16:18"}),
        ("/api/v1/memberships/", {"updated_since": "2026-01-01T00:00:00+23:59"}),
    ],
)
def test_date_time_filters_take_any_utc_offset_and_compare_in_utc(key_api, path, params):
    response = key_api.get(path, params)
    assert response.status_code == 200, response.content


def test_a_time_far_in_the_past_with_an_offset_is_compared_in_utc(key_api):
    contact = ContactFactory()
    created = contact.created_at.astimezone(dt.timezone(dt.timedelta(hours=-23, minutes=-41)))
    rows = key_api.get("/api/v1/contacts/", {"created_after": created.isoformat()}).json()["results"]
    assert [r["id"] for r in rows] == [contact.pk]
    later = (contact.created_at + dt.timedelta(seconds=1)).astimezone(dt.timezone(dt.timedelta(hours=19, minutes=26)))
    assert key_api.get("/api/v1/contacts/", {"created_after": later.isoformat()}).json()["results"] == []


@pytest.mark.parametrize(
    ("path", "params", "pointer"),
    [
        ("/api/v1/accounts/", {"created_before": "0001-01-01T00:00:00+10:00"}, "#/created_before"),  # year 0 in UTC
        ("/api/v1/accounts/", {"updated_since": ""}, "#/updated_since"),
        ("/api/v1/opportunities/", {"close_after": ""}, "#/close_after"),
        ("/api/v1/webhooks/", {"is_active": "maybe"}, "#/is_active"),
        ("/api/v1/activities/", {"done": ""}, "#/done"),
        ("/api/v1/leads/", {"source": ""}, "#/source"),
        ("/api/v1/contacts/", {"account": ""}, "#/account"),
        ("/api/v1/contacts/", {"account": "1e+16"}, "#/account"),
        ("/api/v1/contacts/", {"ordering": ""}, "#/ordering"),
    ],
)
def test_filter_values_that_mean_nothing_are_problems_not_ignored(key_api, path, params, pointer):
    response = key_api.get(path, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert pointer in {e["pointer"] for e in response.json()["errors"]}


def test_boolean_filters_take_true_false_one_and_zero(key_api):
    assert key_api.get("/api/v1/webhooks/", {"is_active": "TRUE"}).status_code == 200
    assert key_api.get("/api/v1/webhooks/", {"is_active": "0"}).status_code == 200


def test_a_path_no_route_matches_is_a_problem_json_404(key_api):
    response = key_api.get("/api/v1/contracts/%C3%BC%0AG/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
