"""Who may use the API, and with which key scope. Small pure functions, wrapped by DRF classes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions

from api.scopes import READ, WRITE
from iam.permissions import is_crm_user, is_operations

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from iam.permissions import MaybeUser


def can_manage_api_keys(user: MaybeUser) -> bool:
    """Operations create and revoke keys: a key can read and write records across accounts."""
    return is_operations(user)


def scope_for(resource: str, method: str | None) -> str:
    return f"{resource}:{READ if method in permissions.SAFE_METHODS else WRITE}"


class ApiAccess(permissions.BasePermission):
    """An API key with the resource's scope, or a signed-in staff user. Nobody else.

    External (portal) users are refused outright: the API exposes no portal data.
    """

    message = "The API is for staff and API keys."

    def has_permission(self, request: Request, view: APIView) -> bool:
        from api.models import ApiKey

        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is not None:
            resource = getattr(view, "resource", None)
            if resource is None or getattr(view, "action", None) is None:
                return True  # no such operation here: the view answers 405 (or 404)
            scope = scope_for(resource, request.method)
            if not key.has_scope(scope):
                self.message = f"This API key lacks the scope {scope}."
                return False
            return True
        return is_crm_user(request.user)
