"""What an authorization request may change: nothing until the code is issued; and which scopes it may name."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.idp.oidc.models import Token
from django.urls import reverse

from iam.models import ApplicationAccountChoice, AuditEvent
from tests.factories import ContractFactory, MembershipFactory
from tests.oidc.factories import operations_user, register_application

pytestmark = pytest.mark.django_db

REDIRECT = "https://orders.example/callback"
VERIFIER = "a-pkce-code-verifier-long-enough-to-satisfy-rfc-7636-rules-0123456789"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def orders(db):
    return register_application(
        actor=operations_user(), key="orders", redirect_uri=REDIRECT, roles={"orders:read": ["buyer"]}
    )


@pytest.fixture
def consultant(db):
    """Buyer at Acme and technical contact at Globex: one login, two accounts."""
    acme = MembershipFactory(
        account=ContractFactory(account__name="Acme Industries").account,
        roles=["buyer"],
        user__email="consultant@acme.example",
    )
    globex = ContractFactory(account__name="Globex Corporation").account
    MembershipFactory(user=acme.user, account=globex, roles=["technical_contact"])
    return acme.user, acme.account, globex


def _authorize(client, app, **params):
    query = {
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid account",
        "state": "state-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **params,
    }
    return client.get(reverse("idp:oidc:authorization"), {k: v for k, v in query.items() if v is not None})


def _callback(response) -> dict[str, str]:
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(REDIRECT)
    return {key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()}


def _exchange(client, app, code: str) -> dict:
    response = client.post(
        reverse("idp:oidc:token"),
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER},
        headers={
            "authorization": "Basic " + base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
        },
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def signed_in_for_acme(client, orders, consultant):
    """The consultant signed in to Orders for Acme and holds its tokens."""
    user, acme, globex = consultant
    client.force_login(user)
    _exchange(client, orders, _callback(_authorize(client, orders, account_hint=str(acme.pk)))["code"])
    assert Token.objects.filter(user=user, client_id=orders.client_id).count() == 2
    return user, acme, globex


@pytest.mark.parametrize(
    "crafted",
    [
        pytest.param({"response_type": "token"}, id="unsupported-response-type"),
        pytest.param({"scope": None, "response_type": None}, id="no-response-type"),
        pytest.param({"redirect_uri": "https://attacker.example/callback"}, id="foreign-redirect-uri"),
        pytest.param({"client_id": "no-such-client"}, id="unknown-client"),
        pytest.param({"code_challenge_method": "S512"}, id="unknown-pkce-method"),
    ],
)
def test_a_crafted_link_naming_another_account_switches_nothing_and_ends_no_tokens(
    client, orders, signed_in_for_acme, crafted
):
    user, acme, globex = signed_in_for_acme
    chosen_before = AuditEvent.objects.filter(action="iam.application.account_chosen").count()

    response = _authorize(client, orders, account_hint=str(globex.pk), **crafted)

    # An error page, or the error sent back to the registered redirect URI: never a code.
    location = response.get("Location", "")
    assert "code=" not in location
    assert not location.startswith("https://attacker.example")
    assert ApplicationAccountChoice.objects.get(user=user, application=orders.application).account == acme
    assert Token.objects.filter(user=user, client_id=orders.client_id).count() == 2
    assert AuditEvent.objects.filter(action="iam.application.account_chosen").count() == chosen_before


def test_the_account_named_by_a_valid_request_is_recorded_when_the_code_is_issued(client, orders, signed_in_for_acme):
    user, acme, globex = signed_in_for_acme

    params = _callback(_authorize(client, orders, account_hint=str(globex.pk)))

    assert params["state"] == "state-1"
    assert ApplicationAccountChoice.objects.get(user=user, application=orders.application).account == globex
    # The tokens held for Acme ended with the switch; the new code brings Globex's.
    assert not Token.objects.filter(user=user, client_id=orders.client_id).exists()
    event = AuditEvent.objects.filter(action="iam.application.account_chosen").latest("id")
    assert (event.account_id, event.data["previous_account"]) == (globex.pk, acme.pk)
    token = _exchange(client, orders, params["code"])
    assert token["refresh_token"]


def test_the_chooser_page_records_no_choice(client, orders, consultant):
    user, _acme, _globex = consultant
    client.force_login(user)

    response = _authorize(client, orders)

    assert response.status_code == 200
    assert "Which one do you act for in Orders?" in response.content.decode()
    assert not ApplicationAccountChoice.objects.filter(user=user).exists()
    assert not AuditEvent.objects.filter(action="iam.application.account_chosen").exists()


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("openid offline_access", "openid"),
        ("openid foo account", "openid account"),
        ("openid account openid", "openid account"),
    ],
)
def test_scope_values_the_client_is_not_registered_for_are_ignored_not_refused(
    client, orders, consultant, requested, granted
):
    user, acme, _globex = consultant
    client.force_login(user)

    params = _callback(_authorize(client, orders, scope=requested, account_hint=str(acme.pk)))

    assert "error" not in params, params
    token = _exchange(client, orders, params["code"])
    assert token["scope"] == granted
    assert token["refresh_token"]
    assert token["id_token"]


def test_a_request_naming_only_unknown_scopes_gets_the_clients_default_scopes(client, orders, consultant):
    user, acme, _globex = consultant
    client.force_login(user)

    params = _callback(_authorize(client, orders, scope="foo bar", account_hint=str(acme.pk)))

    token = _exchange(client, orders, params["code"])
    assert set(token["scope"].split()) == {"openid", "profile", "email", "account"}
