from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from iam.models import User
from tests.factories import AccountFactory, ActivityFactory, OpportunityFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(sales_rep, other_rep):
    close = timezone.localdate()
    OpportunityFactory(account=AccountFactory(owner=sales_rep), amount=Decimal("1000"), expected_close_date=close)
    OpportunityFactory(account=AccountFactory(owner=other_rep), amount=Decimal("3000"), expected_close_date=close)
    ActivityFactory(
        account=AccountFactory(owner=other_rep),
        kind="task",
        done=False,
        done_at=None,
        due_at=timezone.now() - dt.timedelta(days=1),
    )


def test_manager_lands_on_the_team_dashboard(deals, manager_client):
    response = manager_client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "analytics/reports/team_dashboard.html"
    figures = {f.label: f.value for f in response.context["figures"]}
    assert figures["Open pipeline"] == Decimal("4000.00")
    assert figures["Overdue tasks"] == 1
    assert len(response.context["owners"].rows) == 2


def test_manager_can_still_open_their_own_work(manager_client):
    response = manager_client.get("/", {"view": "mine"})
    assert response.templates[0].name == "crm/home.html"


def test_operations_land_on_the_team_dashboard(db):
    ops = StaffFactory(staff_role=User.StaffRole.OPERATIONS)
    client = Client()
    client.force_login(ops)
    assert client.get("/").templates[0].name == "analytics/reports/team_dashboard.html"


def test_rep_keeps_my_work_with_a_link_to_their_pipeline_report(deals, rep_client):
    response = rep_client.get("/")
    assert response.templates[0].name == "crm/home.html"
    assert 'href="/reports/pipeline/"' in response.content.decode()


def test_dashboard_query_count_is_constant(deals, manager_client, django_assert_max_num_queries):
    manager_client.get("/")
    with django_assert_max_num_queries(30) as first:
        manager_client.get("/")
    for _ in range(5):
        OpportunityFactory(expected_close_date=timezone.localdate())
    with django_assert_max_num_queries(len(first.captured_queries)):
        manager_client.get("/")
