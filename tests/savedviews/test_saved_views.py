"""Saved views: personal ones are their owner's alone, shared ones the team's; a default opens the list."""

from __future__ import annotations

import pytest
from django.urls import reverse

from savedviews.models import DefaultView, SavedView
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

CONTACTS = reverse("crm:contact_list")


def _save(client, **data):
    payload = {"name": "Stale in Berlin", "query": "q=berlin&freshness=stale&sort=-updated&cursor=abc", **data}
    return client.post(reverse("savedviews:save", args=["contacts"]), payload)


def test_saving_keeps_filters_sort_and_hidden_columns_and_opens_the_view(rep_client, sales_rep):
    response = _save(rep_client, hidden_columns="Phone|Verified")
    view = SavedView.objects.get()
    assert (view.owner, view.list_key, view.shared) == (sales_rep, "contacts", False)
    assert view.query == "q=berlin&freshness=stale&sort=-updated"  # not where a page started
    assert view.hidden_columns == ["Phone", "Verified"]
    assert response["Location"] == f"{CONTACTS}?{view.query}&view={view.pk}"
    page = rep_client.get(response["Location"])
    assert page.context["saved_views"].active == view
    assert 'data-hidden-columns="Phone|Verified"' in page.content.decode()


def test_a_personal_view_is_invisible_to_others(rep_client, other_rep, client):
    _save(rep_client)
    view = SavedView.objects.get()
    client.force_login(other_rep)

    page = client.get(CONTACTS, {"view": view.pk})

    assert page.context["saved_views"].views == []
    assert page.context["saved_views"].active is None
    assert "Stale in Berlin" not in page.content.decode()
    assert client.post(reverse("savedviews:delete", args=[view.pk])).status_code == 404
    assert client.post(reverse("savedviews:default", args=["contacts"]), {"view": view.pk}).status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_a_shared_view_is_the_teams_but_only_its_owner_removes_it(rep_client, other_rep, client):
    _save(rep_client, shared="on")
    view = SavedView.objects.get()
    client.force_login(other_rep)

    page = client.get(CONTACTS, {"view": view.pk})
    assert page.context["saved_views"].active == view

    client.post(reverse("savedviews:delete", args=[view.pk]))
    assert SavedView.objects.filter(pk=view.pk).exists()
    rep_client.post(reverse("savedviews:delete", args=[view.pk]))
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_the_default_view_opens_the_list_for_its_person_only(rep_client, other_rep, client):
    _save(rep_client, shared="on", default="on")
    view = SavedView.objects.get()
    assert DefaultView.objects.get().user.email == "alice.rep@clientele.example"

    response = rep_client.get(CONTACTS)
    assert response.status_code == 302
    assert response["Location"] == f"{CONTACTS}?{view.query}&view={view.pk}"
    assert rep_client.get(CONTACTS, {"view": ""}).status_code == 200  # the list without a view

    client.force_login(other_rep)
    assert client.get(CONTACTS).status_code == 200  # not their default


def test_saving_the_same_name_replaces_the_view(rep_client):
    _save(rep_client)
    _save(rep_client, query="q=munich")
    assert list(SavedView.objects.values_list("query", flat=True)) == ["q=munich"]


def test_a_view_without_a_name_is_refused(rep_client):
    response = _save(rep_client, name="  ")
    assert response.status_code == 302
    assert not SavedView.objects.exists()


def test_every_list_has_the_views_menu(rep_client):
    ContactFactory()
    for name in ("account", "contact", "lead", "opportunity", "contract", "activity"):
        assert "data-saved-views" in rep_client.get(reverse(f"crm:{name}_list")).content.decode(), name


def test_portal_users_cannot_save_views(external_client):
    response = external_client.post(reverse("savedviews:save", args=["contacts"]), {"name": "x", "query": ""})
    assert response.status_code == 404
    assert not SavedView.objects.exists()


def test_clear_shows_the_list_without_the_default_view(rep_client):
    _save(rep_client, default="on")
    page = rep_client.get(CONTACTS, {"q": "anything", "view": ""})
    assert f'href="{CONTACTS}?view=">Clear</a>' in page.content.decode()
