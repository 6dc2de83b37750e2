"""The operations console writes teams, territories and rules through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from iam.models import AuditEvent
from territories.models import Territory
from tests.factories import StaffFactory
from tests.territories.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops_client():
    client = Client()
    client.force_login(StaffFactory(is_superuser=True, staff_role="operations"))
    client.get("/healthz")
    return client


@pytest.mark.parametrize("model", ["team", "teammembership", "territory", "assignmentrule", "territoryrun"])
def test_admin_pages_open(ops_client, model):
    TeamFactory()
    assert ops_client.get(f"/admin/territories/{model}/").status_code == 200


def test_admin_territory_is_validated_and_audited_by_the_service(ops_client):
    team = TeamFactory()
    bad = ops_client.post(
        "/admin/territories/territory/add/",
        {"name": "Bad", "position": 1, "countries": '["ZZ"]', "regions": "[]", "industries": "[]", "team": team.pk},
    )
    assert bad.status_code == 200
    assert not Territory.objects.exists()
    ops_client.post(
        "/admin/territories/territory/add/",
        {"name": "Finland", "position": 1, "countries": '["fi"]', "regions": "[]", "industries": "[]"},
    )
    assert Territory.objects.get(name="Finland").countries == ["FI"]
    assert AuditEvent.objects.filter(action="territories.territory.created").exists()
