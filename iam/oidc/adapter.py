"""allauth's OpenID Connect provider, customised: issuer, claims, and who may get tokens.

Claims beyond allauth's identity ones (``sub``, ``email``, ``email_verified``, ``name``…), with
the ``account`` scope: ``account_id`` and ``account_name`` (the account the user acts for in this
application) and ``roles`` (their effective application roles for *this* client, from
``iam.roles.effective_application_roles``). A user whose chosen membership is not usable now
gets no tokens and no userinfo.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any, Literal

from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from oauthlib.oauth2.rfc6749 import errors

from iam.oidc.access import current_sign_in
from iam.oidc.services import CLIENT_SCOPES

ACCOUNT_SCOPE = "account"
OFFLINE_ACCESS_SCOPE = "offline_access"
ACCOUNT_CLAIMS = ["account_id", "account_name", "roles"]


class OIDCAdapter(DefaultOIDCAdapter):
    scope_display = {
        **DefaultOIDCAdapter.scope_display,
        ACCOUNT_SCOPE: _("Act for your organisation, with your roles in this application"),
    }

    def generate_client_secret(self) -> str:
        # URL-safe, so it goes into an env file or an HTTP Basic header without quoting trouble.
        return secrets.token_urlsafe(48)

    def get_issuer(self) -> str:
        # A fixed issuer when configured: behind a proxy the Host header is not the public name.
        return settings.IDP_OIDC_ISSUER or super().get_issuer()

    def get_user_by_sub(self, client, sub: str):
        """The code exchange: the code's user only while their chosen membership may sign in.

        allauth treats None as an invalid code, so a member suspended between the authorization
        and the exchange gets no tokens.
        """
        user = super().get_user_by_sub(client, sub)
        if user is None or client is None:
            return user
        if current_sign_in(user=user, client=client) is None:
            return None
        return user

    def get_claims(
        self,
        purpose: Literal["id_token", "userinfo"],
        user,
        client,
        scopes: Iterable[str],
        email: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        scopes = list(scopes)
        sign_in = current_sign_in(user=user, client=client)
        if sign_in is None:
            # Minting an ID token (code exchange, refresh) fails as a grant; userinfo as a token.
            if purpose == "userinfo":
                raise errors.InvalidTokenError(description="This sign-in has no usable access any more.")
            raise errors.InvalidGrantError(description="This user may not sign in to this application now.")
        claims = super().get_claims(purpose, user, client, scopes, email=email, **kwargs)
        if ACCOUNT_SCOPE in scopes:
            account = sign_in.membership.account
            claims.update({"account_id": str(account.pk), "account_name": account.name, "roles": sign_in.roles})
        return claims

    def is_introspection_allowed(self, token, *, caller_client) -> bool:
        # A token whose membership can no longer be used is reported inactive, like a revoked one.
        return token.user is not None and current_sign_in(user=token.user, client=token.client) is not None

    def populate_introspection_response(self, *, response: dict[str, Any], token) -> None:
        sign_in = current_sign_in(user=token.user, client=token.client) if token.user else None
        if sign_in is not None and ACCOUNT_SCOPE in token.get_scopes():
            account = sign_in.membership.account
            response.update({"account_id": str(account.pk), "account_name": account.name, "roles": sign_in.roles})

    def populate_server_metadata(self, data: dict[str, Any]) -> None:
        # offline_access is accepted (a refresh token comes with every code exchange); other
        # values outside these are ignored, not refused (iam.oidc.authorization.ignore_unknown_scopes).
        data["scopes_supported"] = [*CLIENT_SCOPES, OFFLINE_ACCESS_SCOPE]
        data["claims_supported"] = [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "email",
            "email_verified",
            "name",
            "given_name",
            "family_name",
            *ACCOUNT_CLAIMS,
        ]
        # What the applications are registered for, not everything allauth could do.
        data["grant_types_supported"] = ["authorization_code", "refresh_token"]
        data["response_types_supported"] = ["code"]
        data.pop("device_authorization_endpoint", None)
        data["prompt_values_supported"] = ["none", "login", "select_account"]
        data["account_hint_parameter_supported"] = True
