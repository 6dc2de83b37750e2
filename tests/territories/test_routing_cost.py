"""What routing adds to a lead create, and that the next routed create sees every change.

The active territories and assignment rules are kept in the shared cache (``territories.definitions``);
people, memberships, capacities, loads and the round-robin pointer are read on every pick.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Lead
from crm.services import lead_save
from iam.models import AuditEvent, User
from territories.definitions import CACHE_KEY, definitions
from territories.models import Strategy
from territories.services import (
    rule_delete,
    rule_save,
    team_member_remove,
    team_member_save,
    territory_save,
    user_set_out_of_office,
)
from tests.factories import StaffFactory
from tests.territories.factories import (
    AssignmentRuleFactory,
    TeamFactory,
    TeamMembershipFactory,
    TerritoryFactory,
)

pytestmark = pytest.mark.django_db

# A routed create, once the definitions are cached: the team's row locked with its members and their
# users (one query), the pointer moved to the member whose turn it is unless they are at capacity
# (one UPDATE), the lead's new owner, its history row and the audit event.
ROUTING_QUERIES = 5


@pytest.fixture
def manager():
    return StaffFactory(email="mia.manager@clientele.example", staff_role=User.StaffRole.SALES_MANAGER)


@pytest.fixture
def inbound():
    """A team of three with capacities (so a pick looks at one), the rule routing web leads to it."""
    team = TeamFactory(key="inbound", name="Inbound")
    memberships = [TeamMembershipFactory(team=team, max_open_leads=50) for _ in range(3)]
    rule = AssignmentRuleFactory(name="Inbound web leads", position=10, lead_sources=["web"], team=team)
    return team, memberships, rule


def _create(actor, *, route: bool = True, country: str = "FI") -> Lead:
    lead = Lead(last_name="Routed", company_name="Nordlys Oy", company_country=country, source="web", owner=actor)
    return lead_save(actor=actor, lead=lead, route=route)


def _queries(fn) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return result, [q["sql"] for q in captured.captured_queries]


# --- What it costs -------------------------------------------------------------------------------


def test_a_routed_create_adds_a_fixed_handful_of_queries(sales_rep, inbound):
    _team, memberships, _rule = inbound
    first, second, third = (m.user for m in memberships)
    _create(sales_rep, route=False)  # the custom field definitions and content types, cached

    cold, cold_sql = _queries(lambda: _create(sales_rep))  # reads the definitions and caches them
    plain, plain_sql = _queries(lambda: _create(sales_rep, route=False))
    warm, warm_sql = _queries(lambda: _create(sales_rep))

    assert (cold.owner, warm.owner, plain.owner) == (first, second, sales_rep)
    added = "\n".join(warm_sql[len(plain_sql) :])
    assert len(warm_sql) - len(plain_sql) == ROUTING_QUERIES, added
    assert len(cold_sql) - len(warm_sql) == 3  # territories, rules, the rules' territories
    with CaptureQueriesContext(connection) as captured:
        assert _create(sales_rep).owner == third
    assert len(captured.captured_queries) == len(warm_sql)


def test_members_who_are_away_or_full_cost_no_query_each(sales_rep, inbound):
    _team, memberships, _rule = inbound
    first, second, third = (m.user for m in memberships)
    _create(sales_rep)
    plain = _queries(lambda: _create(sales_rep, route=False))[1]
    assert _create(sales_rep).owner == second  # first had the first lead; the pointer is on second
    # The next two in turn: third is away, first holds as many open leads as they may.
    third.out_of_office_from = timezone.localdate()
    third.save()
    memberships[0].max_open_leads = Lead.objects.filter(owner=first).count()
    memberships[0].save()

    lead, routed = _queries(lambda: _create(sales_rep))

    assert lead.owner == second
    # First's capacity is looked at (they were otherwise available: the pointer stays); third's is not.
    assert len(routed) - len(plain) == ROUTING_QUERIES + 1, "\n".join(routed[len(plain) :])
    reason = AuditEvent.objects.filter(action="territories.assignment.made").latest("pk").data["reason"]
    assert reason == "round-robin in Inbound"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_the_team_row_is_locked_with_its_members_in_one_query(sales_rep, inbound):
    _lead, sql = _queries(lambda: _create(sales_rep))
    locking = [q for q in sql if "FOR UPDATE" in q]
    assert len(locking) == 1
    assert locking[0].rstrip().endswith('FOR UPDATE OF "territories_team"')
    assert '"territories_teammembership"' in locking[0]
    assert '"iam_user"' in locking[0]


# --- Every change is seen by the next routed create ---------------------------------------------


def test_a_rule_changed_or_deleted_is_seen_by_the_next_routed_create(sales_rep, manager, inbound):
    _team, memberships, rule = inbound
    assert _create(sales_rep).owner == memberships[0].user
    other = TeamFactory(key="outbound", name="Outbound")
    outsider = TeamMembershipFactory(team=other).user

    rule.team = other
    rule_save(actor=manager, rule=rule)
    assert _create(sales_rep).owner == outsider

    rule.is_active = False
    rule_save(actor=manager, rule=rule)
    assert _create(sales_rep).owner == sales_rep

    rule.is_active = True
    rule_save(actor=manager, rule=rule)
    assert _create(sales_rep).owner == outsider
    rule_delete(actor=manager, rule=rule)
    assert _create(sales_rep).owner == sales_rep


def test_a_new_rule_is_seen_by_the_next_routed_create(sales_rep, manager, inbound):
    _team, memberships, _rule = inbound
    assert _create(sales_rep).owner == memberships[0].user
    specialist = StaffFactory()
    rule_save(
        actor=manager,
        rule=AssignmentRuleFactory.build(
            name="Specialist first", position=0, lead_sources=["web"], strategy=Strategy.USER, user=specialist
        ),
    )
    assert _create(sales_rep).owner == specialist


def test_a_territory_change_is_seen_by_the_next_routed_create(sales_rep, manager, inbound):
    _team, memberships, rule = inbound
    nordics = TerritoryFactory(name="Nordics", regions=["nordics"])
    dach = TerritoryFactory(name="DACH", regions=["dach"])
    rule_save(actor=manager, rule=rule, territories=[nordics])
    assert _create(sales_rep, country="FI").owner == memberships[0].user
    assert _create(sales_rep, country="DE").owner == sales_rep

    nordics.regions = ["dach"]
    territory_save(actor=manager, territory=nordics)
    assert _create(sales_rep, country="FI").owner == sales_rep
    assert _create(sales_rep, country="DE").owner == memberships[1].user

    rule_save(actor=manager, rule=rule, territories=[dach])  # the rule's territories alone
    nordics.is_active = False
    territory_save(actor=manager, territory=nordics)
    assert _create(sales_rep, country="AT").owner == memberships[2].user


def test_a_territory_owner_set_is_seen_by_the_next_routed_create(sales_rep, manager, inbound):
    _team, memberships, rule = inbound
    nordics = TerritoryFactory(name="Nordics", regions=["nordics"], team=inbound[0])
    rule.strategy = Strategy.TERRITORY
    rule_save(actor=manager, rule=rule, territories=[nordics])
    assert _create(sales_rep).owner == memberships[0].user
    owner = StaffFactory()
    nordics.owner = owner
    territory_save(actor=manager, territory=nordics)
    assert _create(sales_rep).owner == owner


def test_membership_capacity_and_out_of_office_changes_are_seen_at_once(sales_rep, manager, inbound):
    _team, memberships, _rule = inbound
    first, second, third = (m.user for m in memberships)
    assert _create(sales_rep).owner == first

    memberships[1].max_open_leads = 0
    team_member_save(actor=manager, membership=memberships[1])
    assert _create(sales_rep).owner == third

    user_set_out_of_office(actor=manager, user=first, start=None, end=timezone.localdate() + dt.timedelta(days=2))
    team_member_remove(actor=manager, membership=memberships[2])
    assert _create(sales_rep).owner == sales_rep  # first away, second full, third gone

    newcomer = StaffFactory()
    team_member_save(actor=manager, membership=TeamMembershipFactory.build(team=inbound[0], user=newcomer))
    assert _create(sales_rep).owner == newcomer

    second.is_active = False
    second.save()
    memberships[1].max_open_leads = None
    memberships[1].save()
    assert _create(sales_rep).owner == newcomer  # second is no longer an active user


def test_a_definitions_read_before_the_change_commits_is_forgotten_at_commit(
    sales_rep, manager, inbound, django_capture_on_commit_callbacks
):
    _team, _memberships, rule = inbound
    before = definitions()
    with django_capture_on_commit_callbacks(execute=True):
        rule.is_active = False
        rule_save(actor=manager, rule=rule)
        # Another process read the rules before this change committed, and cached them.
        cache.set(CACHE_KEY, before)
    assert _create(sales_rep).owner == sales_rep


def test_a_fallback_person_deleted_while_the_rules_are_cached_is_no_error(sales_rep, inbound):
    _team, memberships, rule = inbound
    backup = StaffFactory()
    rule.fallback_user = backup
    rule.save()
    assert _create(sales_rep).owner == memberships[0].user  # the definitions, cached with the backup's id
    for m in memberships:
        m.accepts_assignments = False
        m.save()
    User.objects.filter(pk=backup.pk).delete()  # the database sets the rule's fallback to none
    assert cache.get(CACHE_KEY) is not None
    assert _create(sales_rep).owner == sales_rep


def test_a_factory_made_rule_is_seen_too(sales_rep):
    team = TeamFactory()
    member = TeamMembershipFactory(team=team).user
    assert _create(sales_rep).owner == sales_rep  # no rule: cached as none
    AssignmentRuleFactory(team=team)
    assert _create(sales_rep).owner == member
