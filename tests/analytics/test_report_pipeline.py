from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.reports import pipeline
from analytics.reports.base import Filters
from crm.models import Opportunity
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

URL = reverse("analytics:report_detail", args=["pipeline"])


def _month(offset_days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset_days)


@pytest.fixture
def book(sales_rep, other_rep):
    """Alice: 3 open deals (two in proposal) and a won and a lost one; Bob: one open deal."""
    mine = AccountFactory(owner=sales_rep, tier="key")
    theirs = AccountFactory(owner=other_rep)
    soon = _month(5)
    OpportunityFactory(account=mine, stage="proposal", probability=50, amount=Decimal("1000"), expected_close_date=soon)
    OpportunityFactory(account=mine, stage="proposal", probability=50, amount=Decimal("3000"), expected_close_date=soon)
    OpportunityFactory(
        account=mine, stage="negotiation", probability=75, amount=Decimal("2000"), expected_close_date=soon
    )
    OpportunityFactory(account=mine, stage="won", probability=100, amount=Decimal("5000"), expected_close_date=soon)
    OpportunityFactory(account=mine, stage="lost", probability=0, amount=Decimal("700"), expected_close_date=soon)
    OpportunityFactory(
        account=theirs, stage="proposal", probability=50, amount=Decimal("9000"), expected_close_date=soon
    )
    # Outside the period: counts nowhere.
    OpportunityFactory(
        account=mine, stage="proposal", probability=50, amount=Decimal("100000"), expected_close_date=_month(800)
    )
    return mine


def _figures(report):
    return {figure.label: figure.value for figure in report.figures}


def test_known_answers_for_a_rep(book, sales_rep):
    start, end = pipeline.default_period()
    report = pipeline.build(user=sales_rep, filters=Filters(start=start, end=end, owner_id=sales_rep.pk))
    figures = _figures(report)
    assert figures["Open pipeline"] == Decimal("6000.00")
    assert figures["Weighted forecast"] == Decimal("3500.00")  # 500 + 1500 + 1500
    assert figures["Won"] == Decimal("5000.00")
    assert figures["Win rate"] == 50.0
    assert figures["Average deal"] == Decimal("5000.00")
    stages = {row[0].value: row[1].value for row in report.table("by_stage").rows}
    assert stages == {"Prospecting": 0, "Qualification": 0, "Proposal": 2, "Negotiation": 1}


def test_rep_page_shows_only_their_book_even_when_asking_for_another_owner(book, rep_client, other_rep):
    response = rep_client.get(URL, {"owner": other_rep.pk})
    assert response.status_code == 200
    figures = {f.label: f.value for f in response.context["report"].figures}
    assert figures["Open pipeline"] == Decimal("6000.00")
    owners = [row[0].value for row in response.context["report"].table("by_owner").rows]
    assert owners == ["Alice Rep"]


def test_manager_sees_everyone_and_filters_by_owner(book, manager_client, other_rep):
    everyone = manager_client.get(URL)
    assert {f.label: f.value for f in everyone.context["report"].figures}["Open pipeline"] == Decimal("15000.00")
    bob = manager_client.get(URL, {"owner": other_rep.pk})
    assert {f.label: f.value for f in bob.context["report"].figures}["Open pipeline"] == Decimal("9000.00")
    key_tier = manager_client.get(URL, {"tier": "key"})
    assert {f.label: f.value for f in key_tier.context["report"].figures}["Open pipeline"] == Decimal("6000.00")


def test_drill_down_lists_exactly_the_counted_records(book, manager_client):
    report = manager_client.get(URL).context["report"]
    proposal = next(row for row in report.table("by_stage").rows if row[0].value == "Proposal")
    response = manager_client.get(proposal[1].href)
    assert response.status_code == 200
    assert response.context["summary"]["count"] == proposal[1].value == 3
    assert response.context["summary"]["amount"] == proposal[2].value == Decimal("13000.00")
    open_figure = next(f for f in report.figures if f.label == "Open pipeline")
    assert manager_client.get(open_figure.href).context["summary"]["amount"] == open_figure.value


def test_rep_cannot_drill_into_another_reps_records(book, rep_client, sales_rep, other_rep):
    records = reverse("analytics:report_records", args=["pipeline"])
    response = rep_client.get(records, {"metric": "open", "owner": other_rep.pk})
    assert response.context["summary"]["count"] == 3
    assert set(response.context["records"].queryset.values_list("owner", flat=True)) == {sales_rep.pk}
    assert "9,000" not in response.content.decode()


def test_csv_equals_the_table(book, manager_client):
    response = manager_client.get(URL, {"format": "csv", "table": "by_stage"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Stage", "Deals", "Amount", "Weighted"]
    assert ["Proposal", "3", "13000.00", "6500.00"] in rows


def test_query_count_is_constant(book, manager_client, django_assert_max_num_queries):
    manager_client.get(URL)
    with django_assert_max_num_queries(17) as first:
        manager_client.get(URL)
    AccountFactory.create_batch(3)
    for _ in range(5):
        OpportunityFactory(stage="qualification", probability=25, expected_close_date=_month(10))
    with django_assert_max_num_queries(len(first.captured_queries)):
        manager_client.get(URL)


def test_outsiders_are_kept_out(book, external_client, client):
    assert external_client.get(URL).status_code == 404
    assert external_client.get(reverse("analytics:report_records", args=["pipeline"])).status_code == 404
    assert client.get(URL).status_code == 302


def test_unknown_report_is_404(manager_client):
    assert manager_client.get(reverse("analytics:report_detail", args=["nope"])).status_code == 404


def test_empty_period_has_empty_figures(manager_client):
    response = manager_client.get(URL, {"start": "2001-01-01", "end": "2001-03-31"})
    figures = {f.label: f.value for f in response.context["report"].figures}
    assert figures["Open pipeline"] == Decimal("0.00")
    assert figures["Win rate"] is None
    assert b"Nothing to chart" in response.content


def test_bad_period_says_why_and_falls_back(manager_client):
    response = manager_client.get(URL, {"start": "2026-05-01", "end": "2026-01-01"})
    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert Opportunity.objects.count() == 0
