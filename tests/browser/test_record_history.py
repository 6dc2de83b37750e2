"""The History tab in a real browser: edit a contact, open the tab, read who changed what."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ContactFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_edits_a_contact_and_reads_the_change_on_the_history_tab(signed_in_page, tmp_path):
    rep = StaffFactory(first_name="Rita", last_name="Rep")
    contact = ContactFactory(first_name="Carl", last_name="Fischer", job_title="Buyer", owner=rep)
    page = signed_in_page(rep)

    page.goto(f"/contacts/{contact.pk}/edit/")
    page.get_by_label("Job title").fill("Head of purchasing")
    page.get_by_role("button", name=re.compile("Save")).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))

    page.get_by_role("tab", name="History").click()
    change = page.locator("#history li").first
    expect(change).to_contain_text("Changed")
    expect(change).to_contain_text(rep.email)
    expect(change).to_contain_text("CRM")
    row = change.locator("tr", has_text="Job title")
    expect(row.locator(".history-old")).to_have_text("Buyer")
    expect(row.locator(".history-new")).to_have_text("Head of purchasing")
    page.screenshot(path=str(tmp_path / "history-tab.png"), full_page=True)
