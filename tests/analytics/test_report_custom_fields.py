"""Reports filter and group by a filterable single-choice custom field of the records they count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Opportunity
from tests.factories import AccountFactory, CustomFieldFactory, LeadFactory, OpportunityFactory, choices

pytestmark = pytest.mark.django_db

URL = reverse("analytics:report_detail", args=["pipeline"])


@pytest.fixture
def deals(sales_rep):
    CustomFieldFactory(
        model="crm.opportunity",
        key="region",
        label="Region",
        type="choice",
        choices=choices("north", "south"),
        filterable=True,
    )
    # Not filterable, and not a single choice: neither is offered.
    CustomFieldFactory(model="crm.opportunity", key="segment", type="choice", choices=choices("smb"))
    CustomFieldFactory(model="crm.opportunity", key="note", type="text", filterable=True)
    account = AccountFactory(owner=sales_rep)
    soon = timezone.localdate()
    for region, amount in (("north", "1000"), ("north", "3000"), ("south", "500"), (None, "200")):
        OpportunityFactory(
            account=account,
            stage="proposal",
            probability=50,
            amount=Decimal(amount),
            expected_close_date=soon,
            custom_fields={"region": region} if region else {},
        )
    OpportunityFactory(account=account, stage="won", probability=100, amount=Decimal("9000"), expected_close_date=soon)


def test_the_filter_and_group_offer_only_filterable_single_choice_fields(deals, manager_client):
    form = manager_client.get(URL).context["form"]
    assert "cf_region" in form.fields
    assert "cf_segment" not in form.fields
    assert "cf_note" not in form.fields
    assert form.fields["group"].choices == [("", "Nothing more"), ("cf_region", "Region")]


def test_filtering_by_a_choice_counts_only_its_records(deals, manager_client):
    report = manager_client.get(URL, {"cf_region": "north"}).context["report"]
    figures = {f.label: f for f in report.figures}
    assert figures["Open pipeline"].value == Decimal("4000.00")
    assert "cf_region=north" in figures["Open pipeline"].href
    records = manager_client.get(figures["Open pipeline"].href).context
    assert (records["summary"]["count"], records["summary"]["amount"]) == (2, Decimal("4000"))


def test_grouping_by_a_choice_adds_a_table_whose_cells_drill_to_exactly_their_deals(deals, manager_client):
    report = manager_client.get(URL, {"group": "cf_region"}).context["report"]
    table = report.table("by_custom")
    assert [[cell.value for cell in row] for row in table.rows] == [
        ["North", 2, Decimal("4000.00"), Decimal("2000.00")],
        ["South", 1, Decimal("500.00"), Decimal("250.00")],
        ["No value", 1, Decimal("200.00"), Decimal("100.00")],
    ]
    for row in table.rows[:2]:
        records = manager_client.get(row[1].href).context
        assert records["summary"]["count"] == row[1].value
        assert records["summary"]["amount"] == row[2].value
    assert manager_client.get(URL).context["report"].table("by_custom") is None


def test_an_unknown_choice_is_a_form_error_and_changes_no_figure(deals, manager_client):
    response = manager_client.get(URL, {"cf_region": "west"})
    assert "cf_region" in response.context["form"].errors
    figures = {f.label: f.value for f in response.context["report"].figures}
    assert figures["Open pipeline"] == Decimal("4700.00")


def test_the_funnel_filters_by_a_lead_choice_field(sales_rep, manager_client):
    CustomFieldFactory(
        model="crm.lead", key="campaign", label="Campaign", type="choice", choices=choices("spring"), filterable=True
    )
    LeadFactory.create_batch(2, owner=sales_rep, custom_fields={"campaign": "spring"})
    LeadFactory(owner=sales_rep)
    url = reverse("analytics:report_detail", args=["funnel"])
    figures = {f.label: f.value for f in manager_client.get(url, {"cf_campaign": "spring"}).context["report"].figures}
    assert figures["Leads"] == 2
    assert Opportunity.objects.count() == 0
