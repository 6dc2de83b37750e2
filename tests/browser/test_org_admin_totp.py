"""An org admin with an authenticator app signs in with password and TOTP, then changes a colleague's role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from iam.models import Membership
from tests.browser.conftest import FACTORY_PASSWORD
from tests.factories import ExternalUserFactory, MembershipFactory

pytestmark = pytest.mark.browser

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str, *, at: float | None = None, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 over HMAC-SHA1, computed here rather than with allauth's internal helpers."""
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def test_rfc6238_reference_value():
    # RFC 6238 appendix B: SHA1, secret "12345678901234567890", T=59s, 8 digits.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp_code(secret, at=59, digits=8) == "94287082"


def _activate_totp(user) -> None:
    # allauth's TOTP.activate lives in allauth.mfa.totp.internal; the model and adapter are public.
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": get_mfa_adapter().encrypt(TOTP_SECRET)}
    )


def test_org_admin_signs_in_with_totp_and_changes_a_members_role(page, live_server):
    admin_user = ExternalUserFactory(email="olga.admin@acme.example", first_name="Olga", last_name="Admin")
    admin = MembershipFactory(user=admin_user, roles=["org_admin", "buyer", "technical_contact"])
    colleague = MembershipFactory(
        user=ExternalUserFactory(email="carl.colleague@acme.example", first_name="Carl", last_name="Colleague"),
        account=admin.account,
        roles=["buyer"],
    )
    _activate_totp(admin_user)

    page.goto("/auth/login/")
    form = page.locator("form").filter(has=page.locator('input[name="password"]'))
    form.locator('input[name="login"]').fill(admin_user.email)
    form.locator('input[name="password"]').fill(FACTORY_PASSWORD)
    form.locator('button[type="submit"]').click()

    # The password alone is not enough: allauth asks for the second factor.
    expect(page).to_have_url(re.compile(r"/auth/2fa/authenticate/"))
    code_input = page.locator('input[name="code"]')
    # Stay clear of a 30-second boundary so the code is still valid when it arrives.
    if time.time() % 30 > 27:
        time.sleep(31 - time.time() % 30)
    code_input.fill(totp_code(TOTP_SECRET))
    code_input.locator("xpath=ancestor::form").locator('button[type="submit"]').click()

    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Olga")

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="My organisation").click()
    expect(page).to_have_url(re.compile(r"/portal/organisation/$"))
    page.get_by_role("link", name="Carl Colleague").click()
    page.get_by_role("checkbox", name=re.compile(r"Technical contact")).check()
    # Roles the admin may not grant are shown but locked.
    expect(page.get_by_role("checkbox", name=re.compile(r"Organisation admin"))).to_be_disabled()
    page.get_by_role("button", name="Save roles").click()

    expect(page.get_by_role("alert").filter(has_text="Roles of Carl Colleague saved")).to_be_visible()
    roles = set(Membership.objects.get(pk=colleague.pk).roles.values_list("key", flat=True))
    assert roles == {"buyer", "technical_contact"}
