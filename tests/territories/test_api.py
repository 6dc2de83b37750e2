"""/api/v1/territories/ and /api/v1/teams/: staff read, managers and operations write, keys need the scope."""

from __future__ import annotations

import pytest

from iam.models import AuditEvent, User
from territories.models import Team, TeamMembership, Territory
from tests.api.factories import Api, issue_key, ops_user
from tests.factories import StaffFactory
from tests.territories.factories import TeamFactory, TeamMembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return StaffFactory(email="mia.manager@clientele.example", staff_role=User.StaffRole.SALES_MANAGER)


def test_a_rep_reads_but_cannot_write(sales_rep):
    TerritoryFactory(name="Nordics", regions=["nordics"])
    team = TeamMembershipFactory(max_open_leads=3).team
    api = Api(user=sales_rep)
    assert [t["name"] for t in api.get("/api/v1/territories/").json()["results"]] == ["Nordics"]
    members = api.get(f"/api/v1/teams/{team.pk}/").json()["members"]
    assert members[0]["max_open_leads"] == 3
    assert api.post("/api/v1/territories/", {"name": "Mine"}).status_code == 403
    assert api.patch(f"/api/v1/teams/{team.pk}/", {"name": "Mine"}).status_code == 403
    assert api.post(f"/api/v1/teams/{team.pk}/members/", {"user": sales_rep.pk}).status_code == 403
    assert not Territory.objects.filter(name="Mine").exists()
    assert not TeamMembership.objects.filter(user=sales_rep).exists()


def test_a_manager_defines_territories_and_teams(manager, sales_rep):
    api = Api(user=manager)
    response = api.post("/api/v1/territories/", {"name": "DACH", "regions": ["dach"], "countries": ["pl"]})
    assert response.status_code == 201, response.json()
    assert response.json()["countries"] == ["PL"]
    bad = api.post("/api/v1/territories/", {"name": "Bad", "countries": ["XX"]})
    assert bad.status_code == 400
    assert "Not a country code: XX" in str(bad.json())
    team = api.post("/api/v1/teams/", {"key": "dach", "name": "DACH sales", "manager": manager.pk})
    assert team.status_code == 201, team.json()
    team_id = team.json()["id"]
    added = api.post(f"/api/v1/teams/{team_id}/members/", {"user": sales_rep.pk, "max_open_leads": 20})
    assert added.status_code == 201
    changed = api.post(f"/api/v1/teams/{team_id}/members/", {"user": sales_rep.pk, "max_open_leads": 25})
    assert changed.status_code == 200
    assert TeamMembership.objects.get(team_id=team_id, user=sales_rep).max_open_leads == 25
    assert api.patch(f"/api/v1/teams/{team_id}/", {"key": "other"}).status_code == 400  # the key never changes
    assert Team.objects.get(pk=team_id).key == "dach"
    assert api.delete(f"/api/v1/teams/{team_id}/members/{sales_rep.pk}/").status_code == 204
    assert api.delete(f"/api/v1/teams/{team_id}/members/{sales_rep.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action="territories.member.removed").count() == 1


def test_a_renamed_territory_follows_on_its_accounts(manager):
    from tests.factories import AccountFactory

    territory = TerritoryFactory(name="Nordics", regions=["nordics"])
    account = AccountFactory(country="FI", territory="Nordics")
    assert Api(user=manager).patch(f"/api/v1/territories/{territory.pk}/", {"name": "North"}).status_code == 200
    account.refresh_from_db()
    assert account.territory == "North"


def test_a_key_needs_the_scope():
    TeamFactory()
    ops = ops_user(email="o@clientele.example")
    _k, read_only = issue_key("teams:read", created_by=ops)
    assert Api(key=read_only).get("/api/v1/teams/").status_code == 200
    assert Api(key=read_only).post("/api/v1/teams/", {"key": "x", "name": "X"}).status_code == 403
    _k, other_scope = issue_key("territories:read", created_by=ops)
    assert Api(key=other_scope).get("/api/v1/teams/").status_code == 403
    _k, writer = issue_key("teams:write", created_by=ops)
    assert Api(key=writer).post("/api/v1/teams/", {"key": "x", "name": "X"}).status_code == 201
    assert Team.objects.filter(key="x").exists()
    assert AuditEvent.objects.get(action="territories.team.created").data.get("api_key")


def test_portal_users_get_nothing(external_user):
    TerritoryFactory()
    api = Api(user=external_user)
    assert api.get("/api/v1/territories/").status_code == 403
    assert api.get("/api/v1/teams/").status_code == 403


def test_the_account_territory_field_stays_a_string(sales_rep):
    TerritoryFactory(name="Nordics", regions=["nordics"])
    api = Api(user=sales_rep)
    created = api.post("/api/v1/accounts/", {"name": "Nordlys Oy", "country": "FI"}).json()
    assert created["territory"] == "Nordics"
    typed = api.patch(f"/api/v1/accounts/{created['id']}/", {"territory": "Key accounts"}).json()
    assert typed["territory"] == "Key accounts"
    cleared = api.patch(f"/api/v1/accounts/{created['id']}/", {"territory": ""}).json()
    assert cleared["territory"] == "Nordics"
