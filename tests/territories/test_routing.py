"""pick_assignee, territory_for and manager_of: the interface the workflow rules call."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from cases.models import Case
from crm.models import Account, Lead
from territories.routing import manager_of, managers_of, pick, pick_assignee, territory_for
from tests.factories import AccountFactory, ContactFactory, LeadFactory, OpportunityFactory, StaffFactory
from tests.territories.factories import TeamFactory, TeamMembershipFactory, TerritoryFactory

pytestmark = pytest.mark.django_db


def _team(n: int, **member_kwargs):
    team = TeamFactory()
    members = [TeamMembershipFactory(team=team, **member_kwargs).user for _ in range(n)]
    return team, members


# --- Territory matching ----------------------------------------------------------------------


def test_territory_by_country_region_industry_and_custom_field():
    finland = TerritoryFactory(name="Finland", countries=["FI"])
    dach = TerritoryFactory(name="DACH", regions=["dach"])
    health = TerritoryFactory(name="Healthcare", industries=["healthcare"])
    gold = TerritoryFactory(name="Gold partners", custom_field="partner_level", custom_value="gold")

    assert territory_for(AccountFactory(country="FI")) == finland
    assert territory_for(AccountFactory(country="AT")) == dach
    assert territory_for(AccountFactory(country="US", industry="healthcare")) == health
    account = AccountFactory(country="US", industry="retail")
    account.custom_fields = {"partner_level": "gold"}
    assert territory_for(account) == gold
    assert territory_for(AccountFactory(country="US", industry="retail")) is None


def test_first_matching_territory_by_position_wins():
    later = TerritoryFactory(name="Europe manufacturing", position=20, regions=["dach"], industries=["manufacturing"])
    earlier = TerritoryFactory(name="Germany", position=10, countries=["DE"])
    TerritoryFactory(name="Off", position=0, countries=["DE"], is_active=False)

    assert territory_for(AccountFactory(country="DE", industry="manufacturing")) == earlier
    assert territory_for(AccountFactory(country="AT", industry="manufacturing")) == later


def test_every_filled_criterion_must_match():
    both = TerritoryFactory(name="Nordic software", regions=["nordics"], industries=["software"])
    assert territory_for(AccountFactory(country="SE", industry="software")) == both
    assert territory_for(AccountFactory(country="SE", industry="retail")) is None
    assert territory_for(AccountFactory(country="DE", industry="software")) is None


def test_related_records_are_in_their_accounts_territory_and_leads_in_their_companys():
    finland = TerritoryFactory(name="Finland", countries=["FI"])
    account = AccountFactory(country="FI")
    assert territory_for(ContactFactory(account=account)) == finland
    assert territory_for(OpportunityFactory(account=account)) == finland
    assert territory_for(Case(account=account, subject="x")) == finland
    assert territory_for(LeadFactory(company_country="FI")) == finland
    assert territory_for(LeadFactory(company_country="SE")) is None


def test_an_accounts_assigned_territory_wins_over_matching():
    TerritoryFactory(name="Finland", countries=["FI"], position=1)
    strategic = TerritoryFactory(name="Strategic", countries=["XX"], position=2)
    account = AccountFactory(country="FI", territory="Strategic")
    assert territory_for(account) == strategic


# --- Round-robin ------------------------------------------------------------------------------


def test_round_robin_spreads_n_assignments_evenly_over_k_members():
    team, members = _team(4)
    picks = [pick_assignee(record=Lead(), strategy="round_robin", team=team) for _ in range(12)]
    assert Counter(picks) == dict.fromkeys(members, 3)
    assert picks[:4] == members  # in member order, then again


def test_round_robin_skips_out_of_office_and_full_members():
    team, (a, b, c) = _team(3)
    today = timezone.localdate()
    b.out_of_office_from, b.out_of_office_until = today - dt.timedelta(days=1), today + dt.timedelta(days=2)
    b.save()
    membership_c = c.team_memberships.get()
    membership_c.max_open_leads = 1
    membership_c.save()
    LeadFactory(owner=c)  # c is at capacity

    picks = [pick_assignee(record=Lead(), strategy="round_robin", team=team) for _ in range(4)]
    assert picks == [a, a, a, a]


def test_out_of_office_ends_after_its_last_day():
    team, (a,) = _team(1)
    today = timezone.localdate()
    a.out_of_office_from, a.out_of_office_until = today - dt.timedelta(days=5), today - dt.timedelta(days=1)
    a.save()
    assert pick_assignee(record=Lead(), strategy="round_robin", team=team) == a
    a.out_of_office_until = today
    a.save()
    assert pick_assignee(record=Lead(), strategy="round_robin", team=team) is None


def test_nobody_available_gives_none_with_the_reasons():
    team, _members = _team(1, accepts_assignments=False)
    result = pick(record=Lead(), strategy="round_robin", team=team)
    assert result.user is None
    assert "takes no automatic assignments" in result.skipped[0]


def test_closed_leads_do_not_count_against_capacity():
    team, (a,) = _team(1, max_open_leads=1)
    LeadFactory(owner=a, status=Lead.Status.DISQUALIFIED)
    assert pick_assignee(record=Lead(), strategy="round_robin", team=team) == a


# --- Least-loaded -----------------------------------------------------------------------------


def test_least_loaded_picks_the_member_with_fewest_open_records_of_the_kind():
    team, (a, b, c) = _team(3)
    for _ in range(3):
        LeadFactory(owner=a)
    LeadFactory(owner=b)
    LeadFactory(owner=c)
    LeadFactory(owner=c, status=Lead.Status.CONVERTED, converted_at=timezone.now())
    assert pick_assignee(record=Lead(), strategy="least_loaded", team=team) == b  # tie b/c: member order
    assert pick_assignee(record=Lead(), strategy="least_loaded", team=team) == c  # tie rotates


def test_least_loaded_counts_cases_for_a_case():
    team, (a, b) = _team(2)
    account = AccountFactory()
    Case.objects.create(account=account, subject="Open", assignee=a)
    for _ in range(3):
        LeadFactory(owner=b)
    assert pick_assignee(record=Case(account=account), strategy="least_loaded", team=team) == b


# --- User and territory strategies ------------------------------------------------------------


def test_named_user_unless_away():
    rep = StaffFactory()
    assert pick_assignee(record=Lead(), strategy="user", user=rep) == rep
    rep.out_of_office_from = timezone.localdate()
    rep.save()
    assert pick_assignee(record=Lead(), strategy="user", user=rep) is None


def test_territory_owner_first_then_its_team():
    team, (a, b) = _team(2)
    owner = StaffFactory()
    territory = TerritoryFactory(countries=["FI"], owner=owner, team=team)
    lead = LeadFactory(company_country="FI")
    assert pick_assignee(record=lead, strategy="territory") == owner
    owner.out_of_office_from = timezone.localdate()
    owner.save()
    assert pick_assignee(record=lead, strategy="territory") == a
    assert pick_assignee(record=lead, strategy="territory", territory=territory) == b
    assert pick_assignee(record=LeadFactory(company_country="SE"), strategy="territory") is None


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy"):
        pick_assignee(record=Lead(), strategy="random")


# --- Managers ---------------------------------------------------------------------------------


def test_manager_of_a_member_is_their_teams_manager():
    boss = StaffFactory(staff_role="sales_manager")
    team, (a,) = _team(1)
    assert manager_of(a) is None
    team.manager = boss
    team.save()
    assert manager_of(a) == boss
    assert manager_of(boss) is None


def test_a_manager_is_not_their_own_manager():
    director = StaffFactory(staff_role="sales_manager")
    boss = StaffFactory(staff_role="sales_manager")
    TeamMembershipFactory(team=TeamFactory(manager=boss), user=boss)
    assert manager_of(boss) is None
    TeamMembershipFactory(team=TeamFactory(manager=director), user=boss)
    assert manager_of(boss) == director


def test_account_model_territory_is_a_name():
    assert Account._meta.get_field("territory").max_length == 100


def test_managers_of_many_users_in_one_query(django_assert_num_queries):
    boss = StaffFactory(staff_role="sales_manager")
    team, (a, b) = _team(2)
    team.manager = boss
    team.save()
    loner = StaffFactory()
    with django_assert_num_queries(1):
        found = managers_of([a.pk, b.pk, loner.pk, boss.pk])
    assert found == {a.pk: boss.pk, b.pk: boss.pk}
    assert all(manager_of(u) == (boss if u in (a, b) else None) for u in (a, b, loner, boss))
