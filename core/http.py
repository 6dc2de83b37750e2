"""Small request helpers every app's views share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

if TYPE_CHECKING:
    from iam.models import Membership, User


class MembershipHttpRequest(HttpRequest):
    """Every request once iam's ``PortalAccessMiddleware`` has run: the membership in use, if any."""

    membership: Membership | None


class AuthenticatedHttpRequest(MembershipHttpRequest):
    """The request a view behind ``staff_required`` or ``login_required`` gets: a signed-in user.

    A type only (requests are never built from it): ``request.user`` is our ``User``, not
    ``User | AnonymousUser``, because the decorator has turned the anonymous away.
    """

    user: User


class PortalHttpRequest(AuthenticatedHttpRequest):
    """Behind ``portal_user_required``: an external user and the usable membership in use."""

    membership: Membership


def safe_next(request: HttpRequest, fallback: str) -> str:
    """A same-site ``next`` from the form or query string, else ``fallback``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
