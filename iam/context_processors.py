from __future__ import annotations

from django.http import HttpRequest

from iam.permissions import RoleChecks


def role_checks(request: HttpRequest) -> dict[str, RoleChecks]:
    """``can``: the role checks of ``iam.permissions`` for the signed-in user, for templates."""
    return {"can": RoleChecks(getattr(request, "user", None))}
