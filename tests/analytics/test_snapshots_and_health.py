from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import ReportSnapshot
from analytics.reports.snapshots import report_snapshot_take
from analytics.services import data_health_refresh
from analytics.tasks import report_snapshot_take_task
from crm.models import Opportunity
from history.models import RecordChange
from tests.factories import AccountFactory, ContactFactory, ContractFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(sales_rep, other_rep):
    mine = AccountFactory(owner=sales_rep)
    OpportunityFactory(account=mine, amount=Decimal("1000"), probability=50)
    OpportunityFactory(account=mine, amount=Decimal("3000"), probability=10, stage="prospecting")
    OpportunityFactory(account=mine, amount=Decimal("9999"), probability=100, stage="won")
    ContractFactory(account=mine, value=Decimal("500"))
    ContractFactory(account=AccountFactory(owner=other_rep), value=Decimal("700"))


def test_snapshot_job_is_idempotent_per_day(books, sales_rep, other_rep):
    assert report_snapshot_take() == 2
    first = list(ReportSnapshot.objects.order_by("owner_id").values("day", "owner_id", "open_deals", "open_amount"))
    assert report_snapshot_take_task() == 2
    again = list(ReportSnapshot.objects.order_by("owner_id").values("day", "owner_id", "open_deals", "open_amount"))
    assert again == first
    assert ReportSnapshot.objects.count() == 2
    alice = ReportSnapshot.objects.get(owner=sales_rep)
    assert (alice.open_deals, alice.open_amount, alice.weighted_amount) == (2, Decimal("4000"), Decimal("800"))
    assert (alice.active_contracts, alice.active_value) == (1, Decimal("500"))
    bob = ReportSnapshot.objects.get(owner=other_rep)
    assert (bob.open_deals, bob.active_contracts) == (0, 1)


def test_a_rerun_follows_the_day_and_drops_owners_with_nothing_left(books, other_rep):
    report_snapshot_take()
    ContractFactory._meta.model.objects.filter(owner=other_rep).update(status="expired")
    report_snapshot_take()
    assert not ReportSnapshot.objects.filter(owner=other_rep).exists()
    tomorrow = timezone.now() + dt.timedelta(days=1)
    report_snapshot_take(now=tomorrow)
    assert ReportSnapshot.objects.values("day").distinct().count() == 2


def test_pipeline_trend_reads_the_snapshots(books, rep_client, sales_rep):
    report_snapshot_take()
    Opportunity.objects.all().delete()  # the trend does not rescan deals
    report = rep_client.get(reverse("analytics:report_detail", args=["pipeline"])).context["report"]
    trend = report.table("trend").rows
    assert [cell.value for cell in trend[-1][1:]] == [Decimal("4000.00"), Decimal("800.00"), 2]


def test_data_health_report_shows_the_snapshot_and_self_service(rep_client, manager_client, sales_rep):
    contact = ContactFactory(owner=sales_rep, last_verified_at=timezone.now(), verification_method="rep")
    ContactFactory(owner=sales_rep)
    data_health_refresh()
    RecordChange.objects.create(
        record_type="crm.contact",
        record_id=contact.pk,
        record_label=str(contact),
        kind="updated",
        changes={"phone": {"old": "", "new": "+49301234567"}},
        channel="portal",
    )
    url = reverse("analytics:report_detail", args=["data-health"])
    response = rep_client.get(url)
    assert response.status_code == 200
    figures = {f.label: f for f in response.context["report"].figures}
    assert figures["Contacts"].value == 2
    assert figures["Fresh"].value == 50.0
    assert figures["Portal updates"].value == 1
    records = rep_client.get(figures["Portal updates"].href)
    assert records.context["summary"]["count"] == 1
    decay = response.context["report"].table("decay").rows
    assert decay[-1][1].value == 50.0
    assert manager_client.get(url).status_code == 200
