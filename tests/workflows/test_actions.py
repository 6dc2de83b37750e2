"""Each action, done the way a rule does it: after a real change commits."""

from __future__ import annotations

import pytest

from crm import services as crm
from crm.models import Lead
from history.models import RecordChange
from iam.models import User
from notifications.models import Notification
from tests.factories import ContactFactory, ContractFactory, LeadFactory, StaffFactory, make_case
from tests.territories.factories import TeamFactory, TeamMembershipFactory
from workflows.models import EmailTemplate, RuleRun, SegmentMember

pytestmark = pytest.mark.django_db


def _touch_lead(committing, lead, **changes):
    for name, value in changes.items():
        setattr(lead, name, value)
    return committing(crm.lead_save, actor=lead.owner, lead=lead)


def test_assign_round_robin_within_a_team_takes_turns(make_rule, committing):
    team = TeamFactory()
    a, b = TeamMembershipFactory(team=team).user, TeamMembershipFactory(team=team).user
    make_rule(
        record_type="crm.lead",
        trigger="changed",
        change_conditions=[{"field": "source", "to": "web"}],
        actions=[{"type": "assign", "strategy": "round_robin", "team": team.pk}],
    )
    owners = []
    for _ in range(4):
        lead = _touch_lead(committing, LeadFactory(), source=Lead.Source.WEB)
        lead.refresh_from_db()
        owners.append(lead.owner_id)
    assert sorted(owners) == sorted([a.pk, b.pk, a.pk, b.pk])
    assert owners[0] != owners[1]


def test_assign_to_the_least_loaded_member(make_rule, committing):
    team = TeamFactory()
    busy, free = TeamMembershipFactory(team=team).user, TeamMembershipFactory(team=team).user
    LeadFactory.create_batch(3, owner=busy)
    make_rule(
        record_type="crm.lead",
        trigger="changed",
        change_conditions=[{"field": "status", "to": "qualified"}],
        actions=[{"type": "assign", "strategy": "least_loaded", "team": team.pk}],
    )
    lead = _touch_lead(committing, LeadFactory(owner=busy), status=Lead.Status.QUALIFIED)
    lead.refresh_from_db()
    assert lead.owner == free
    change = RecordChange.objects.filter(record_type="crm.lead", record_id=lead.pk).latest("pk")
    assert change.changes["owner"]["new"]["id"] == free.pk
    assert change.job.startswith("workflow rule #")


def test_assign_a_case_to_a_named_user(make_rule, committing):
    agent = StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)
    make_rule(
        record_type="cases.case",
        trigger="changed",
        change_conditions=[{"field": "severity", "to": "high"}],
        actions=[{"type": "assign", "strategy": "user", "user": agent.pk}],
    )
    from cases.services import case_update

    case = make_case()
    committing(case_update, actor=agent, case=case, severity="high")
    case.refresh_from_db()
    assert case.assignee == agent


def test_escalate_to_the_owners_manager(make_rule, committing):
    boss = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    team = TeamFactory(manager=boss)
    rep = TeamMembershipFactory(team=team).user
    make_rule(
        record_type="crm.lead",
        trigger="changed",
        change_conditions=[{"field": "score"}],
        conditions={"all": [{"field": "score", "op": "gte", "value": 90}]},
        actions=[{"type": "escalate", "message": "Hot lead: {{ last_name }}", "reassign": True}],
    )
    lead = _touch_lead(committing, LeadFactory(owner=rep, last_name="Vega"), score=95)
    note = Notification.objects.get(recipient=boss, kind="workflow.rule")
    assert note.title == "Hot lead: Vega"
    lead.refresh_from_db()
    assert lead.owner == boss


def test_escalate_without_a_manager_fails_and_is_reported(make_rule, committing, manager, settings):
    settings.WORKFLOWS_RETRY_SECONDS = []
    rule = make_rule(record_type="crm.lead", trigger="changed", actions=[{"type": "escalate"}])
    _touch_lead(committing, LeadFactory(), score=10)
    run = RuleRun.objects.get(rule=rule)
    assert run.status == "failed"
    assert "no manager" in run.reason
    assert Notification.objects.filter(recipient=manager, kind="workflow.failed").exists()


def test_email_from_a_template(make_rule, committing, manager, mailoutbox):
    template = EmailTemplate.objects.create(
        name="Welcome",
        subject="Welcome, {{ first_name }}",
        body="Hello {{ first_name }} at {{ account.name }}.",
        created_by=manager,
    )
    make_rule(trigger="created", actions=[{"type": "email", "template": template.pk, "to": "record"}])
    contact = ContactFactory.build(first_name="Ada", email="ada@acme.example")
    account = ContactFactory().account
    contact.account, contact.owner = account, account.owner
    committing(crm.contact_save, actor=account.owner, contact=contact)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@acme.example"]
    assert mailoutbox[0].subject == "Welcome, Ada"
    assert mailoutbox[0].body == f"Hello Ada at {account.name}."


def test_add_to_and_remove_from_a_segment(make_rule, committing, manager):
    from savedviews.models import SavedView

    view = SavedView.objects.create(list_key="contacts", name="Nordics", owner=manager, shared=True)
    make_rule(
        trigger="changed",
        change_conditions=[{"field": "job_title", "to": "CEO"}],
        actions=[{"type": "segment_add", "view": view.pk}],
    )
    make_rule(
        trigger="changed",
        change_conditions=[{"field": "job_title", "from": "CEO"}],
        actions=[{"type": "segment_remove", "view": view.pk}],
    )
    contact = ContactFactory(job_title="")
    contact.job_title = "CEO"
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    assert SegmentMember.objects.filter(view=view, record_id=contact.pk).exists()
    contact.job_title = "Advisor"
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    assert not SegmentMember.objects.filter(view=view, record_id=contact.pk).exists()


def test_call_a_webhook_endpoint(make_rule, committing, manager):
    from tests.webhooks.factories import EndpointFactory
    from webhooks.models import Delivery

    endpoint = EndpointFactory(event_types=["contact.created"])
    make_rule(trigger="changed", actions=[{"type": "webhook", "endpoint": endpoint.pk}])
    contact = ContactFactory()
    contact.job_title = "CTO"
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    delivery = Delivery.objects.select_related("event").get(endpoint=endpoint)
    assert delivery.event.type == "workflow.rule_fired"
    assert f'"record_id":{contact.pk}' in delivery.event.body


def test_send_an_invitation(make_rule, committing):
    from invitations.models import Invitation

    contract = ContractFactory()
    make_rule(
        trigger="changed",
        change_conditions=[{"field": "consent_to_contact", "to": "true"}],
        actions=[{"type": "invite"}],
    )
    contact = ContactFactory(account=contract.account, consent_to_contact=False)
    contact.consent_to_contact = True
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    assert Invitation.objects.filter(contact=contact).count() == 1
