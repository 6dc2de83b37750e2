from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from analytics.reports import funnel
from analytics.reports.base import Filters
from crm.models import Lead
from invitations.models import Invitation
from tests.factories import AccountFactory, ContractFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = reverse("analytics:report_detail", args=["funnel"])


def _invite(lead, *, sent_days_after: int, accepted_days_after: int | None = None) -> Invitation:
    sent = lead.created_at + dt.timedelta(days=sent_days_after)
    accepted = lead.created_at + dt.timedelta(days=accepted_days_after) if accepted_days_after is not None else None
    return Invitation.objects.create(
        email=lead.email.lower(),
        lead=lead,
        invited_by=lead.owner,
        status=Invitation.Status.ACCEPTED if accepted else Invitation.Status.SENT,
        expires_at=sent + dt.timedelta(days=14),
        sent_at=sent,
        accepted_at=accepted,
    )


@pytest.fixture
def leads(sales_rep, other_rep):
    """Alice's five leads from 10 days ago: 3 invited, 2 registered, 1 qualified, 1 customer."""
    came_in = timezone.now() - dt.timedelta(days=10)
    web = [LeadFactory(owner=sales_rep, source="web", created_at=came_in) for _ in range(3)]
    fair = [LeadFactory(owner=sales_rep, source="trade_fair", created_at=came_in) for _ in range(2)]
    _invite(web[0], sent_days_after=1, accepted_days_after=3)
    _invite(web[1], sent_days_after=3, accepted_days_after=4)
    _invite(fair[0], sent_days_after=2)
    customer = AccountFactory(owner=sales_rep)
    ContractFactory(account=customer)
    Lead.objects.filter(pk=web[0].pk).update(
        status="converted", converted_at=came_in + dt.timedelta(days=6), converted_account=customer
    )
    Lead.objects.filter(pk=web[1].pk).update(status="registered")
    # Bob's lead, and one of Alice's long before the period.
    LeadFactory(owner=other_rep, source="web", created_at=came_in)
    LeadFactory(owner=sales_rep, source="web", created_at=timezone.now() - dt.timedelta(days=900))
    return web + fair


def test_known_answers(leads, sales_rep):
    start, end = funnel.default_period()
    report = funnel.build(user=sales_rep, filters=Filters(start=start, end=end, owner_id=sales_rep.pk))
    figures = {figure.label: figure.value for figure in report.figures}
    assert figures == {"Leads": 5, "Invited": 3, "Registered": 2, "Qualified": 1, "Customer": 1}
    steps = {row[0].value: row for row in report.table("steps").rows}
    assert steps["Invited"][2].value == 60.0
    assert steps["Registered"][3].value == pytest.approx(66.7)
    if connection.vendor == "postgresql":  # medians are percentile_cont; SQLite shows "—"
        assert steps["Invited"][4].value == 2.0  # median of 1, 2 and 3 days to the first invitation
        assert steps["Registered"][4].value == 1.5  # median of 2 and 1 days from sent to accepted
        assert steps["Customer"][4].value == 6.0
    else:
        assert steps["Invited"][4].value is None
    sources = {row[0].value: [cell.value for cell in row[1:]] for row in report.table("by_source").rows}
    assert sources == {"Website": [3, 2, 2, 1, 1, 33.3], "Trade fair": [2, 1, 0, 0, 0, 0.0]}
    segment = {row[0].value: [cell.value for cell in row[1:]] for row in report.table("segment").rows}
    assert segment["Registered in the portal"][:3] == [2, 1, 1]
    assert segment["Not registered"][:3] == [3, 0, 0]


def test_source_filter(leads, rep_client):
    response = rep_client.get(URL, {"source": "trade_fair"})
    figures = {f.label: f.value for f in response.context["report"].figures}
    assert figures["Leads"] == 2
    assert figures["Invited"] == 1


def test_rep_never_counts_another_reps_leads(leads, rep_client, other_rep):
    response = rep_client.get(URL, {"owner": other_rep.pk})
    assert {f.label: f.value for f in response.context["report"].figures}["Leads"] == 5


def test_manager_counts_everyone(leads, manager_client):
    response = manager_client.get(URL)
    assert {f.label: f.value for f in response.context["report"].figures}["Leads"] == 6


def test_drill_down_from_every_step_lists_its_leads(leads, manager_client):
    report = manager_client.get(URL).context["report"]
    for figure in report.figures:
        records = manager_client.get(figure.href)
        assert records.context["summary"]["count"] == figure.value, figure.label
    for row in report.table("by_source").rows:
        for cell in row[1:6]:
            assert manager_client.get(cell.href).context["summary"]["count"] == cell.value


def test_query_count_is_constant(leads, rep_client, django_assert_max_num_queries):
    rep_client.get(URL)
    with django_assert_max_num_queries(13) as first:
        rep_client.get(URL)
    LeadFactory.create_batch(5, owner=leads[0].owner, source="partner")
    with django_assert_max_num_queries(len(first.captured_queries)):
        rep_client.get(URL)


def test_a_lead_counts_in_the_local_month_and_period_it_came_in(sales_rep):
    """00:30 on the 1st in Auckland is still the previous month in UTC: the site's time zone decides."""
    import zoneinfo

    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    with timezone.override(auckland):
        first = timezone.localdate().replace(day=1)
        came_in = dt.datetime.combine(first, dt.time(0, 30), tzinfo=auckland)
        LeadFactory(owner=sales_rep, created_at=came_in)
        LeadFactory(owner=sales_rep, created_at=came_in - dt.timedelta(hours=1))  # the last day before, locally
        report = funnel.build(user=sales_rep, filters=Filters(start=first, end=timezone.localdate()))
        assert {f.label: f.value for f in report.figures}["Leads"] == 1
        months = {row[0].value: row[1].value for row in report.table("by_month").rows}
        assert months == {first.strftime("%b %Y"): 1}
