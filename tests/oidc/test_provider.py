"""The provider's published metadata and keys, and where its signing key comes from."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from django.urls import reverse

from iam.oidc.keys import development_private_key, generate_private_key_pem
from tests.config.test_health import BASE_DIR, GOOD_SECRET_KEY


@pytest.mark.django_db
def test_discovery_names_every_endpoint_and_what_the_applications_may_ask_for(client):
    response = client.get("/.well-known/openid-configuration")

    assert response.status_code == 200
    data = response.json()
    assert data["issuer"] == "http://testserver"
    for name, path in [
        ("authorization_endpoint", "/identity/o/authorize"),
        ("token_endpoint", "/identity/o/api/token"),
        ("userinfo_endpoint", "/identity/o/api/userinfo"),
        ("jwks_uri", "/.well-known/jwks.json"),
        ("end_session_endpoint", "/identity/o/logout"),
        ("revocation_endpoint", "/identity/o/api/revoke"),
    ]:
        assert data[name] == f"http://testserver{path}"
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["scopes_supported"] == ["openid", "profile", "email", "account", "offline_access"]
    assert {"account_id", "account_name", "roles"} <= set(data["claims_supported"])
    assert data["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert data["response_types_supported"] == ["code"]
    assert "select_account" in data["prompt_values_supported"]
    assert data["introspection_endpoint"] == "http://testserver/identity/o/api/introspect"
    assert "device_authorization_endpoint" not in data


@pytest.mark.django_db
def test_a_configured_issuer_wins_over_the_host_the_request_came_in_on(client, settings):
    settings.IDP_OIDC_ISSUER = "https://id.example.com"

    assert client.get("/.well-known/openid-configuration").json()["issuer"] == "https://id.example.com"


@pytest.mark.django_db
def test_jwks_publishes_the_public_half_of_the_signing_key_only(client):
    keys = client.get(reverse("idp:oidc:jwks")).json()["keys"]

    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["kid"]
    assert {"n", "e"} <= set(keys[0])
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


def _production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_OIDC_", "DJANGO_SETTINGS_MODULE"))}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=GOOD_SECRET_KEY)
    clean.update(ALLOWED_HOSTS="example.com", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_a_signing_key():
    result = _production()

    assert result.returncode != 0
    assert "The environment variable IDP_OIDC_PRIVATE_KEY is required." in result.stderr


def test_production_refuses_a_signing_key_that_is_not_an_rsa_pem():
    result = _production(IDP_OIDC_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----")

    assert result.returncode != 0
    assert "IDP_OIDC_PRIVATE_KEY must be an RSA private key in PEM form" in result.stderr


def test_production_reads_the_signing_key_from_a_file_or_a_one_line_value(tmp_path):
    pem = generate_private_key_pem()
    key_file = tmp_path / "oidc.pem"
    key_file.write_text(pem)

    assert _production(IDP_OIDC_PRIVATE_KEY_FILE=str(key_file)).returncode == 0
    one_line = pem.strip().replace("\n", "\\n")
    result = _production(IDP_OIDC_PRIVATE_KEY=one_line)
    assert result.returncode == 0, result.stderr


def test_the_development_key_is_made_once_readable_only_by_its_owner_and_kept(tmp_path):
    path = tmp_path / "var" / "oidc-development-key.pem"

    first = development_private_key(path)
    second = development_private_key(path)

    assert first == second
    assert first.startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.django_db
def test_the_sign_out_question_may_send_the_user_on_to_the_applications_registered_uri(client):
    from tests.factories import MembershipFactory
    from tests.oidc.factories import operations_user, register_application

    app = register_application(
        actor=operations_user(),
        key="orders",
        redirect_uri="https://orders.example.com/cb",
        post_logout_redirect_uri="https://orders.example.com/bye",
        roles={},
    )
    client.force_login(MembershipFactory().user)
    url = reverse("idp:oidc:logout")

    asked = client.get(url, {"client_id": app.client_id, "post_logout_redirect_uri": "https://orders.example.com/bye"})
    unregistered = client.get(url, {"client_id": app.client_id, "post_logout_redirect_uri": "https://evil.example/"})

    assert asked.status_code == 200
    assert "Are you sure you want to sign out?" in asked.content.decode()
    assert "form-action 'self' https://orders.example.com" in asked["Content-Security-Policy"]
    assert "evil.example" not in unregistered.get("Content-Security-Policy", "")


@pytest.mark.django_db
def test_a_user_left_without_access_can_still_be_signed_out_by_the_application(client):
    """The no-access redirect must not swallow RP-initiated logout."""
    from iam.models import Membership
    from tests.factories import MembershipFactory
    from tests.oidc.factories import operations_user, register_application

    app = register_application(
        actor=operations_user(),
        key="orders",
        redirect_uri="https://orders.example.com/cb",
        post_logout_redirect_uri="https://orders.example.com/bye",
        roles={},
    )
    membership = MembershipFactory()
    client.force_login(membership.user)
    Membership.objects.filter(pk=membership.pk).update(status="suspended", suspended_by="admin")

    response = client.get(
        reverse("idp:oidc:logout"),
        {"client_id": app.client_id, "post_logout_redirect_uri": "https://orders.example.com/bye", "state": "s"},
    )
    if response.status_code == 200:  # the question; answer it
        response = client.post(
            reverse("idp:oidc:logout"),
            {
                "client_id": app.client_id,
                "post_logout_redirect_uri": "https://orders.example.com/bye",
                "state": "s",
                "action": "logout",
                "csrfmiddlewaretoken": response.context["csrf_token"],
            },
        )

    assert response.status_code == 302
    assert response["Location"] == "https://orders.example.com/bye?state=s"
    assert "_auth_user_id" not in client.session
