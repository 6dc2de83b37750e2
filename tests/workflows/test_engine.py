"""Triggers, conditions, the run log, loops, retries and attribution: through the services a user calls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Case
from crm import services as crm
from crm.models import Account, Activity, Contact, Lead
from history.models import RecordChange
from iam.models import AuditEvent
from notifications.models import Notification
from tests.factories import AccountFactory, ContactFactory, LeadFactory, StaffFactory, make_case
from workflows import engine
from workflows.models import Rule, RuleRun, RuleRunStep

pytestmark = pytest.mark.django_db

TASK = {"type": "task", "subject": "Call {{ first_name }} about {{ account.name }}", "due_in_hours": 24}


def _edit_contact(committing, contact, **changes):
    for name, value in changes.items():
        setattr(contact, name, value)
    return committing(crm.contact_save, actor=contact.owner, contact=contact)


def test_created_trigger_fires_once_per_created_record(make_rule, committing):
    rule = make_rule(trigger="created", actions=[TASK])
    account = AccountFactory(name="Acme GmbH")
    contact = committing(
        crm.contact_save,
        actor=account.owner,
        contact=Contact(account=account, owner=account.owner, last_name="Li", first_name="Jo"),
    )
    task = Activity.objects.get(contact=contact)
    assert task.subject == "Call Jo about Acme GmbH"
    assert task.kind == Activity.Kind.TASK
    assert task.due_at is not None
    assert task.owner == account.owner
    run = RuleRun.objects.get(rule=rule)
    assert run.status == RuleRun.Status.DONE
    assert run.record_id == contact.pk
    _edit_contact(committing, contact, job_title="CTO")  # a change is not a creation
    assert Activity.objects.filter(contact=contact).count() == 1


def test_changed_to_and_from(make_rule, committing):
    make_rule(
        record_type="crm.lead",
        trigger="changed",
        change_conditions=[{"field": "status", "from": "new", "to": "qualified"}],
        actions=[{"type": "notify", "message": "{{ last_name }} is qualified"}],
    )
    lead = LeadFactory(status=Lead.Status.NEW)
    lead.status = Lead.Status.WORKING
    committing(crm.lead_save, actor=lead.owner, lead=lead)
    assert not Notification.objects.filter(kind="workflow.rule").exists()
    lead = LeadFactory(status=Lead.Status.NEW, last_name="Quinn")
    lead.status = Lead.Status.QUALIFIED
    committing(crm.lead_save, actor=lead.owner, lead=lead)
    note = Notification.objects.get(kind="workflow.rule")
    assert note.recipient == lead.owner
    assert note.title == "Quinn is qualified"


def test_condition_on_related_account_and_count(make_rule, committing):
    rule = make_rule(
        trigger="changed",
        conditions={
            "all": [
                {"field": "account.tier", "op": "eq", "value": "key"},
                {"field": "account.open_cases", "op": "gt", "value": 1},
            ]
        },
        actions=[TASK],
    )
    key = AccountFactory(tier=Account.Tier.KEY)
    contact = ContactFactory(account=key)
    _edit_contact(committing, contact, job_title="Buyer")
    assert RuleRun.objects.get(rule=rule).reason == "Condition not met."  # no open cases yet
    make_case(account=key)
    make_case(account=key)
    _edit_contact(committing, contact, job_title="Head of buying")
    assert RuleRun.objects.filter(rule=rule, status="done").count() == 1


def test_or_groups(make_rule, committing):
    rule = make_rule(
        trigger="changed",
        conditions={
            "any": [
                {"all": [{"field": "job_title", "op": "contains", "value": "chief"}]},
                {"field": "account.country", "op": "eq", "value": "FI"},
            ]
        },
        actions=[TASK],
    )
    de, fi = ContactFactory(account=AccountFactory(country="DE")), ContactFactory(account=AccountFactory(country="FI"))
    _edit_contact(committing, de, job_title="Buyer")
    _edit_contact(committing, fi, job_title="Buyer")
    _edit_contact(committing, de, job_title="Chief buyer")
    fired = set(RuleRun.objects.filter(rule=rule, status="done").values_list("record_id", "reason"))
    assert {pk for pk, _ in fired} == {fi.pk, de.pk}
    assert RuleRun.objects.filter(rule=rule, status="skipped").count() == 1


def test_custom_field_condition_and_set_field(make_rule, committing):
    from tests.factories import CustomFieldFactory

    CustomFieldFactory(model="crm.contact", key="region", label="Region", type="text")
    CustomFieldFactory(model="crm.contact", key="segment", label="Segment", type="text")
    make_rule(
        trigger="changed",
        conditions={"all": [{"field": "custom.region", "op": "eq", "value": "north"}]},
        actions=[{"type": "set_field", "field": "custom.segment", "value": "nordics"}],
    )
    contact = ContactFactory()
    contact.custom_fields = {"region": "north"}
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    contact.refresh_from_db()
    assert contact.custom_fields["segment"] == "nordics"


def test_rule_change_is_attributed_to_the_rule(make_rule, committing):
    rule = make_rule(
        record_type="crm.lead",
        trigger="created",
        actions=[{"type": "set_field", "field": "status", "value": "working"}],
    )
    rep = StaffFactory()
    lead = committing(crm.lead_save, actor=rep, lead=Lead(last_name="Ode", email="o@ode.example", owner=rep))
    lead.refresh_from_db()
    assert lead.status == "working"
    change = RecordChange.objects.filter(record_type="crm.lead", record_id=lead.pk, kind="updated").get()
    assert change.changes["status"] == {"old": "new", "new": "working"}
    assert change.job == rule.label == f"workflow rule #{rule.pk} 'Rule'"
    assert change.credential == rule.label
    assert change.credential_reference == {"workflow_rule": rule.pk}
    assert change.channel == "job"


def test_audit_of_a_rule_change_names_the_rule(make_rule, committing):
    rule = make_rule(
        record_type="crm.contract",
        trigger="changed",
        change_conditions=[{"field": "value"}],
        actions=[{"type": "set_field", "field": "status", "value": "terminated"}],
    )
    from tests.factories import ContractFactory

    contract = ContractFactory()
    contract.value = 1
    committing(crm.contract_save, actor=contract.owner, contract=contract)
    event = AuditEvent.objects.filter(action="crm.contract.status_changed", target_id=str(contract.pk)).latest("pk")
    assert event.actor_label == rule.label
    assert event.data["workflow_rule"] == rule.pk
    assert event.data["job"] == rule.label


def test_loop_between_two_rules_stops(make_rule, committing):
    a = make_rule(
        name="A",
        trigger="changed",
        change_conditions=[{"field": "job_title", "to": "x"}],
        actions=[{"type": "set_field", "field": "job_title", "value": "y"}],
        max_depth=2,
    )
    b = make_rule(
        name="B",
        trigger="changed",
        change_conditions=[{"field": "job_title", "to": "y"}],
        actions=[{"type": "set_field", "field": "job_title", "value": "x"}],
        max_depth=2,
    )
    contact = ContactFactory(job_title="")
    _edit_contact(committing, contact, job_title="x")
    runs = list(RuleRun.objects.order_by("pk").values_list("rule__name", "status", "depth"))
    # A (person's change, depth 0) → B (1) → A (2) → B at depth 3 is beyond its max depth.
    assert runs == [("A", "done", 0), ("B", "done", 1), ("A", "done", 2), ("B", "skipped", 3)]
    assert RuleRun.objects.get(rule=b, depth=3).reason.startswith("Loop guard")
    assert a.pk


def test_rules_run_in_their_order(make_rule, committing, manager):
    from workflows import services

    second = make_rule(
        name="second",
        trigger="changed",
        actions=[{"type": "set_field", "field": "job_title", "value": "second"}],
        max_depth=0,
    )
    first = make_rule(
        name="first",
        trigger="changed",
        actions=[{"type": "set_field", "field": "job_title", "value": "first"}],
        max_depth=0,
    )
    services.rule_move(actor=manager, rule=first, direction="up")
    contact = ContactFactory()
    _edit_contact(committing, contact, last_name="Renamed")
    contact.refresh_from_db()
    assert contact.job_title == "second"  # first ran first, second last
    assert list(RuleRun.objects.filter(status="done").order_by("pk").values_list("rule__name", flat=True)) == [
        "first",
        "second",
    ]
    assert second.pk


def test_same_event_twice_runs_once(make_rule, committing):
    make_rule(trigger="changed", actions=[TASK])
    contact = ContactFactory()
    _edit_contact(committing, contact, job_title="CFO")
    change = RecordChange.objects.filter(record_id=contact.pk, kind="updated").get()
    engine.dispatch("history", [change.pk])  # a redelivered task
    assert Activity.objects.filter(contact=contact).count() == 1
    assert RuleRun.objects.count() == 1


def test_killed_worker_does_not_repeat_an_action(make_rule, committing, monkeypatch):
    from workflows import actions

    rule = make_rule(trigger="changed", actions=[TASK, {"type": "notify", "message": "hi"}])
    real = actions.perform
    calls = {"n": 0}

    def dies_at_second(spec, **kw):
        if spec["type"] == "notify" and calls["n"] == 0:
            calls["n"] += 1
            raise SystemExit("worker killed")
        return real(spec, **kw)

    monkeypatch.setattr(actions, "perform", dies_at_second)
    contact = ContactFactory()
    with pytest.raises(SystemExit):
        _edit_contact(committing, contact, job_title="CFO")
    run = RuleRun.objects.get(rule=rule)
    assert run.status == "running"
    assert list(RuleRunStep.objects.filter(run=run).values_list("index", flat=True)) == [0]
    # Still within its lease: nobody else takes it.
    assert engine.run_execute(run.pk) == "not-claimed"
    later = timezone.now() + engine.LEASE + dt.timedelta(seconds=1)
    assert engine.run_execute(run.pk, now=later) == "done"
    assert Activity.objects.filter(contact=contact).count() == 1  # the task was not created twice
    assert Notification.objects.filter(kind="workflow.rule").count() == 1


def test_failing_action_is_retried_then_reported(make_rule, committing, manager, settings):
    settings.WORKFLOWS_RETRY_SECONDS = [1, 1]
    rule = make_rule(trigger="changed", actions=[TASK], enabled=False)
    # A custom field archived after the rule was written: the action fails every time.
    Rule.objects.filter(pk=rule.pk).update(
        enabled=True, actions=[{"type": "set_field", "field": "custom.gone", "value": "x"}]
    )
    from workflows.triggers import forget_index

    forget_index()
    contact = ContactFactory()
    _edit_contact(committing, contact, job_title="CFO")  # the user's change went through
    contact.refresh_from_db()
    assert contact.job_title == "CFO"
    run = RuleRun.objects.get(rule=rule)
    assert run.status == "failed"
    assert run.attempts == 3
    assert len([e for e in run.log if not e["ok"]]) == 3
    alert = Notification.objects.get(kind="workflow.failed")
    assert alert.recipient == manager
    assert "Unknown custom field" in alert.body
    assert AuditEvent.objects.filter(action="workflows.rule.failed", target_id=str(rule.pk)).exists()


def test_product_event_contract_ended(make_rule, committing):
    from tests.factories import ContractFactory

    rule = make_rule(
        trigger="event", event="contract.ended", actions=[{"type": "notify", "message": "{{ number }} ended"}]
    )
    contract = ContractFactory()
    contract.status = "terminated"
    committing(crm.contract_save, actor=contract.owner, contract=contract)
    assert RuleRun.objects.get(rule=rule).record_id == contract.pk
    assert Notification.objects.get(kind="workflow.rule").title == f"{contract.number} ended"


def test_case_breach_event(make_rule, committing):
    from cases.breach import cases_sla_scan

    rule = make_rule(
        trigger="event", event="case.breached", actions=[{"type": "notify", "message": "Breached: {{ subject }}"}]
    )
    case = make_case()
    Case.objects.filter(pk=case.pk).update(
        resolution_due_at=timezone.now() - dt.timedelta(hours=1), sla_state="ok", status="open"
    )
    committing(cases_sla_scan)
    assert RuleRun.objects.get(rule=rule).status in ("done",)


def test_time_trigger_fires_when_due_and_rechecks_condition(make_rule, manager, django_capture_on_commit_callbacks):
    rule = make_rule(
        record_type="crm.contract",
        trigger="time",
        time_field="end_date",
        time_offset_hours=-24 * 30,
        conditions={"all": [{"field": "status", "op": "eq", "value": "active"}]},
        actions=[{"type": "notify", "message": "{{ number }} ends in 30 days"}],
    )
    from tests.factories import ContractFactory

    now = timezone.now()
    Rule.objects.filter(pk=rule.pk).update(time_scanned_until=now)
    due = ContractFactory(end_date=(now + dt.timedelta(days=31)).date())  # its midnight is 30-31 days away
    ContractFactory(end_date=(now + dt.timedelta(days=31)).date(), status="terminated")  # condition fails
    ContractFactory(end_date=(now + dt.timedelta(days=90)).date())  # not yet
    later = now + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.time_scan(now=later) == 1
    assert RuleRun.objects.get(rule=rule).record_id == due.pk
    assert Notification.objects.filter(kind="workflow.rule").count() == 1
    assert engine.time_scan(now=later + dt.timedelta(minutes=1)) == 0  # nothing new fell due


def test_dry_run_changes_nothing(make_rule, committing, django_assert_max_num_queries):
    contact = ContactFactory(job_title="")
    _edit_contact(committing, contact, job_title="CEO")
    rule = Rule(
        name="t",
        record_type="crm.contact",
        trigger="changed",
        conditions={"all": [{"field": "job_title", "op": "eq", "value": "CEO"}]},
        actions=[TASK],
    )
    before = (
        Activity.objects.count(),
        RuleRun.objects.count(),
        RecordChange.objects.count(),
        AuditEvent.objects.count(),
    )
    with django_assert_max_num_queries(4):
        lines = engine.dry_run(rule)
    assert [(line.record_id, line.fire) for line in lines] == [(contact.pk, True)]
    assert (
        Activity.objects.count(),
        RuleRun.objects.count(),
        RecordChange.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_evaluation_costs_two_queries_however_many_rules(make_rule, committing, django_assert_num_queries):
    for n in range(20):
        make_rule(
            name=f"r{n}",
            trigger="changed",
            conditions={
                "all": [
                    {"field": "account.tier", "op": "eq", "value": "key"},
                    {"field": "account.open_cases", "op": "gt", "value": n},
                ]
            },
            actions=[TASK],
        )
    contact = ContactFactory()
    _edit_contact(committing, contact, job_title="x")  # warm: log the first runs
    change = RecordChange.objects.filter(record_id=contact.pk).latest("pk")
    rules = engine.enabled_rules({"crm.contact"}, engine.RECORD_TRIGGERS)
    from workflows.events import from_history

    occurrences = from_history([change])
    # customfields definitions come from their cache; the counts are one SELECT, the twenty
    # conditions one more.
    with django_assert_num_queries(2):
        planned = engine.plan(occurrences, rules, 0)
    assert len(planned) == 20
    assert not any(p.fire for p in planned)
