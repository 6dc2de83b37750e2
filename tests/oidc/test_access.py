"""Tokens follow access: contract end and suspension revoke them; the account choice; per-client roles."""

from __future__ import annotations

import pytest
from allauth.idp.oidc.models import Token
from authlib.integrations.base_client.errors import OAuthError

from crm.models import Contract
from crm.services import contract_save
from iam.models import ApplicationAccountChoice, AuditEvent, Membership
from iam.services import membership_suspend
from tests.factories import ContractFactory, MembershipFactory, StaffFactory
from tests.oidc.relying_party import callback_params

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(rp, user_agent, callback, *, email, **params):
    """The whole front channel: the authorization URL, the login form, back at the callback."""
    page = user_agent.open(rp.authorization_url(**params), stop_at=callback)
    if isinstance(page, str):
        return page
    if "/auth/login/" in page.url:
        return user_agent.sign_in(page, email=email, stop_at=callback)
    return page


def _signed_in_tokens(rp, user_agent, callback, *, email, **params) -> dict:
    landed = _sign_in(rp, user_agent, callback, email=email, **params)
    assert isinstance(landed, str), landed.text[:1000]
    return rp.fetch_token(landed)


def test_after_the_contract_ends_the_refresh_fails_userinfo_is_401_and_a_new_sign_in_is_refused(
    orders, member, acme_contract, relying_party, user_agent, callback
):
    rp = relying_party(orders)
    _signed_in_tokens(rp, user_agent, callback, email=member.user.email)
    assert rp.userinfo().status_code == 200

    acme_contract.status = Contract.Status.TERMINATED
    contract_save(actor=acme_contract.owner, contract=acme_contract)

    assert not Token.objects.filter(user=member.user).exists()
    assert rp.userinfo().status_code == 401
    with pytest.raises(OAuthError, match="invalid_grant"):
        rp.refresh()
    # A new sign-in: the session ended with the contract, so the login form, then the no-access page.
    page = _sign_in(rp, user_agent, callback, email=member.user.email)
    assert not isinstance(page, str)
    assert "/portal/no-access/" in page.url
    assert "no active contract" in page.text
    assert not Token.objects.filter(user=member.user).exists()


def test_an_admin_suspension_revokes_that_members_tokens_at_once(orders, member, relying_party, user_agent, callback):
    rp = relying_party(orders)
    token = _signed_in_tokens(rp, user_agent, callback, email=member.user.email)
    introspected = rp.introspect(token["access_token"])
    assert introspected["active"] is True
    assert introspected["sub"] == str(member.user.pk)
    assert introspected["roles"] == ["orders:read", "orders:write"]
    colleague = MembershipFactory(account=member.account, roles=["buyer"])
    colleague_rp = relying_party(orders)
    colleague_agent = type(user_agent)(base_url=user_agent.base_url)
    _signed_in_tokens(colleague_rp, colleague_agent, callback, email=colleague.user.email)

    membership_suspend(actor=member.account.owner, membership=member)

    assert rp.userinfo().status_code == 401
    assert rp.introspect(token["access_token"]) == {"active": False}
    with pytest.raises(OAuthError, match="invalid_grant"):
        rp.refresh()
    # Only the suspended member's tokens go.
    assert colleague_rp.userinfo().status_code == 200
    assert Token.objects.filter(user=colleague.user, type=Token.Type.REFRESH_TOKEN).count() == 1


def test_a_code_issued_before_the_suspension_gets_no_tokens(orders, member, relying_party, user_agent, callback):
    rp = relying_party(orders)
    landed = _sign_in(rp, user_agent, callback, email=member.user.email)
    membership_suspend(actor=member.account.owner, membership=member)

    with pytest.raises(OAuthError, match="invalid_grant"):
        rp.fetch_token(landed)
    assert not Token.objects.filter(user=member.user).exists()


@pytest.fixture
def consultant(member):
    """Buyer at Acme, technical contact at Globex: two accounts, one login."""
    globex = ContractFactory(account__name="Globex Corporation").account
    MembershipFactory(user=member.user, account=globex, roles=["technical_contact", "billing_contact"])
    return member.user, member.account, globex


def test_a_consultant_chooses_the_account_and_the_claims_follow_the_choice(
    orders, consultant, relying_party, user_agent, callback
):
    user, acme, globex = consultant
    rp = relying_party(orders)

    page = _sign_in(rp, user_agent, callback, email=user.email)

    assert not isinstance(page, str)
    assert page.status_code == 200
    assert "Which one do you act for in Orders?" in page.text
    assert "Acme Industries" in page.text
    assert "Globex Corporation" in page.text
    assert not Token.objects.filter(user=user).exists()
    globex_link = next(line for line in page.text.splitlines() if f'data-account="{globex.pk}"' in line)
    href = globex_link.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    landed = user_agent.open(f"{user_agent.base_url}{href}", stop_at=callback)
    claims = rp.verify_id_token(rp.fetch_token(landed))
    assert claims["account_id"] == str(globex.pk)
    assert claims["account_name"] == "Globex Corporation"
    assert claims["roles"] == []  # technical and billing contacts have no Orders role

    # The application names the account (its own "switch organisation"): no chooser.
    landed = _sign_in(rp, user_agent, callback, email=user.email, account_hint=str(acme.pk))
    acme_token = rp.fetch_token(landed)
    claims = rp.verify_id_token(acme_token)
    assert claims["account_id"] == str(acme.pk)
    assert claims["roles"] == ["orders:read", "orders:write"]
    # Switching ended the tokens issued for Globex: a live token never changes account.
    assert Token.objects.filter(user=user, type=Token.Type.REFRESH_TOKEN).count() == 1
    assert ApplicationAccountChoice.objects.get(user=user, application=orders.application).account == acme
    chosen = AuditEvent.objects.filter(action="iam.application.account_chosen", actor=user).order_by("id")
    assert [(e.account_id, e.data["previous_account"]) for e in chosen] == [(globex.pk, None), (acme.pk, globex.pk)]


def test_the_chooser_lists_only_accounts_the_consultant_may_use_now(
    orders, consultant, relying_party, user_agent, callback
):
    user, acme, globex = consultant
    Contract.objects.filter(account=globex).update(status=Contract.Status.TERMINATED)
    rp = relying_party(orders)

    landed = _sign_in(rp, user_agent, callback, email=user.email, account_hint=str(globex.pk))

    # Globex cannot be used: the chooser says so and offers only Acme.
    assert not isinstance(landed, str)
    assert "asked for an organisation you cannot use right now" in landed.text
    assert f'data-account="{acme.pk}"' in landed.text
    assert f'data-account="{globex.pk}"' not in landed.text


def test_silent_authorization_for_a_consultant_without_a_choice_answers_account_selection_required(
    orders, consultant, relying_party, user_agent, callback
):
    user, _acme, _globex = consultant
    rp = relying_party(orders)
    page = user_agent.open(rp.authorization_url(), stop_at=callback)
    user_agent.sign_in(page, email=user.email, stop_at=callback)  # stops at the chooser

    landed = user_agent.open(rp.authorization_url(prompt="none"), stop_at=callback)

    assert callback_params(landed) == {"error": "account_selection_required", "state": rp.state}


def test_a_client_of_another_application_gets_that_applications_roles_only(
    orders, billing, consultant, relying_party, user_agent, callback
):
    user, acme, _globex = consultant
    orders_rp, billing_rp = relying_party(orders), relying_party(billing)

    orders_claims = orders_rp.verify_id_token(
        _signed_in_tokens(orders_rp, user_agent, callback, email=user.email, account_hint=str(acme.pk))
    )
    billing_claims = billing_rp.verify_id_token(
        _signed_in_tokens(billing_rp, user_agent, callback, email=user.email, account_hint=str(acme.pk))
    )

    assert orders_claims["aud"] == orders.client_id
    assert orders_claims["roles"] == ["orders:read", "orders:write"]
    assert billing_claims["aud"] == billing.client_id
    assert billing_claims["roles"] == ["invoices:read"]
    assert billing_rp.userinfo().json()["roles"] == ["invoices:read"]
    # One application's code or refresh token is worthless to the other's client.
    billing_rp.session.token = orders_rp.session.token
    with pytest.raises(OAuthError, match="invalid_grant"):
        billing_rp.refresh()


def test_staff_logins_do_not_sign_in_to_customer_applications(orders, relying_party, user_agent, callback):
    staff = StaffFactory(email="rep.oidc@clientele.example")
    rp = relying_party(orders)

    page = _sign_in(rp, user_agent, callback, email=staff.email)

    assert not isinstance(page, str)
    assert page.status_code == 403
    assert "Staff logins work in the CRM" in page.text
    assert not Token.objects.filter(user=staff).exists()


def test_a_switched_off_application_signs_nobody_in(orders, member, relying_party, user_agent, callback):
    orders.application.is_active = False
    orders.application.save(update_fields=["is_active"])
    rp = relying_party(orders)

    page = _sign_in(rp, user_agent, callback, email=member.user.email)

    assert not isinstance(page, str)
    assert page.status_code == 403
    assert "switched off" in page.text
    assert not Token.objects.exists()


def test_rp_initiated_logout_ends_the_session_and_the_applications_tokens(
    orders, member, relying_party, user_agent, callback, live_server
):
    rp = relying_party(orders)
    token = _signed_in_tokens(rp, user_agent, callback, email=member.user.email)
    logged_out = f"{live_server.url}/rp/logged-out"

    landed = user_agent.open(
        f"{rp.metadata['end_session_endpoint']}?id_token_hint={token['id_token']}"
        f"&post_logout_redirect_uri={logged_out}&state=bye",
        stop_at=logged_out,
    )

    assert landed == f"{logged_out}?state=bye"
    assert not Token.objects.filter(user=member.user).exists()
    assert rp.userinfo().status_code == 401
    page = user_agent.open(rp.authorization_url(), stop_at=callback)
    assert "/auth/login/" in page.url  # signed out of the provider too


def test_a_membership_removed_is_a_membership_suspended_for_tokens(orders, member, relying_party, user_agent, callback):
    from iam.services import membership_remove

    rp = relying_party(orders)
    _signed_in_tokens(rp, user_agent, callback, email=member.user.email)

    membership_remove(actor=member.account.owner, membership=member)

    assert Membership.objects.get(pk=member.pk).status == Membership.Status.DEACTIVATED
    assert rp.userinfo().status_code == 401


def test_the_periodic_contract_expiry_revokes_tokens_and_a_second_run_changes_nothing(
    orders, member, acme_contract, relying_party, user_agent, callback
):
    import datetime as dt

    from django.utils import timezone

    from crm.contracts import contracts_expire_due

    rp = relying_party(orders)
    _signed_in_tokens(rp, user_agent, callback, email=member.user.email)
    Contract.objects.filter(pk=acme_contract.pk).update(end_date=timezone.localdate() - dt.timedelta(days=1))

    assert contracts_expire_due() == 1
    events = AuditEvent.objects.count()
    assert contracts_expire_due() == 0

    assert AuditEvent.objects.count() == events
    assert not Token.objects.filter(user=member.user).exists()
    assert rp.userinfo().status_code == 401
