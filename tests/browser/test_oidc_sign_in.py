"""In Chromium: a consultant signs in to one of our applications and chooses the account they act for."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FACTORY_PASSWORD
from tests.factories import ContractFactory, MembershipFactory
from tests.oidc.factories import operations_user, register_application
from tests.oidc.relying_party import RelyingParty

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_consultant_signs_in_to_an_application_and_picks_the_account_on_the_chooser(page, live_server):
    callback = f"{live_server.url}/rp/callback"
    orders = register_application(
        actor=operations_user(), key="orders", redirect_uri=callback, roles={"orders:write": ["buyer"]}
    )
    acme_account = ContractFactory(account__name="Acme Industries").account
    acme = MembershipFactory(account=acme_account, roles=["buyer"], user__email="consultant@example.com")
    globex = ContractFactory(account__name="Globex Corporation").account
    MembershipFactory(user=acme.user, account=globex, roles=["technical_contact"])
    rp = RelyingParty(
        base_url=live_server.url, client_id=orders.client_id, client_secret=orders.client_secret, redirect_uri=callback
    )

    page.goto(rp.authorization_url())
    page.locator('input[name="login"]').fill(acme.user.email)
    page.locator('input[name="password"]').fill(FACTORY_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue to Orders")
    expect(page.locator("#account-choices a")).to_have_count(2)
    page.get_by_role("link", name=re.compile("Acme Industries")).click()
    page.wait_for_url(re.compile(rf"^{re.escape(callback)}\?"))

    claims = rp.verify_id_token(rp.fetch_token(page.url))
    assert claims["account_name"] == "Acme Industries"
    assert claims["roles"] == ["orders:write"]
