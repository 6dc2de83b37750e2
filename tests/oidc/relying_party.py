"""A real relying party and a user agent, for driving the provider over HTTP.

The relying party is what one of the company's online services would run: authlib's OAuth 2
client for the code flow with PKCE, and joserfc (authlib's JOSE library) to verify ID tokens
against the provider's published JWKS. The user agent is a plain HTTP client with cookies
that signs in through the real login form and follows the provider's redirects.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

SCOPES = "openid profile email account"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's password


class RelyingParty:
    def __init__(self, *, base_url: str, client_id: str, client_secret: str | None, redirect_uri: str) -> None:
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.metadata = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=10).json()
        self.session = OAuth2Session(
            client_id,
            client_secret,
            scope=SCOPES,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
        )
        self.code_verifier = ""
        self.nonce = ""
        self.state = ""

    def authorization_url(self, **params: str) -> str:
        self.code_verifier = generate_token(64)
        self.nonce = generate_token(24)
        url, self.state = self.session.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=self.code_verifier, nonce=self.nonce, **params
        )
        return url

    def fetch_token(self, callback_url: str) -> dict:
        """Exchange the code in ``callback_url``; authlib checks ``state`` and sends the PKCE verifier."""
        return dict(
            self.session.fetch_token(
                self.metadata["token_endpoint"],
                authorization_response=callback_url,
                code_verifier=self.code_verifier,
                state=self.state,
            )
        )

    def refresh(self) -> dict:
        return dict(self.session.refresh_token(self.metadata["token_endpoint"]))

    def userinfo(self) -> requests.Response:
        return self.session.get(self.metadata["userinfo_endpoint"], timeout=10)

    def introspect(self, token: str) -> dict:
        """What the application's own API would ask about an access token it was handed."""
        response = self.session.post(
            self.metadata["introspection_endpoint"],
            data={"token": token, "token_type_hint": "access_token"},
            auth=(self.client_id, self.session.client_secret),
            withhold_token=True,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def verify_id_token(self, token: dict, *, expect_nonce: bool = True) -> dict:
        """The ID token's claims, after checking its signature against the JWKS and its claims."""
        jwks = requests.get(self.metadata["jwks_uri"], timeout=10).json()
        decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.metadata["issuer"]},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        if expect_nonce:
            assert decoded.claims.get("nonce") == self.nonce
        registry.validate(decoded.claims)
        if "at_hash" in decoded.claims:
            digest = hashlib.sha256(token["access_token"].encode()).digest()
            expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
            assert decoded.claims["at_hash"] == expected
        return decoded.claims


@dataclass
class UserAgent:
    """A browser without JavaScript: cookies, forms, redirects; stops at the relying party's callback."""

    base_url: str
    http: requests.Session = field(default_factory=requests.Session)

    def _absolute(self, location: str) -> str:
        return location if "://" in location else f"{self.base_url}{location}"

    def open(self, url: str, *, stop_at: str) -> requests.Response | str:
        """Follow redirects on the provider; the callback URL when one is reached, else the last page."""
        while True:
            response = self.http.get(url, allow_redirects=False, timeout=10)
            if response.status_code not in (301, 302, 303):
                return response
            url = self._absolute(response.headers["Location"])
            if url.startswith(stop_at):
                return url

    def sign_in(self, login_page: requests.Response, *, email: str, password: str = PASSWORD, stop_at: str):
        """Submit the login form of ``login_page`` (which carries ``next``), then follow on."""
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        next_url = parse_qs(urlsplit(login_page.url).query).get("next", [""])[0]
        response = self.http.post(
            login_page.url,
            data={"csrfmiddlewaretoken": csrf, "login": email, "password": password, "next": next_url},
            headers={"Referer": login_page.url},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:2000]
        return self.open(self._absolute(response.headers["Location"]), stop_at=stop_at)


def callback_params(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
