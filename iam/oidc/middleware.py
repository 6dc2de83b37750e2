"""Puts the account step in front of allauth's authorization endpoint, and lets its logout page leave."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.http import AuthenticatedHttpRequest


class AccountChoiceMiddleware:
    """For a signed-in user's GET of the authorization endpoint: which account they sign in for.

    Runs after ``PortalAccessMiddleware``, which already turned away users with no usable access.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._paths: tuple[str, str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._paths is None:
            self._paths = (reverse("idp:oidc:authorization"), reverse("idp:oidc:logout"))
        authorize, logout = self._paths
        if request.method == "GET" and request.path == authorize and request.user.is_authenticated:
            from iam.oidc.authorization import account_step

            response = account_step(cast(AuthenticatedHttpRequest, request))  # signed in: checked above
            if response is not None:
                return response
        response = self.get_response(request)
        if request.path == logout and response.status_code == 200:
            _allow_logout_form_to_leave(request, response)
        return response


def _allow_logout_form_to_leave(request: HttpRequest, response: HttpResponse) -> None:
    """The "Sign out?" form posts here and is redirected to the application: CSP's form-action
    covers that redirect, so the registered post-logout URI's origin is allowed on this page only."""
    from allauth.idp.oidc.models import Client

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
