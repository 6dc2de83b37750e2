"""The opportunity board in Chromium: dragging a card, or choosing its stage, moves the deal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.models import Opportunity
from iam.models import AuditEvent
from tests.factories import OpportunityFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dragging_a_card_to_another_column_changes_its_stage(signed_in_page):
    rep = StaffFactory()
    deal = OpportunityFactory(name="Dragon pilot", stage="proposal", probability=50, amount=Decimal("4000"))
    OpportunityFactory(name="Other deal", stage="negotiation", probability=75, amount=Decimal("1000"))
    page = signed_in_page(rep)
    page.goto("/opportunities/board/")

    card = page.locator("[data-card]", has_text="Dragon pilot")
    negotiation = page.locator('[data-column="negotiation"]')
    expect(negotiation.locator("[data-col-count]")).to_have_text("1")
    card.drag_to(negotiation.locator("[data-drop]"))

    expect(negotiation.locator("[data-card]", has_text="Dragon pilot")).to_be_visible()
    expect(negotiation.locator("[data-col-count]")).to_have_text("2")
    expect(negotiation.locator("[data-col-total]")).to_have_text("5,000")
    expect(page.locator('[data-column="proposal"] [data-col-count]')).to_have_text("0")
    page.wait_for_function("() => document.getElementById('board-status').textContent.includes('moved')")
    deal.refresh_from_db()
    assert (deal.stage, deal.probability) == ("negotiation", 75)
    assert AuditEvent.objects.filter(action="crm.opportunity.stage_changed", target_id=str(deal.pk)).count() == 1


def test_the_stage_menu_moves_a_card_from_the_keyboard(signed_in_page):
    rep = StaffFactory()
    deal = OpportunityFactory(name="Keyboard deal", stage="prospecting", probability=10)
    page = signed_in_page(rep)
    page.goto("/opportunities/board/")

    page.get_by_label("Stage of Keyboard deal").select_option("won")

    expect(page.locator('[data-column="won"] [data-card]', has_text="Keyboard deal")).to_be_visible()
    page.wait_for_function("() => document.getElementById('board-status').textContent.includes('moved')")
    assert Opportunity.objects.get(pk=deal.pk).stage == "won"
