"""The Teams & territories pages: managers change, reps see their own team and set their own out-of-office."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from iam.models import AuditEvent, User
from territories.models import AssignmentRule, Team, TeamMembership, Territory
from tests.factories import LeadFactory, StaffFactory
from tests.territories.factories import AssignmentRuleFactory, TeamFactory, TeamMembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def manager():
    return StaffFactory(email="mia.manager@clientele.example", staff_role=User.StaffRole.SALES_MANAGER)


@pytest.fixture
def team(sales_rep, other_rep, manager):
    team = TeamFactory(key="nordic", name="Nordic sales", manager=manager)
    TeamMembershipFactory(team=team, user=sales_rep, max_open_leads=2)
    TeamMembershipFactory(team=team, user=other_rep)
    return team


def test_manager_sees_every_team_with_loads(manager, team, sales_rep, django_assert_max_num_queries):
    TeamFactory(name="Service desk", key="service_desk")
    LeadFactory(owner=sales_rep)
    client = _client(manager)
    with django_assert_max_num_queries(12):
        response = client.get("/teams/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Nordic sales" in body
    assert "Service desk" in body
    assert "Alice Rep" in body


def test_team_page_query_count_does_not_grow_with_members(manager, team, django_assert_num_queries):
    client = _client(manager)
    with django_assert_num_queries(13) as first:
        client.get(f"/teams/{team.pk}/")
    for _ in range(5):
        TeamMembershipFactory(team=team)
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get(f"/teams/{team.pk}/").status_code == 200


def test_rep_sees_only_their_own_team_and_cannot_change_it(rep_client, team, manager):
    other = TeamFactory(name="Other team", key="other")
    body = rep_client.get("/teams/").content.decode()
    assert "Nordic sales" in body
    assert "Other team" not in body
    assert rep_client.get(f"/teams/{other.pk}/").status_code == 404
    assert rep_client.post(f"/teams/{team.pk}/edit/", {"name": "Mine", "key": "nordic"}).status_code == 403
    assert rep_client.post(f"/teams/{team.pk}/members/", {"add-user": manager.pk}).status_code == 403
    assert rep_client.get("/teams/territories/").status_code == 403
    assert rep_client.get("/teams/rules/").status_code == 403
    assert rep_client.post("/teams/territories/re-apply/").status_code == 403
    team.refresh_from_db()
    assert team.name == "Nordic sales"


def test_portal_user_gets_404_everywhere(external_client, team):
    territory = TerritoryFactory()
    for path in (
        "/teams/",
        f"/teams/{team.pk}/",
        "/teams/out-of-office/",
        "/teams/territories/",
        f"/teams/territories/{territory.pk}/",
        "/teams/rules/",
    ):
        assert external_client.get(path).status_code == 404, path


def test_rep_sets_their_own_out_of_office_but_not_a_colleagues(rep_client, sales_rep, other_rep, team):
    start = timezone.localdate() + dt.timedelta(days=3)
    end = start + dt.timedelta(days=7)
    response = rep_client.post(
        "/teams/out-of-office/", {"out_of_office_from": start.isoformat(), "out_of_office_until": end.isoformat()}
    )
    assert response.status_code == 302
    sales_rep.refresh_from_db()
    assert (sales_rep.out_of_office_from, sales_rep.out_of_office_until) == (start, end)
    assert AuditEvent.objects.filter(action="territories.out_of_office.set", target_id=str(sales_rep.pk)).exists()
    assert (
        rep_client.post(f"/teams/out-of-office/{other_rep.pk}/", {"out_of_office_from": start.isoformat()}).status_code
        == 403
    )
    other_rep.refresh_from_db()
    assert other_rep.out_of_office_from is None
    rep_client.post("/teams/out-of-office/", {"clear": "1"})
    sales_rep.refresh_from_db()
    assert sales_rep.out_of_office_from is None


def test_out_of_office_that_ends_before_it_starts_is_refused(rep_client, sales_rep):
    today = timezone.localdate()
    response = rep_client.post(
        "/teams/out-of-office/",
        {"out_of_office_from": today.isoformat(), "out_of_office_until": (today - dt.timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 200
    assert "before the first" in response.content.decode()
    sales_rep.refresh_from_db()
    assert sales_rep.out_of_office_from is None


def test_manager_sets_a_members_out_of_office_and_capacity(manager, team, other_rep):
    client = _client(manager)
    today = timezone.localdate()
    client.post(f"/teams/out-of-office/{other_rep.pk}/", {"out_of_office_from": today.isoformat()})
    other_rep.refresh_from_db()
    assert other_rep.out_of_office_from == today
    membership = TeamMembership.objects.get(team=team, user=other_rep)
    client.post(
        f"/teams/{team.pk}/members/{membership.pk}/",
        {"max_open_leads": "5", "max_open_cases": "", "accepts_assignments": "on"},
    )
    membership.refresh_from_db()
    assert (membership.max_open_leads, membership.max_open_cases) == (5, None)
    assert "Out of office" in client.get(f"/teams/{team.pk}/").content.decode()


def test_manager_creates_a_team_adds_and_removes_a_member(manager, sales_rep):
    client = _client(manager)
    response = client.post("/teams/new/", {"name": "Benelux", "key": "benelux", "manager": manager.pk})
    team = Team.objects.get(key="benelux")
    assert response.status_code == 302
    client.post(f"/teams/{team.pk}/members/", {"add-user": sales_rep.pk, "add-max_open_leads": "10"})
    membership = TeamMembership.objects.get(team=team, user=sales_rep)
    assert membership.max_open_leads == 10
    client.post(f"/teams/{team.pk}/members/{membership.pk}/", {"remove": "1"})
    assert not TeamMembership.objects.filter(team=team).exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"territories.team.created", "territories.member.added", "territories.member.removed"} <= actions


def test_manager_defines_a_territory_and_a_rule_and_tests_routing(manager, team, sales_rep):
    client = _client(manager)
    response = client.post(
        "/teams/territories/new/",
        {"name": "Nordics", "position": "1", "is_active": "on", "regions": ["nordics"], "team": team.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    nordics = Territory.objects.get(name="Nordics")
    response = client.post(
        "/teams/rules/new/",
        {
            "name": "Nordic web",
            "record_type": "crm.lead",
            "position": "1",
            "is_active": "on",
            "territories": [nordics.pk],
            "lead_sources": ["web"],
            "strategy": "round_robin",
            "team": team.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AssignmentRule.objects.get(name="Nordic web")
    assert list(rule.territories.all()) == [nordics]
    page = client.get("/teams/rules/", {"record_type": "crm.lead", "source": "web", "country": "SE"})
    body = page.content.decode()
    assert "Nordic web" in body
    assert "round-robin in Nordic sales" in body
    assert "Alice Rep" in body


def test_a_rule_without_its_team_is_refused_with_a_message(manager):
    client = _client(manager)
    response = client.post(
        "/teams/rules/new/",
        {"name": "No team", "record_type": "crm.lead", "position": "1", "strategy": "round_robin"},
    )
    assert response.status_code == 200
    assert "Choose the team" in response.content.decode()
    assert not AssignmentRule.objects.exists()


def test_reapply_button_runs_the_job(manager, django_capture_on_commit_callbacks):
    from tests.factories import AccountFactory

    account = AccountFactory(country="FI")
    TerritoryFactory(name="Finland", countries=["FI"])
    client = _client(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/teams/territories/re-apply/")
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.territory == "Finland"
    assert "1 moved" in client.get("/teams/territories/").content.decode()


def test_nav_line_for_staff(rep_client):
    assert "Teams &amp; territories" in rep_client.get("/teams/").content.decode()


def test_reapply_rule_record_type_label_is_used():
    rule = AssignmentRuleFactory(record_type=AssignmentRule.RecordType.CASE)
    assert rule.get_record_type_display() == "Cases"
