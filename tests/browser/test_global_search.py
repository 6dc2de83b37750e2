"""The top bar's search in Chromium: Ctrl+K and "/" open it, results come grouped, arrows + Enter open one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import AccountFactory, ContactFactory, LeadFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_keyboard_opens_searches_and_opens_a_result(signed_in_page):
    rep = StaffFactory()
    account = AccountFactory(name="Quokka Systems")
    contact = ContactFactory(account=account, first_name="Quinn", last_name="Quokka")
    LeadFactory(first_name="Lou", last_name="Quokka", company_name="Quokka Labs")
    page = signed_in_page(rep)
    page.goto("/accounts/")

    page.keyboard.press("Control+k")
    box = page.get_by_role("searchbox", name="Search everything")
    expect(box).to_be_focused()
    box.type("quokka")
    results = page.locator("#search-results")
    expect(results.get_by_role("heading", name="Accounts")).to_be_visible()
    expect(results.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(results.get_by_role("heading", name="Leads")).to_be_visible()
    expect(results.locator("[data-search-hit]")).to_have_count(3)

    box.press("ArrowDown")  # Quokka Systems (accounts come first)
    box.press("ArrowDown")  # Quinn Quokka
    expect(results.locator("[data-search-hit].active")).to_contain_text("Quinn Quokka")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))

    page.keyboard.press("Escape")
    page.locator("body").click()
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search everything")).to_be_focused()
