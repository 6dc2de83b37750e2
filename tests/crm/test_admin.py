from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    ("account", AccountFactory),
    ("contact", ContactFactory),
    ("lead", LeadFactory),
    ("opportunity", OpportunityFactory),
    ("contract", ContractFactory),
    ("activity", ActivityFactory),
]


@pytest.fixture
def ops_client(client):
    ops = StaffFactory(is_superuser=True, staff_role="operations")
    client.force_login(ops)
    return client


@pytest.mark.parametrize(("model", "factory"), CHANGELISTS)
def test_admin_changelist_searches_and_costs_the_same_for_more_rows(ops_client, model, factory):
    factory.create_batch(3)
    url = f"/admin/crm/{model}/"
    ops_client.get(url)  # the session's first request records it (allauth user sessions)
    with CaptureQueriesContext(connection) as few:
        assert ops_client.get(url).status_code == 200
    factory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        assert ops_client.get(url).status_code == 200
    assert len(many) == len(few)
    assert ops_client.get(url, {"q": "x"}).status_code == 200


def test_sales_rep_without_admin_rights_is_kept_out_of_admin(rep_client):
    response = rep_client.get("/admin/crm/contact/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_service_written_records_cannot_be_deleted_from_the_admin(ops_client):
    """Deleting there would skip the audit trail: endpoints, snapshots and invitations are read-only."""
    from django.urls import reverse

    from tests.webhooks.factories import EndpointFactory
    from webhooks.models import Endpoint

    endpoint = EndpointFactory()

    page = ops_client.get(reverse("admin:webhooks_endpoint_delete", args=[endpoint.pk]))
    ops_client.post(reverse("admin:webhooks_endpoint_delete", args=[endpoint.pk]), {"post": "yes"})

    assert page.status_code == 403
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
