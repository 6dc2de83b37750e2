from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

DEMO_LOGINS = ["ops@example.com", "manager@example.com", "sales@example.com", "admin@acme.example", "user@acme.example"]


def _snapshot() -> dict[str, list]:
    snapshot = {}
    for label in ("iam", "crm", "account"):
        for model in apps.get_app_config(label).get_models():
            rows = model.objects.order_by("pk").values()
            snapshot[model._meta.label] = [{k: v for k, v in row.items() if k != "last_login"} for row in rows]
    return snapshot


def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    first = _snapshot()
    call_command("seed_demo")
    assert _snapshot() == first
    assert all(first[label] for label in ("crm.Account", "crm.Contact", "crm.Lead", "crm.Opportunity"))


def test_seed_demo_prints_the_logins_and_they_work(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    for email in DEMO_LOGINS:
        assert email in out
    client = Client()
    response = client.post("/auth/login/", {"login": "sales@example.com", "password": "clientele-demo"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_seed_demo_has_every_contract_status_and_open_and_closed_deals():
    call_command("seed_demo")
    contract_statuses = set(apps.get_model("crm", "Contract").objects.values_list("status", flat=True))
    assert contract_statuses == {"draft", "active", "expired", "terminated"}
    stages = set(apps.get_model("crm", "Opportunity").objects.values_list("stage", flat=True))
    assert {"won", "lost", "proposal", "negotiation"} <= stages


def test_demo_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another-long-demo-pass")
    call_command("seed_demo")
    user = apps.get_model("iam", "User").objects.get(email="manager@example.com")
    assert user.check_password("another-long-demo-pass")


def test_demo_deals_are_opened_before_they_close_so_the_sales_cycle_is_positive():
    from django.utils import timezone

    from analytics.reports import pipeline
    from analytics.reports.base import Filters

    call_command("seed_demo")
    deals = apps.get_model("crm", "Opportunity").objects.all()
    assert all(timezone.localdate(deal.created_at) < deal.expected_close_date for deal in deals)
    assert all(deal.created_at <= timezone.now() for deal in deals)
    manager = apps.get_model("iam", "User").objects.get(email="manager@example.com")
    start, end = pipeline.default_period()
    figures = {f.label: f.value for f in pipeline.build(user=manager, filters=Filters(start=start, end=end)).figures}
    assert figures["Sales cycle"] > 0
