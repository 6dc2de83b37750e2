"""``Authorization: Api-Key clt_<prefix>_<secret>``, and the staff browser session (with CSRF)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from api.keys import parse_key, secret_matches
from api.models import ApiKey
from api.services import api_key_mark_used
from iam.permissions import is_crm_user

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """The key authenticates as the staff user who created it; ``request.auth`` is the key.

    One query (the key with its creator); a second, cheap and at most once a minute, records
    its use. Every refusal says the same thing, so nobody learns which keys exist.
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _, raw = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        parts = parse_key(raw)
        if parts is None:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        api_key = ApiKey.objects.select_related("created_by").filter(prefix=parts.prefix).first()
        if api_key is None or not secret_matches(parts.secret, api_key.secret_hash):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not is_crm_user(api_key.created_by):
            raise exceptions.AuthenticationFailed("The staff user this API key acts for is no longer active.")
        if api_key.restricted_to_accounts:
            api_key.account_ids = frozenset(api_key.accounts.values_list("pk", flat=True))
        else:
            api_key.account_ids = None
        api_key_mark_used(api_key, now=now)
        return api_key.created_by, api_key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return f'{KEYWORD} realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """The browser session (the interactive docs), with Django's CSRF check on unsafe methods."""
