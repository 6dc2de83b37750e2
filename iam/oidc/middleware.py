"""Puts the account step around allauth's authorization endpoint, and lets its logout page leave."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from allauth.idp.oidc.models import Client
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from iam.oidc.authorization import account_step, code_issued, ignore_unknown_scopes
from iam.oidc.services import application_account_choose


class AccountChoiceMiddleware:
    """For a signed-in user's GET of the authorization endpoint: which account they sign in for.

    Runs after ``PortalAccessMiddleware``, which already turned away users with no usable access.
    The choice is recorded only when allauth issues the code. Applications skip the consent
    page (``iam.oidc.services``), so that happens in this same GET; a code issued any other way
    carries no choice, and the exchange refuses it (``OIDCAdapter.get_user_by_sub``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._paths: tuple[str, str, str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._paths is None:
            self._paths = (
                reverse("idp:oidc:authorization"),
                reverse("idp:oidc:token"),
                reverse("idp:oidc:logout"),
            )
        authorize, token, logout = self._paths
        if request.method == "POST" and request.path == token and request.POST.get("grant_type") == "refresh_token":
            ignore_unknown_scopes(request)
        step = None
        if request.method == "GET" and request.path == authorize:
            ignore_unknown_scopes(request)
            if request.user.is_authenticated:
                step = account_step(request)
                if step.response is not None:
                    return step.response
        response = self.get_response(request)
        if (
            step is not None
            and step.membership is not None
            and code_issued(response, redirect_uri=request.GET["redirect_uri"])
        ):
            application_account_choose(actor=request.user, application=step.application, membership=step.membership)
        if request.path == logout and response.status_code == 200:
            _allow_logout_form_to_leave(request, response)
        return response


def _allow_logout_form_to_leave(request: HttpRequest, response: HttpResponse) -> None:
    """The "Sign out?" form posts here and is redirected to the application: CSP's form-action
    covers that redirect, so the registered post-logout URI's origin is allowed on this page only."""
    uri = request.GET.get("post_logout_redirect_uri") or request.POST.get("post_logout_redirect_uri") or ""
    if not uri:
        return
    registered = any(
        uri in client.get_post_logout_redirect_uris() for client in Client.objects.filter(application__isnull=False)
    )
    if registered:
        parts = urlsplit(uri)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
        response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]  # read by django-csp's middleware
