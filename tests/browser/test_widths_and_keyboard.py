"""Pages fit the screens people use, and the keyboard reaches the content first (#15)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FACTORY_PASSWORD, sign_in
from tests.factories import ContactFactory, ContractFactory, ExternalUserFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.browser


def _members(account):
    admin_user = ExternalUserFactory(email="olga.admin@acme.example", first_name="Olga", last_name="Admin")
    MembershipFactory(user=admin_user, account=account, roles=["org_admin", "buyer", "technical_contact"])
    colleague = ExternalUserFactory(email="a.very.long.address.for.a.colleague@acme-industries.example")
    MembershipFactory(user=colleague, account=account, roles=["buyer", "technical_contact", "billing_contact"])
    return admin_user


def test_my_organisation_fits_a_390_px_phone_with_suspend_and_remove_in_reach(page, live_server):
    account = ContractFactory(account__name="Acme Industries").account
    admin_user = _members(account)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, email=admin_user.email, password=FACTORY_PASSWORD)

    page.goto("/portal/organisation/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for name in ("Suspend", "Remove from the organisation"):
        button = page.locator(f'button[title="{name}"]').first
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 390


def test_the_account_page_at_1366_shows_verified_and_the_portal_user_buttons(page, live_server):
    ops = StaffFactory(staff_role="operations", email="olivia.ops@clientele.example")
    account = ContractFactory(account__name="Acme Industries").account
    ContactFactory(account=account, first_name="Carl", last_name="Fischer", email="carl@acme-industries.example")
    _members(account)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, email=ops.email, password=FACTORY_PASSWORD)

    page.goto(f"/accounts/{account.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    verified = page.locator("th", has_text="Verified").first
    expect(verified).to_be_in_viewport()

    page.goto(f"/accounts/{account.pk}/?tab=portal-users#portal-users")
    for name in ("Suspend", "Remove from the organisation"):
        button = page.locator(f'#portal-users button[title="{name}"], button[title="{name}"]').first
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 1366


def test_the_first_tab_is_a_skip_link_to_the_content_with_a_visible_focus_ring(page, live_server):
    rep = StaffFactory(email="sam.sales@clientele.example")
    sign_in(page, email=rep.email, password=FACTORY_PASSWORD)
    page.goto("/contacts/")

    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("e => getComputedStyle(e).outlineWidth")
    assert outline == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
