from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory, ContractFactory, MembershipFactory

pytestmark = pytest.mark.django_db

URL = reverse("analytics:report_detail", args=["contracts"])


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def contracts(sales_rep, other_rep):
    a, b, c, d = (AccountFactory(owner=sales_rep) for _ in range(4))
    # Active: ends in 20, 45, 80 and 300 days. a's is renewed in advance (a draft successor).
    ContractFactory(account=a, end_date=_days(20), value=Decimal("1000"))
    ContractFactory(account=a, status="draft", start_date=_days(21), end_date=_days(400), value=Decimal("1200"))
    ContractFactory(account=b, end_date=_days(45), value=Decimal("2000"))
    ContractFactory(account=c, end_date=_days(80), value=Decimal("3000"))
    ContractFactory(account=d, end_date=_days(300), value=Decimal("4000"))
    # b's people would lose access: it has a portal user and nothing after its contract.
    MembershipFactory(account=b)
    # Ended 40 days ago: c's was renewed (its current contract started after it), d's old one too;
    # a lost customer's was not.
    ContractFactory(account=c, status="expired", start_date=_days(-400), end_date=_days(-40), value=Decimal("500"))
    lost = AccountFactory(owner=sales_rep)
    ContractFactory(account=lost, status="expired", start_date=_days(-400), end_date=_days(-40), value=Decimal("700"))
    # Bob's active contract, ending in 10 days.
    ContractFactory(account=AccountFactory(owner=other_rep), end_date=_days(10), value=Decimal("9999"))


def _figures(response):
    return {f.label: f for f in response.context["report"].figures}


def test_known_answers_for_a_rep(contracts, rep_client):
    figures = _figures(rep_client.get(URL))
    assert figures["Active contracts"].value == 4
    assert figures["Active value"].value == Decimal("10000.00")
    assert figures["Expiring in 30 days"].value == 1
    assert figures["Expiring in 60 days"].value == 2
    assert figures["Expiring in 90 days"].value == 3
    assert figures["Renewed / lost"].value == "1 / 1"


def test_accounts_losing_portal_access(contracts, rep_client):
    rows = rep_client.get(URL).context["report"].table("access_at_risk").rows
    assert len(rows) == 1
    assert rows[0][3].value == 1


def test_manager_sees_bobs_contract_too(contracts, manager_client):
    figures = _figures(manager_client.get(URL))
    assert figures["Active contracts"].value == 5
    assert figures["Expiring in 30 days"].value == 2


def test_drill_down_equals_the_figures(contracts, rep_client):
    report = rep_client.get(URL).context["report"]
    for row in report.table("expiring").rows:
        records = rep_client.get(row[1].href).context
        assert records["summary"]["count"] == row[1].value
        assert records["summary"]["amount"] == row[2].value
    for row in report.table("renewals").rows:
        for cell in (row[1], row[3]):
            assert rep_client.get(cell.href).context["summary"]["count"] == cell.value
    assert sum(row[1].value + row[3].value for row in report.table("renewals").rows) == 2


def test_query_count_is_constant(contracts, rep_client, sales_rep, django_assert_max_num_queries):
    rep_client.get(URL)
    with django_assert_max_num_queries(13) as first:
        rep_client.get(URL)
    for _ in range(4):
        MembershipFactory(account=ContractFactory(account=AccountFactory(owner=sales_rep), end_date=_days(15)).account)
    with django_assert_max_num_queries(len(first.captured_queries)):
        rep_client.get(URL)
