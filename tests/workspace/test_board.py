"""The opportunity board: columns by stage with totals in SQL, lazy columns, moves through the service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import Opportunity
from history.models import RecordChange
from iam.models import AuditEvent
from tests.factories import AccountFactory, OpportunityFactory, StaffFactory
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Event

pytestmark = pytest.mark.django_db

BOARD = reverse("crm:opportunity_board")


def _columns(response) -> dict[str, object]:
    return {column.stage: column for column in response.context["columns"]}


def test_columns_count_total_and_weight_each_stage(rep_client):
    OpportunityFactory(stage="proposal", probability=50, amount=Decimal("1000"))
    OpportunityFactory(stage="proposal", probability=50, amount=Decimal("3000"))
    OpportunityFactory(stage="negotiation", probability=75, amount=Decimal("2000"))
    OpportunityFactory(stage="won", probability=100, amount=Decimal("500"))

    columns = _columns(rep_client.get(BOARD))

    assert list(columns) == [stage.value for stage in Opportunity.Stage]
    assert (columns["proposal"].count, columns["proposal"].total, columns["proposal"].weighted) == (
        2,
        Decimal("4000"),
        Decimal("2000"),
    )
    assert (columns["negotiation"].count, columns["negotiation"].weighted) == (1, Decimal("1500"))
    assert columns["prospecting"].count == 0
    assert [c.amount for c in columns["won"].cards] == [Decimal("500")]


def test_filters_by_owner_close_month_and_amount(rep_client, sales_rep):
    mine = OpportunityFactory(owner=sales_rep, expected_close_date=dt.date(2027, 3, 10), amount=Decimal("5000"))
    OpportunityFactory(owner=sales_rep, expected_close_date=dt.date(2027, 4, 1), amount=Decimal("5000"))
    OpportunityFactory(owner=sales_rep, expected_close_date=dt.date(2027, 3, 31), amount=Decimal("50"))
    OpportunityFactory(owner=StaffFactory(), expected_close_date=dt.date(2027, 3, 10), amount=Decimal("5000"))

    response = rep_client.get(
        BOARD, {"owner": sales_rep.pk, "close_month": "2027-03", "min_amount": "100", "max_amount": "9000"}
    )

    assert [card.pk for column in response.context["columns"] for card in column.cards] == [mine.pk]


def test_a_bad_filter_says_so_and_shows_nothing(rep_client):
    OpportunityFactory()
    response = rep_client.get(BOARD, {"close_month": "March"})
    assert "Pick a month" in response.content.decode()
    assert sum(column.count for column in response.context["columns"]) == 0


def test_a_column_shows_its_first_cards_and_loads_the_rest(rep_client, settings):
    today = dt.date(2027, 1, 1)
    deals = [
        OpportunityFactory(stage="qualification", probability=25, expected_close_date=today + dt.timedelta(days=n))
        for n in range(23)
    ]
    column = _columns(rep_client.get(BOARD))["qualification"]
    assert [c.pk for c in column.cards] == [d.pk for d in deals[:20]]
    assert column.count == 23
    assert column.next_cursor

    more = rep_client.get(
        reverse("crm:opportunity_board_column", args=["qualification"]),
        {"cursor": column.next_cursor},
        headers={"HX-Request": "true"},
    )
    assert [c.pk for c in more.context["cards"]] == [d.pk for d in deals[20:]]
    assert more.context["next_cursor"] is None


def test_the_board_costs_the_same_queries_with_3_or_60_deals(rep_client, django_assert_max_num_queries):
    for stage in ("prospecting", "proposal", "won"):
        OpportunityFactory(stage=stage, probability=Opportunity.DEFAULT_PROBABILITY[stage])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        rep_client.get(BOARD)
    for stage in Opportunity.Stage.values:
        for _ in range(10):
            OpportunityFactory(stage=stage, probability=Opportunity.DEFAULT_PROBABILITY[stage])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = rep_client.get(BOARD)
    assert sum(len(column.cards) for column in response.context["columns"]) == 63


def test_moving_a_card_goes_through_the_service_with_history_audit_and_webhook(rep_client, sales_rep):
    EndpointFactory()
    deal = OpportunityFactory(stage="proposal", probability=50, amount=Decimal("1000"))

    response = rep_client.post(
        reverse("crm:opportunity_move", args=[deal.pk]), {"stage": "won"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.json()["columns"]["won"]["count"] == 1
    deal.refresh_from_db()
    assert (deal.stage, deal.probability) == ("won", 100)
    change = RecordChange.objects.filter(record_type="crm.opportunity", record_id=deal.pk).latest("pk")
    assert change.changes["stage"] == {"old": "proposal", "new": "won"}
    assert change.changes["probability"] == {"old": 50, "new": 100}
    assert change.actor == sales_rep
    event = AuditEvent.objects.get(action="crm.opportunity.stage_changed")
    assert event.data == {"from": "proposal", "to": "won"}
    assert Event.objects.filter(type="opportunity.stage_changed").count() == 1
    assert Event.objects.get(type="opportunity.updated").payload["data"]["stage"] == "won"


def test_a_move_without_script_redirects_back_to_the_board(rep_client):
    deal = OpportunityFactory(stage="proposal", probability=50)
    response = rep_client.post(reverse("crm:opportunity_move", args=[deal.pk]), {"stage": "negotiation"})
    assert response.status_code == 302
    assert response["Location"] == BOARD
    deal.refresh_from_db()
    assert deal.stage == "negotiation"


def test_a_move_to_no_stage_changes_nothing(rep_client):
    deal = OpportunityFactory(stage="proposal", probability=50)
    response = rep_client.post(
        reverse("crm:opportunity_move", args=[deal.pk]), {"stage": "bogus"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert "not a stage" in response.json()["error"]
    deal.refresh_from_db()
    assert deal.stage == "proposal"
    assert not AuditEvent.objects.filter(action="crm.opportunity.stage_changed").exists()


def test_portal_users_cannot_see_the_board_or_move_a_deal(external_client):
    deal = OpportunityFactory(account=AccountFactory(), stage="proposal", probability=50)
    assert external_client.get(BOARD).status_code == 404
    assert external_client.post(reverse("crm:opportunity_move", args=[deal.pk]), {"stage": "won"}).status_code == 404
    deal.refresh_from_db()
    assert deal.stage == "proposal"


def test_cards_link_to_the_deal_and_move_through_its_url(rep_client):
    deal = OpportunityFactory(stage="proposal", probability=50)
    html = rep_client.get(BOARD).content.decode()
    assert f'href="{deal.get_absolute_url()}"' in html
    assert f'data-move-url="{reverse("crm:opportunity_move", args=[deal.pk])}"' in html
