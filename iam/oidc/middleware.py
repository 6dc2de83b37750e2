"""Puts the account step in front of allauth's authorization endpoint."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class AccountChoiceMiddleware:
    """For a signed-in user's GET of the authorization endpoint: which account they sign in for.

    Runs after ``PortalAccessMiddleware``, which already turned away users with no usable access.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._authorize_path: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.user.is_authenticated:
            if self._authorize_path is None:
                self._authorize_path = reverse("idp:oidc:authorization")
            if request.path == self._authorize_path:
                from iam.oidc.authorization import account_step

                response = account_step(request)
                if response is not None:
                    return response
        return self.get_response(request)
