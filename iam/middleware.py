"""Request-time identity checks: where a change came from, and whether access still holds."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from core.context import Channel, RequestOrigin, reset_channel, reset_origin, set_channel, set_origin
from core.http import MembershipHttpRequest

SESSION_ACCOUNT_KEY = "iam_account_id"


def client_ip(request: HttpRequest) -> str | None:
    if settings.IAM_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def request_channel(request: HttpRequest) -> str:
    """Through what a request changes things: the admin, the API, the portal or the staff CRM."""
    path = request.path_info
    if path.startswith("/admin/"):
        return Channel.ADMIN
    if path.startswith("/api/"):
        return Channel.API
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and not user.is_staff:
        return Channel.PORTAL
    return Channel.UI


class AuditContextMiddleware:
    """Lets audit and history know the IP, user agent and channel of the request being served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = set_origin(RequestOrigin(client_ip(request), request.META.get("HTTP_USER_AGENT", "")))
        channel_token = set_channel(request_channel(request))
        try:
            return self.get_response(request)
        finally:
            reset_channel(channel_token)
            reset_origin(token)


# Paths a signed-in external user without usable access may still reach.
# An invitation link must open for someone whose other access is paused (it may be the way back in);
# a registrant waiting for a decision continues their registration; an application may sign them out.
_OPEN_PREFIXES = (
    "/static/",
    "/healthz",
    "/readyz",
    "/auth/logout/",
    "/identity/o/logout",
    "/portal/no-access/",
    "/invitations/accept/",
    "/register/",
)
# Paths where a user who must set up MFA does so.
_MFA_SETUP_PREFIXES = ("/auth/",)


class PortalAccessMiddleware:
    """On every request of an external user: which membership is in use, and may it be used now.

    Access is evaluated here, not only at sign-in, so a contract's end or a suspension takes
    effect on the very next request. Sets ``request.membership`` (or None).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: MembershipHttpRequest) -> HttpResponse:
        request.membership = None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        path = request.path
        if user.is_staff:
            needs_mfa = settings.IAM_REQUIRE_MFA_FOR_STAFF and not path.startswith(_MFA_SETUP_PREFIXES + _OPEN_PREFIXES)
            if needs_mfa and not _has_mfa(user):
                return _to_mfa_setup(request)
            return self.get_response(request)
        if path.startswith(_OPEN_PREFIXES):
            return self.get_response(request)

        from iam.selectors import current_membership

        membership = current_membership(user=user, wanted_account_id=request.session.get(SESSION_ACCOUNT_KEY))
        if membership is None:
            return redirect(reverse("portal:no_access"))
        request.membership = membership
        if membership.account.require_mfa and not path.startswith(_MFA_SETUP_PREFIXES) and not _has_mfa(user):
            return _to_mfa_setup(request)
        return self.get_response(request)


def _has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def _to_mfa_setup(request: HttpRequest) -> HttpResponse:
    from django.contrib import messages

    messages.warning(request, "Your organisation requires a second factor. Set one up to continue.")
    return redirect(reverse("mfa_index"))
