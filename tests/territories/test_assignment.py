"""Routing new leads and cases on creation through every channel, with its trail, and territories on accounts."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from cases.models import Case
from cases.services import case_create
from crm.models import Account, Lead
from crm.services import account_save, lead_save
from history.models import RecordChange
from iam.models import AuditEvent, User
from notifications.models import Notification
from registrations import services as registrations
from territories.models import AssignmentRule, Strategy
from territories.services import route_preview, territories_reapply
from tests.api.factories import Api
from tests.factories import AccountFactory, StaffFactory
from tests.registrations.factories import verified
from tests.territories.factories import (
    AssignmentRuleFactory,
    TeamFactory,
    TeamMembershipFactory,
    TerritoryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return StaffFactory(email="mia.manager@clientele.example", staff_role=User.StaffRole.SALES_MANAGER)


@pytest.fixture
def nordic_team():
    team = TeamFactory(key="nordic", name="Nordic sales")
    members = [TeamMembershipFactory(team=team).user for _ in range(2)]
    return team, members


@pytest.fixture
def web_rule(nordic_team):
    team, _members = nordic_team
    nordics = TerritoryFactory(name="Nordics", regions=["nordics"], team=team)
    rule = AssignmentRuleFactory(name="Nordic web leads", lead_sources=["web"], team=team)
    rule.territories.set([nordics])
    return rule


def _assert_trail(record, rule, owner):
    change = RecordChange.objects.filter(record_id=record.pk, changes__has_key="assignment_rule").get()
    assert change.changes["assignment_rule"]["new"] == rule.name
    event = AuditEvent.objects.get(action="territories.assignment.made", target_id=str(record.pk))
    assert event.data["rule_name"] == rule.name
    assert event.data["assignee"] == owner.email
    assert Notification.objects.filter(recipient=owner, target_id=record.pk).exists()


# --- Leads -------------------------------------------------------------------------------------


def test_api_lead_without_owner_goes_to_the_rule_and_is_attributed(
    sales_rep, web_rule, nordic_team, django_capture_on_commit_callbacks
):
    _team, (first, second) = nordic_team
    api = Api(user=sales_rep)
    body = {"company_name": "Nordlys Oy", "company_country": "FI", "source": "web"}
    with django_capture_on_commit_callbacks(execute=True):
        created = [
            api.post("/api/v1/leads/", {**body, "last_name": name, "email": f"{name}@nordlys.example"})
            for name in ("virtanen", "korhonen")
        ]
    assert [r.status_code for r in created] == [201, 201]
    owners = [Lead.objects.get(pk=r.json()["id"]).owner for r in created]
    assert owners == [first, second]
    _assert_trail(Lead.objects.get(pk=created[0].json()["id"]), web_rule, first)
    assert Notification.objects.get(recipient=first).kind == "lead.assigned"


def test_api_lead_with_an_owner_keeps_it(sales_rep, other_rep, web_rule):
    api = Api(user=sales_rep)
    body = {"last_name": "V", "company_country": "FI", "source": "web", "owner": other_rep.pk}
    response = api.post("/api/v1/leads/", body)
    assert response.status_code == 201
    assert Lead.objects.get(pk=response.json()["id"]).owner == other_rep
    assert not AuditEvent.objects.filter(action="territories.assignment.made").exists()


def test_a_lead_no_rule_matches_keeps_its_default_owner(sales_rep, web_rule):
    lead = lead_save(
        actor=sales_rep, lead=Lead(last_name="X", company_country="DE", source="web", owner=sales_rep), route=True
    )
    assert lead.owner == sales_rep
    assert not AuditEvent.objects.filter(action="territories.assignment.made").exists()


def test_fallback_person_when_the_team_is_out(sales_rep, web_rule, nordic_team):
    import datetime as dt

    from django.utils import timezone

    _team, members = nordic_team
    for member in members:
        member.out_of_office_from = timezone.localdate() - dt.timedelta(days=1)
        member.save()
    backup = StaffFactory()
    web_rule.fallback_user = backup
    web_rule.save()
    lead = lead_save(
        actor=sales_rep, lead=Lead(last_name="X", company_country="SE", source="web", owner=sales_rep), route=True
    )
    assert lead.owner == backup
    assert "fallback" in AuditEvent.objects.get(action="territories.assignment.made").data["reason"]


def test_rules_are_tried_in_order_and_product_interest_is_a_custom_field(sales_rep, nordic_team):
    _team, (first, _second) = nordic_team
    specialist = StaffFactory()
    AssignmentRuleFactory(
        name="Robots",
        position=1,
        custom_field="product",
        custom_value="robots",
        strategy=Strategy.USER,
        user=specialist,
    )
    AssignmentRuleFactory(name="Everyone else", position=2, team=nordic_team[0])
    robots = Lead(last_name="R", owner=sales_rep, custom_fields={"product": "robots"})
    other = Lead(last_name="O", owner=sales_rep, custom_fields={"product": "software"})
    assert lead_save(actor=sales_rep, lead=robots, route=True).owner == specialist
    assert lead_save(actor=sales_rep, lead=other, route=True).owner == first


def test_registration_lead_is_routed(nordic_team, manager, django_capture_on_commit_callbacks):
    team, (first, _second) = nordic_team
    rule = AssignmentRuleFactory(name="Web registrations", lead_sources=["web"], team=team)
    pending = verified()
    with django_capture_on_commit_callbacks(execute=True):
        registrations.registration_admit_lead(actor=manager, registration=pending)
    lead = Lead.objects.get(email=pending.email)
    assert lead.owner == first
    _assert_trail(lead, rule, first)
    assert lead.activities.get().owner == first  # the registration note follows the new owner


def test_imported_leads_without_owner_are_dealt_round_robin(
    run_import, sales_rep, nordic_team, django_capture_on_commit_callbacks
):
    team, (first, second) = nordic_team
    AssignmentRuleFactory(name="Imported", team=team)
    with django_capture_on_commit_callbacks(execute=True):
        job = run_import(
            "First,Last,Email,Company,Country,Source,Owner\n"
            "A,One,a@p.example,P Oy,Finland,web,\n"
            "B,Two,b@p.example,P Oy,Finland,web,\n"
            "C,Three,c@p.example,P Oy,Finland,web,\n"
            f"D,Four,d@p.example,P Oy,Finland,web,{sales_rep.email}\n",
            resource="leads",
        )
    assert job.created_count == 4
    owners = dict(Lead.objects.values_list("email", "owner"))
    assert owners == {
        "a@p.example": first.pk,
        "b@p.example": second.pk,
        "c@p.example": first.pk,
        "d@p.example": sales_rep.pk,
    }
    assert AuditEvent.objects.filter(action="territories.assignment.made").count() == 3
    assert Notification.objects.filter(recipient=first, kind="lead.assigned").count() == 1


# --- Cases -------------------------------------------------------------------------------------


def test_case_routed_by_category_and_severity_to_a_case_team(django_capture_on_commit_callbacks):
    desk = TeamFactory(key="account_team", name="Account team")
    agent = TeamMembershipFactory(team=desk).user
    rule = AssignmentRuleFactory(
        name="Urgent incidents",
        record_type=AssignmentRule.RecordType.CASE,
        case_categories=["incident"],
        severities=["urgent", "high"],
        team=desk,
        strategy=Strategy.LEAST_LOADED,
    )
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_create(actor=None, account=account, subject="Down", category="incident", severity="urgent")
    case.refresh_from_db()
    assert (case.assignee, case.team, case.status) == (agent, "account_team", Case.Status.OPEN)
    _assert_trail(case, rule, agent)
    assert Notification.objects.get(recipient=agent).kind == "case.assigned"

    question = case_create(actor=None, account=account, subject="How?", category="question")
    question.refresh_from_db()
    assert question.assignee is None


def test_a_case_created_with_an_assignee_is_not_routed(sales_rep):
    desk = TeamFactory(key="service_desk")
    TeamMembershipFactory(team=desk)
    AssignmentRuleFactory(record_type=AssignmentRule.RecordType.CASE, team=desk)
    case = case_create(actor=sales_rep, account=AccountFactory(), subject="Mine", assignee=sales_rep)
    assert case.assignee == sales_rep
    assert not AuditEvent.objects.filter(action="territories.assignment.made").exists()


def test_case_capacity_counts_open_cases(sales_rep):
    desk = TeamFactory(key="service_desk")
    a = TeamMembershipFactory(team=desk, max_open_cases=1).user
    b = TeamMembershipFactory(team=desk, max_open_cases=1).user
    AssignmentRuleFactory(record_type=AssignmentRule.RecordType.CASE, team=desk)
    account = AccountFactory()
    cases = [case_create(actor=None, account=account, subject=f"C{i}") for i in range(3)]
    assignees = [Case.objects.get(pk=c.pk).assignee for c in cases]
    assert assignees == [a, b, None]


# --- Test routing ------------------------------------------------------------------------------


def test_preview_says_who_and_why_and_changes_nothing(nordic_team, web_rule):
    team, (first, _second) = nordic_team
    decision = route_preview(Lead(last_name="S", company_country="SE", source="web"))
    assert decision.user == first
    assert decision.rule == web_rule
    assert any("Nordics" in line for line in decision.trace)
    team.refresh_from_db()
    assert team.last_assigned_id is None  # the pointer did not move
    assert route_preview(Lead(last_name="S", company_country="SE", source="web")).user == first


# --- Accounts' territories ---------------------------------------------------------------------


def test_account_territory_is_derived_on_save_unless_typed(sales_rep):
    TerritoryFactory(name="Nordics", regions=["nordics"])
    TerritoryFactory(name="DACH", regions=["dach"])
    account = account_save(actor=sales_rep, account=Account(name="A", country="FI", owner=sales_rep))
    assert (account.territory, account.territory_manual) == ("Nordics", False)
    account.country = "DE"
    account_save(actor=sales_rep, account=account)
    assert account.territory == "DACH"
    account.territory = "Key accounts"
    account_save(actor=sales_rep, account=account)
    assert (account.territory, account.territory_manual) == ("Key accounts", True)
    account.country = "FI"
    account_save(actor=sales_rep, account=account)
    assert account.territory == "Key accounts"
    account.territory = ""
    account_save(actor=sales_rep, account=account)
    assert (account.territory, account.territory_manual) == ("Nordics", False)


def test_reapply_moves_accounts_set_based_and_leaves_hand_set_ones(manager):
    moved = AccountFactory(country="FI", territory="Old")
    kept = AccountFactory(country="FI", territory="Strategic", territory_manual=True)
    none = AccountFactory(country="US", territory="Old")
    TerritoryFactory(name="Finland", countries=["FI"])
    assert territories_reapply(actor=manager, chunk=2) == 2
    for account in (moved, kept, none):
        account.refresh_from_db()
    assert (moved.territory, kept.territory, none.territory) == ("Finland", "Strategic", "")
    change = RecordChange.objects.get(record_id=moved.pk, record_type="crm.account")
    assert change.changes == {"territory": {"old": "Old", "new": "Finland"}}
    assert territories_reapply(actor=manager) == 0  # idempotent
    assert AuditEvent.objects.filter(action="territories.territories.reapplied").count() == 2


def test_a_rep_cannot_reapply_territories(sales_rep):
    with pytest.raises(PermissionDenied):
        territories_reapply(actor=sales_rep)


def test_reapply_with_custom_field_and_order(manager):
    TerritoryFactory(name="Gold", position=1, custom_field="level", custom_value="gold")
    TerritoryFactory(name="Everything else", position=2)
    gold = AccountFactory(country="US")
    Account.objects.filter(pk=gold.pk).update(custom_fields={"level": "gold"})
    other = AccountFactory(country="US")
    territories_reapply(actor=manager)
    assert dict(Account.objects.values_list("pk", "territory")) == {gold.pk: "Gold", other.pk: "Everything else"}
