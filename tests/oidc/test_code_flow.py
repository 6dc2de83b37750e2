"""A real relying party (authlib) against the live provider: code + PKCE, ID token, refresh, userinfo."""

from __future__ import annotations

import pytest
from allauth.idp.oidc.models import Token
from authlib.integrations.base_client.errors import OAuthError

from tests.oidc.relying_party import callback_params

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in_flow(relying_party, user_agent, callback, *, email, **params):
    url = relying_party.authorization_url(**params)
    login_page = user_agent.open(url, stop_at=callback)
    assert "/auth/login/" in login_page.url
    return user_agent.sign_in(login_page, email=email, stop_at=callback)


def test_code_flow_with_pkce_gives_a_verified_id_token_with_the_account_and_application_roles(
    orders, member, relying_party, user_agent, callback
):
    rp = relying_party(orders)

    landed = _sign_in_flow(rp, user_agent, callback, email=member.user.email)
    assert isinstance(landed, str), landed.text[:1000]
    assert callback_params(landed)["state"] == rp.state
    token = rp.fetch_token(landed)
    claims = rp.verify_id_token(token)

    assert claims["sub"] == str(member.user.pk)
    assert claims["email"] == member.user.email
    assert claims["email_verified"] is True
    assert claims["name"] == member.user.get_full_name()
    assert claims["account_id"] == str(member.account.pk)
    assert claims["account_name"] == "Acme Industries"
    assert claims["roles"] == ["orders:read", "orders:write"]
    # Opaque: a random string looked up on every use, not a self-contained JWT.
    assert token["access_token"].count(".") < 2
    assert token["refresh_token"]
    userinfo = rp.userinfo()
    assert userinfo.status_code == 200
    assert userinfo.json()["roles"] == ["orders:read", "orders:write"]
    assert userinfo.json()["account_id"] == str(member.account.pk)


def test_refresh_rotates_the_refresh_token_and_keeps_the_claims(orders, member, relying_party, user_agent, callback):
    rp = relying_party(orders)
    token = rp.fetch_token(_sign_in_flow(rp, user_agent, callback, email=member.user.email))

    refreshed = rp.refresh()

    assert refreshed["refresh_token"] != token["refresh_token"]
    assert rp.verify_id_token(refreshed, expect_nonce=False)["roles"] == ["orders:read", "orders:write"]
    assert Token.objects.filter(user=member.user, type=Token.Type.REFRESH_TOKEN).count() == 1


def test_a_relying_party_asking_for_offline_access_and_a_scope_of_its_own_signs_in_and_refreshes(
    orders, member, relying_party, user_agent, callback
):
    """OIDC Core 3.1.2.1: values not understood are ignored; offline_access asks for a refresh token."""
    rp = relying_party(orders)
    # What the relying party is configured with: it sends it again with every refresh.
    rp.session.scope = "openid offline_access account orders.custom"

    landed = _sign_in_flow(rp, user_agent, callback, email=member.user.email)
    assert isinstance(landed, str), landed.text[:1000]
    assert "error" not in callback_params(landed)
    token = rp.fetch_token(landed)

    assert token["scope"] == "openid account"
    assert rp.verify_id_token(token)["account_id"] == str(member.account.pk)
    refreshed = rp.refresh()
    assert rp.verify_id_token(refreshed, expect_nonce=False)["roles"] == ["orders:read", "orders:write"]


def test_a_wrong_pkce_verifier_gets_no_tokens(orders, member, relying_party, user_agent, callback):
    rp = relying_party(orders)
    landed = _sign_in_flow(rp, user_agent, callback, email=member.user.email)
    rp.code_verifier = "x" * 64

    with pytest.raises(OAuthError, match="invalid_grant"):
        rp.fetch_token(landed)
    assert not Token.objects.filter(user=member.user).exists()


def test_a_public_client_signs_in_with_pkce_and_without_a_secret(
    ops, member, relying_party, user_agent, callback, live_server
):
    from tests.oidc.factories import register_application

    spa = register_application(
        actor=ops, key="spa", redirect_uri=callback, roles={"spa:use": ["buyer"]}, client_type="public"
    )
    assert spa.client_secret is None
    rp = relying_party(spa)

    claims = rp.verify_id_token(rp.fetch_token(_sign_in_flow(rp, user_agent, callback, email=member.user.email)))

    assert claims["roles"] == ["spa:use"]
    # Without a code challenge a public client is turned back at the authorization endpoint.
    url = rp.authorization_url().replace("code_challenge=", "x_challenge=")
    landed = user_agent.open(url, stop_at=callback)
    assert callback_params(landed)["error"] == "invalid_request"


def test_userinfo_costs_the_same_queries_however_many_accounts_and_applications_there_are(
    orders, billing, member, relying_party, user_agent, callback
):
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ContractFactory, MembershipFactory

    rp = relying_party(orders)
    token = rp.fetch_token(_sign_in_flow(rp, user_agent, callback, email=member.user.email))
    http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")

    def userinfo_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert http.get("/identity/o/api/userinfo").status_code == 200
        return len(queries.captured_queries)

    few = userinfo_queries()
    for n in range(5):
        MembershipFactory(user=member.user, account=ContractFactory().account, roles=["buyer", "billing_contact"])
        MembershipFactory(account=member.account, roles=["buyer"], user__email=f"colleague{n}@acme.example")
    assert userinfo_queries() == few
