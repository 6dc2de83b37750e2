"""Who may build rules (managers and operations), who may not (reps 403, portal 404), the
builder, the dry-run page, and the API resource with its scopes."""

from __future__ import annotations

import pytest
from django.test import Client

from iam.models import AuditEvent
from tests.api.factories import Api, issue_key
from tests.factories import ContactFactory
from workflows.models import Rule, RuleRun

pytestmark = pytest.mark.django_db

TASK = {"type": "task", "subject": "Call {{ first_name }}"}


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def test_a_rep_gets_403_on_every_automation_page(make_rule, rep_client):
    rule = make_rule(actions=[TASK])
    for path in (
        "/automation/",
        "/automation/new/",
        f"/automation/{rule.pk}/",
        f"/automation/{rule.pk}/dry-run/",
        f"/automation/{rule.pk}/edit/",
    ):
        assert rep_client.get(path).status_code == 403, path
    assert rep_client.post(f"/automation/{rule.pk}/toggle/").status_code == 403
    rule.refresh_from_db()
    assert rule.enabled


def test_a_portal_user_gets_404(make_rule, external_client):
    rule = make_rule(actions=[TASK])
    assert external_client.get("/automation/").status_code == 404
    assert external_client.get(f"/automation/{rule.pk}/").status_code == 404


def test_a_manager_builds_a_rule_in_the_form(manager_client, manager):
    form = {
        "name": "Key account follow-up",
        "description": "",
        "trigger": "changed",
        "event": "",
        "time_field": "",
        "time_offset_hours": "",
        "max_depth": "2",
        "change_field": "job_title",
        "change_from": "",
        "change_to": "CEO",
        "c-TOTAL_FORMS": "2",
        "c-INITIAL_FORMS": "0",
        "c-MIN_NUM_FORMS": "0",
        "c-MAX_NUM_FORMS": "30",
        "c-0-group": "1",
        "c-0-field": "account.tier",
        "c-0-op": "eq",
        "c-0-value": "key",
        "c-1-group": "2",
        "c-1-field": "account.open_cases",
        "c-1-op": "gt",
        "c-1-value": "3",
        "a-TOTAL_FORMS": "2",
        "a-INITIAL_FORMS": "0",
        "a-MIN_NUM_FORMS": "0",
        "a-MAX_NUM_FORMS": "20",
        "a-0-type": "task",
        "a-0-kind": "call",
        "a-0-subject": "Congratulate {{ first_name }}",
        "a-0-due_in_hours": "48",
        "a-1-type": "",
    }
    response = manager_client.post("/automation/new/?record_type=crm.contact", form)
    assert response.status_code == 302, [
        line for line in response.content.decode().splitlines() if "feedback" in line or "alert" in line
    ]
    rule = Rule.objects.get()
    assert rule.enabled is False  # a new rule starts switched off
    assert rule.change_conditions == [{"field": "job_title", "to": "CEO"}]
    assert rule.conditions == {
        "any": [
            {"all": [{"field": "account.tier", "op": "eq", "value": "key"}]},
            {"all": [{"field": "account.open_cases", "op": "gt", "value": "3"}]},
        ]
    }
    assert rule.actions == [
        {"type": "task", "kind": "call", "subject": "Congratulate {{ first_name }}", "due_in_hours": 48}
    ]
    assert AuditEvent.objects.filter(action="workflows.rule.created", target_id=str(rule.pk)).exists()
    page = manager_client.get(f"/automation/{rule.pk}/edit/")
    assert page.status_code == 200
    assert "Congratulate" in page.content.decode()


def test_bad_input_is_a_form_error_and_saves_nothing(manager_client):
    form = {
        "name": "Broken",
        "trigger": "saved",
        "max_depth": "2",
        "c-TOTAL_FORMS": "1",
        "c-INITIAL_FORMS": "0",
        "c-MIN_NUM_FORMS": "0",
        "c-MAX_NUM_FORMS": "30",
        "c-0-group": "1",
        "c-0-field": "account.open_cases",
        "c-0-op": "gt",
        "c-0-value": "many",
        "a-TOTAL_FORMS": "1",
        "a-INITIAL_FORMS": "0",
        "a-MIN_NUM_FORMS": "0",
        "a-MAX_NUM_FORMS": "20",
        "a-0-type": "",
    }
    response = manager_client.post("/automation/new/?record_type=crm.contact", form)
    assert response.status_code == 200
    text = response.content.decode()
    assert "is not a whole number" in text
    assert "add an action" in text
    assert not Rule.objects.exists()


def test_list_toggle_order_and_audit(make_rule, manager_client, django_assert_max_num_queries):
    a = make_rule(name="A", actions=[TASK])
    b = make_rule(name="B", actions=[TASK], enabled=False)
    with django_assert_max_num_queries(12):
        page = manager_client.get("/automation/")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index(">A<") < text.index(">B<")
    manager_client.post(f"/automation/{b.pk}/move/", {"direction": "up"})
    assert list(Rule.objects.order_by("position").values_list("name", flat=True)) == ["B", "A"]
    manager_client.post(f"/automation/{a.pk}/toggle/")
    a.refresh_from_db()
    assert not a.enabled
    assert AuditEvent.objects.filter(action="workflows.rule.disabled", target_id=str(a.pk)).exists()


def test_list_costs_the_same_with_many_rules(make_rule, manager_client, django_assert_max_num_queries):
    make_rule(name="first", actions=[TASK])
    with django_assert_max_num_queries(12) as few:
        manager_client.get("/automation/")
    for n in range(15):
        make_rule(name=f"r{n}", actions=[TASK])
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager_client.get("/automation/")


def test_dry_run_page_shows_what_would_happen_and_changes_nothing(make_rule, manager_client, committing):
    from crm import services as crm

    contact = ContactFactory(job_title="")
    contact.job_title = "CEO"
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    rule = make_rule(trigger="changed", actions=[TASK], enabled=False)
    page = manager_client.get(f"/automation/{rule.pk}/dry-run/")
    assert page.status_code == 200
    assert "would have fired <strong>1</strong> time" in page.content.decode()
    assert not RuleRun.objects.exists()


def test_run_log_page(make_rule, manager_client, committing):
    from crm import services as crm

    rule = make_rule(trigger="changed", actions=[TASK])
    contact = ContactFactory()
    contact.job_title = "CFO"
    committing(crm.contact_save, actor=contact.owner, contact=contact)
    page = manager_client.get(f"/automation/{rule.pk}/")
    assert page.status_code == 200
    assert "Created task #" in page.content.decode()


# --- API ---------------------------------------------------------------------------------------


def test_api_create_patch_runs_dry_run_delete(ops_api, committing):
    created = ops_api.post(
        "/api/v1/workflow-rules/",
        {
            "name": "Welcome",
            "record_type": "crm.contact",
            "trigger": "created",
            "actions": [TASK],
            "enabled": True,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["enabled"] is True
    assert body["version"] == 1
    pk = body["id"]
    patched = ops_api.patch(
        f"/api/v1/workflow-rules/{pk}/",
        {"conditions": {"all": [{"field": "account.tier", "op": "eq", "value": "key"}]}},
    )
    assert patched.status_code == 200
    assert patched.json()["version"] == 2
    bad = ops_api.patch(
        f"/api/v1/workflow-rules/{pk}/", {"conditions": {"all": [{"field": "salary", "op": "eq", "value": 1}]}}
    )
    assert bad.status_code == 400
    assert ops_api.get(f"/api/v1/workflow-rules/{pk}/runs/").status_code == 200
    dry = ops_api.post(f"/api/v1/workflow-rules/{pk}/dry-run/")
    assert dry.status_code == 200
    assert dry.json()["days"] == 30
    assert ops_api.delete(f"/api/v1/workflow-rules/{pk}/").status_code == 204
    assert not Rule.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="workflows.rule.").order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "workflows.rule.created",
        "workflows.rule.enabled",
        "workflows.rule.changed",
        "workflows.rule.deleted",
    ]


def test_api_key_scopes(make_rule, ops):
    rule = make_rule(actions=[TASK])
    _key, reader = issue_key("workflow-rules:read", created_by=ops)
    api = Api(key=reader)
    assert api.get(f"/api/v1/workflow-rules/{rule.pk}/").status_code == 200
    assert api.patch(f"/api/v1/workflow-rules/{rule.pk}/", {"name": "x"}).status_code == 403
    _key, other = issue_key("contacts:read", created_by=ops)
    assert Api(key=other).get("/api/v1/workflow-rules/").status_code == 403


def test_api_a_rep_finds_no_rules_and_cannot_create(make_rule, rep_api):
    rule = make_rule(actions=[TASK])
    assert rep_api.get(f"/api/v1/workflow-rules/{rule.pk}/").status_code == 404
    response = rep_api.post(
        "/api/v1/workflow-rules/", {"name": "x", "record_type": "crm.contact", "trigger": "created", "actions": [TASK]}
    )
    assert response.status_code == 403
