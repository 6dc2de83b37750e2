"""The Foundation's done-when, in a real browser: search, account 360°, log a call, convert a lead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Account, Activity, Lead
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, ContractFactory, LeadFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_searches_opens_the_account_360_and_logs_a_call(signed_in_page):
    rep = StaffFactory(first_name="Rita", last_name="Rep")
    acme = AccountFactory(name="Acme Corporation", owner=rep)
    ContractFactory(account=acme)
    ContactFactory(account=acme, first_name="Carl", last_name="Fischer", email="carl@acme.example")
    ActivityFactory(account=acme, author=rep, subject="Quarterly check-in")
    page = signed_in_page(rep)

    page.get_by_role("searchbox", name="Search everything").fill("fischer")
    page.get_by_role("searchbox", name="Search everything").press("Enter")
    page.locator("main").get_by_role("link", name=re.compile(r"^Carl Fischer")).click()
    page.get_by_role("link", name="Acme Corporation").first.click()

    expect(page).to_have_url(re.compile(rf"/accounts/{acme.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Corporation")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customer")
    expect(page.locator("#timeline").get_by_text("Quarterly check-in")).to_be_visible()

    page.get_by_label("Subject").fill("Called Carl about the renewal")
    page.get_by_role("button", name="Log").click()

    # htmx swaps the timeline in place: the new call is on top, nobody navigated away.
    expect(page.locator("#timeline li").first).to_contain_text("Called Carl about the renewal")
    expect(page).to_have_url(re.compile(rf"/accounts/{acme.pk}/$"))
    call = Activity.objects.get(subject="Called Carl about the renewal")
    assert call.account == acme
    assert call.author == rep


def test_rep_converts_a_lead_into_an_account(signed_in_page):
    rep = StaffFactory()
    lead = LeadFactory(owner=rep, first_name="Nina", last_name="Berger", company_name="Alpenkraft AG")
    page = signed_in_page(rep)

    page.goto(f"/leads/{lead.pk}/")
    page.get_by_role("link", name="Convert").click()
    page.get_by_label("Opportunity name").fill("Alpenkraft pilot")
    page.get_by_role("button", name="Convert lead").click()

    account = Account.objects.get(name="Alpenkraft AG")
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alpenkraft AG")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert account.opportunities.get().name == "Alpenkraft pilot"
