"""Applications as OpenID Connect clients, the account a user acts for in one, and token revocation.

Every write checks the actor, runs in a transaction and audits inside it. allauth's ``Client``
row is kept in step with its ``Application`` here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from allauth.idp.oidc.adapter import get_adapter
from allauth.idp.oidc.models import Client, Token
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from iam.audit import audit_record
from iam.models import Application, ApplicationAccountChoice, ApplicationRole, Membership
from iam.permissions import can_manage_applications

if TYPE_CHECKING:
    from iam.models import User

# What every application may ask for; "account" adds the account and the application roles.
CLIENT_SCOPES = ["openid", "profile", "email", "account"]
DEFAULT_SCOPES = ["openid", "profile", "email", "account"]
GRANT_TYPES = [Client.GrantType.AUTHORIZATION_CODE, Client.GrantType.REFRESH_TOKEN]
_SESSION_TOKENS = [Token.Type.ACCESS_TOKEN, Token.Type.REFRESH_TOKEN]
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@dataclass(frozen=True)
class ApplicationOutcome:
    application: Application
    # The plain client secret, when this change made one: shown once, stored only hashed.
    client_secret: str | None = None


def _require_manager(actor: User) -> None:
    if not can_manage_applications(actor):
        raise PermissionDenied("Only operations may register applications and change their sign-in settings.")


def clean_redirect_uris(uris: Iterable[str], *, field: str) -> list[str]:
    """Absolute URIs without fragments or wildcards; plain http only on this machine (loopback).

    Native apps may use a private-use scheme (``com.example.app:/callback``, RFC 8252).
    """
    cleaned: list[str] = []
    for raw in uris:
        uri = raw.strip()
        if not uri or uri in cleaned:
            continue
        parts = urlsplit(uri)
        problem = ""
        if "*" in uri:
            problem = "wildcards are not allowed"
        elif parts.fragment or uri.endswith("#"):
            problem = "a redirect URI may not have a #fragment"
        elif parts.scheme == "https":
            problem = "" if parts.hostname else "it has no host"
        elif parts.scheme == "http":
            problem = (
                "" if parts.hostname in _LOOPBACK_HOSTS else "use https (plain http only for 127.0.0.1 and localhost)"
            )
        elif parts.scheme and "." in parts.scheme and not parts.netloc:
            problem = ""
        else:
            problem = "it must start with https:// (or be an app's own scheme such as com.example.app:/callback)"
        if problem:
            raise ValidationError({field: f"{uri}: {problem}."})
        cleaned.append(uri)
    return cleaned


def _client_snapshot(application: Application) -> dict[str, Any]:
    client = application.oidc_client
    return {
        "key": application.key,
        "name": application.name,
        "description": application.description,
        "url": application.url,
        "is_active": application.is_active,
        "client_id": client.pk if client else "",
        "client_type": client.type if client else "",
        "redirect_uris": client.get_redirect_uris() if client else [],
        "post_logout_redirect_uris": client.get_post_logout_redirect_uris() if client else [],
    }


def _new_client(application: Application, *, client_type: str) -> tuple[Client, str | None]:
    client = Client(name=application.name[:100], type=client_type)
    client.set_scopes(CLIENT_SCOPES)
    client.set_default_scopes(DEFAULT_SCOPES)
    client.set_grant_types(GRANT_TYPES)
    client.set_response_types([Client.ResponseType.CODE])
    # First-party services: the user chose to sign in; the account step is the only question.
    client.skip_consent = True
    secret = None
    if client_type == Client.Type.CONFIDENTIAL:
        secret = get_adapter().generate_client_secret()
        client.set_secret(secret)
    else:
        client.set_secret(get_adapter().generate_client_secret())  # never used: public clients have none
    return client, secret


def _apply_client_fields(client: Client, *, name: str, redirect_uris: list[str], post_logout: list[str]) -> None:
    client.name = name[:100]
    client.set_redirect_uris(redirect_uris)
    client.set_post_logout_redirect_uris(post_logout)


def application_create(
    *,
    actor: User,
    key: str,
    name: str,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    description: str = "",
    url: str = "",
    client_type: str = Client.Type.CONFIDENTIAL,
    is_active: bool = True,
) -> ApplicationOutcome:
    """Register an online service as an OpenID Connect client; the secret is in the outcome, once."""
    _require_manager(actor)
    if client_type not in Client.Type.values:
        raise ValidationError({"client_type": "Choose confidential or public."})
    redirects = clean_redirect_uris(redirect_uris, field="redirect_uris")
    if not redirects:
        raise ValidationError({"redirect_uris": "Give at least one redirect URI."})
    post_logout = clean_redirect_uris(post_logout_redirect_uris, field="post_logout_redirect_uris")
    with transaction.atomic():
        if Application.objects.filter(key=key).exists():
            raise ValidationError({"key": "An application with this key exists already."})
        application = Application(key=key, name=name, description=description, url=url, is_active=is_active)
        application.full_clean(exclude=["oidc_client"])
        client, secret = _new_client(application, client_type=client_type)
        _apply_client_fields(client, name=name, redirect_uris=redirects, post_logout=post_logout)
        client.save()
        application.oidc_client = client
        application.save()
        audit_record(
            actor=actor, action="iam.application.created", target=application, data=_client_snapshot(application)
        )
    return ApplicationOutcome(application=application, client_secret=secret)


def application_update(
    *,
    actor: User,
    application: Application,
    name: str,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    description: str = "",
    url: str = "",
    is_active: bool = True,
) -> ApplicationOutcome:
    """Change an application's details and sign-in URIs. One without a client gets one (and its secret)."""
    _require_manager(actor)
    redirects = clean_redirect_uris(redirect_uris, field="redirect_uris")
    if not redirects:
        raise ValidationError({"redirect_uris": "Give at least one redirect URI."})
    post_logout = clean_redirect_uris(post_logout_redirect_uris, field="post_logout_redirect_uris")
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",)).select_related("oidc_client").get(pk=application.pk)
        )
        before = _client_snapshot(application)
        application.name, application.description, application.url = name, description, url
        application.is_active = is_active
        application.full_clean(exclude=["oidc_client", "key"])
        secret = None
        client = application.oidc_client
        if client is None:
            client, secret = _new_client(application, client_type=Client.Type.CONFIDENTIAL)
        _apply_client_fields(client, name=name, redirect_uris=redirects, post_logout=post_logout)
        application.oidc_client = client
        after = _client_snapshot(application)
        changed = sorted(field for field in after if after[field] != before[field])
        if not changed:
            return ApplicationOutcome(application=application)
        client.save()
        application.save()
        audit_record(
            actor=actor,
            action="iam.application.updated",
            target=application,
            data={
                "changed": changed,
                "before": {k: before[k] for k in changed},
                "after": {k: after[k] for k in changed},
            },
        )
        if not application.is_active:
            _revoke_client_tokens(client)
    return ApplicationOutcome(application=application, client_secret=secret)


def application_rotate_secret(*, actor: User, application: Application) -> ApplicationOutcome:
    """A new client secret replaces the old one at once; the outcome holds it, the only time it is shown.

    Users' tokens stay valid: the secret authenticates the service, not its users.
    """
    _require_manager(actor)
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",)).select_related("oidc_client").get(pk=application.pk)
        )
        client = application.oidc_client
        if client is None:
            raise ValidationError("Register the application's redirect URIs first; that creates its credentials.")
        if client.type != Client.Type.CONFIDENTIAL:
            raise ValidationError("A public client (browser or mobile app) has no secret to rotate.")
        secret = get_adapter().generate_client_secret()
        client.set_secret(secret)
        client.save(update_fields=["secret"])
        audit_record(
            actor=actor,
            action="iam.application.secret_rotated",
            target=application,
            data={"client_id": client.pk, "rotated_at": timezone.now().isoformat()},
        )
    return ApplicationOutcome(application=application, client_secret=secret)


def application_roles_set(*, actor: User, application: Application, roles: dict[str, str]) -> Application:
    """Make ``roles`` (key → name) the roles ``application`` understands.

    A key is a role's identity, as tokens carry it: a key not in ``roles`` is taken away, with
    the business roles that mapped to it, and a new key is a new role.
    """
    _require_manager(actor)
    wanted = {key.strip(): (name or "").strip() for key, name in roles.items() if key.strip()}
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        current = {role.key: role for role in application.roles.all()}
        removed = sorted(set(current) - set(wanted))
        added = sorted(set(wanted) - set(current))
        kept = set(wanted) & set(current)
        renamed = {key: [current[key].name, wanted[key]] for key in sorted(kept) if current[key].name != wanted[key]}
        if not (removed or added or renamed):
            return application
        for role in [ApplicationRole(application=application, key=key, name=wanted[key]) for key in added]:
            role.full_clean(exclude=["application"])
            role.save()
        ApplicationRole.objects.filter(application=application, key__in=removed).delete()
        for key, (_, name) in renamed.items():
            ApplicationRole.objects.filter(pk=current[key].pk).update(name=name)
        # What a business role means in this application changed: the tokens it issues say so.
        audit_record(
            actor=actor,
            action="iam.application.roles_changed",
            target=application,
            data={"added": added, "removed": removed, "renamed": renamed},
        )
    return application


# --- The account a user acts for ----------------------------------------------------------------


def application_account_choose(*, actor: User, application: Application, membership: Membership) -> None:
    """Record that ``actor`` signs in to ``application`` for ``membership``'s account.

    Switching to another account ends the tokens the application holds for the previous one.
    """
    if membership.user_id != actor.pk:
        raise PermissionDenied("You can only choose among your own organisations.")
    with transaction.atomic():
        choice, created = ApplicationAccountChoice.objects.select_for_update().get_or_create(
            user=actor, application=application, defaults={"account_id": membership.account_id}
        )
        previous = None if created else choice.account_id
        if previous == membership.account_id:
            return
        if previous is not None:
            if application.oidc_client_id:
                Token.objects.filter(
                    user=actor, client_id=application.oidc_client_id, type__in=_SESSION_TOKENS
                ).delete()
            choice.account_id = membership.account_id
            choice.chosen_at = timezone.now()
            choice.save(update_fields=["account", "chosen_at"])
        audit_record(
            actor=actor,
            action="iam.application.account_chosen",
            account=membership.account,
            target=application,
            data={"user": actor.email, "previous_account": previous},
        )


# --- Revocation -----------------------------------------------------------------------------------


def _revoke_client_tokens(client: Client) -> int:
    revoked: int = Token.objects.filter(client=client, type__in=_SESSION_TOKENS).delete()[0]
    return revoked


def tokens_revoke_for_user(user: User) -> int:
    """Delete every access and refresh token of ``user``, in the caller's transaction."""
    return Token.objects.filter(user=user, type__in=_SESSION_TOKENS).delete()[0]


def tokens_revoke_for_memberships(memberships: Iterable[Membership]) -> int:
    """Delete the access and refresh tokens issued for these memberships' accounts, in the caller's transaction.

    Access tokens are opaque and looked up on every use, so this ends them at once.
    """
    pairs = {(m.user_id, m.account_id) for m in memberships}
    if not pairs:
        return 0
    choices = ApplicationAccountChoice.objects.filter(
        user_id__in={user for user, _ in pairs},
        account_id__in={account for _, account in pairs},
        application__oidc_client__isnull=False,
    ).values_list("user_id", "account_id", "application__oidc_client_id")
    targets = [(user, client) for user, account, client in choices if (user, account) in pairs]
    deleted = 0
    for start in range(0, len(targets), 500):
        chunk = targets[start : start + 500]
        match = reduce(or_, (Q(user_id=user, client_id=client) for user, client in chunk))
        deleted += Token.objects.filter(match, type__in=_SESSION_TOKENS).delete()[0]
    return deleted
