"""A sales rep signs in through the real form and lands on their work."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import StaffFactory

pytestmark = pytest.mark.browser


def test_sales_rep_signs_in_and_lands_on_my_work(signed_in_page, live_server):
    rep = StaffFactory(email="rita.rep@clientele.example", first_name="Rita", last_name="Rep")

    page = signed_in_page(rep)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page).to_have_title(re.compile(r"^My work"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rita")


def test_wrong_password_keeps_the_rep_on_the_sign_in_form(page):
    rep = StaffFactory(email="rita.rep@clientele.example")

    page.goto("/auth/login/")
    page.locator('input[name="login"]').fill(rep.email)
    page.locator('input[name="password"]').fill("not the password")
    page.locator('form button[type="submit"]').first.click()

    # allauth's message; the form answers in place and nobody is signed in.
    expect(page.get_by_text(re.compile(r"not correct", re.IGNORECASE))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/auth/login/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login/"))
